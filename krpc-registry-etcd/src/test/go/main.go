// Command gofleet plays the Go side of a mixed Go/Java fleet for KRPC's integration tests:
// it registers an address the way each Go registry does, reads a service the way each Go
// registry's reader does, and calls a service as a grpc-go client through etcd's resolver.
//
//	gofleet register -format F -etcd E -service S -host H -port P [-prefix X] [-weight W] [-meta k=v,..]
//	    writes the record, prints "READY", keeps it alive until stdin closes, then deregisters.
//	gofleet watch -format F -etcd E -service S -expect H:P[,H:P] [-prefix X] [-timeout 20s]
//	    watches as the Go reader does, prints "STATE a,b" on each change, exits 0 once the
//	    state is exactly the expected set, 1 on timeout.
//	gofleet call -etcd E -service S -n N
//	    grpc-go client on etcd:///S (etcd's resolver), N health checks, prints "CALLS ok=.. failed=..".
//
// Formats: KRPC_GO, ETCD_NAMING and GO_ZERO use the Go libraries' own code where the module proxy
// serves it (etcd's naming packages, go-zero's core/discov); Go KRPC (wsx864321/kim) and Kratos'
// contrib/registry/etcd are not served, so gofleet repeats exactly what their code does, with
// Kratos' real registry.ServiceInstance type.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	kratosregistry "github.com/go-kratos/kratos/v2/registry"
	"github.com/zeromicro/go-zero/core/discov"
	"github.com/zeromicro/go-zero/core/logx"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	etcdresolver "go.etcd.io/etcd/client/v3/naming/resolver"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type options struct {
	format, etcd, service, host, prefix, meta, expect string
	port, weight, n                                   int
	timeout                                           time.Duration
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: gofleet register|watch|call [flags]")
	}
	var o options
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	fs.StringVar(&o.format, "format", "", "KRPC_GO, ETCD_NAMING, GO_ZERO or KRATOS")
	fs.StringVar(&o.etcd, "etcd", "127.0.0.1:2379", "etcd endpoints, comma-separated")
	fs.StringVar(&o.service, "service", "", "service name")
	fs.StringVar(&o.host, "host", "127.0.0.1", "registered host")
	fs.IntVar(&o.port, "port", 0, "registered port")
	fs.IntVar(&o.weight, "weight", 100, "Go KRPC weight")
	fs.StringVar(&o.prefix, "prefix", "", "key prefix; default: the library's")
	fs.StringVar(&o.meta, "meta", "", "metadata k=v,k=v (etcd naming, Kratos)")
	fs.StringVar(&o.expect, "expect", "", "watch: the expected addresses, comma-separated")
	fs.IntVar(&o.n, "n", 10, "call: number of calls")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Second, "watch: how long to wait")
	_ = fs.Parse(os.Args[2:])
	logx.Disable() // go-zero logs to stdout, which carries this program's answers
	if o.prefix == "" {
		o.prefix = map[string]string{"KRPC_GO": "/kim/prpc/", "KRATOS": "/microservices/"}[o.format]
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: strings.Split(o.etcd, ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		fail("etcd: %v", err)
	}
	defer cli.Close()
	switch os.Args[1] {
	case "register":
		register(cli, o)
	case "watch":
		watch(cli, o)
	case "call":
		call(cli, o)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gofleet: "+format+"\n", args...)
	os.Exit(2)
}

func metadata(o options) map[string]string {
	md := map[string]string{}
	for _, kv := range strings.Split(o.meta, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			md[k] = v
		}
	}
	return md
}

// ---- registering

func register(cli *clientv3.Client, o options) {
	ctx := context.Background()
	addr := fmt.Sprintf("%s:%d", o.host, o.port)
	var stop func()
	switch o.format {
	case "KRPC_GO":
		stop = registerKrpcGo(ctx, cli, o)
	case "ETCD_NAMING":
		// etcd's own endpoint manager, with the endpoint on a lease kept alive
		lease, err := cli.Grant(ctx, 10)
		check(err)
		keepAlive(ctx, cli, lease.ID)
		target := o.prefix + o.service
		em, err := endpoints.NewManager(cli, target)
		check(err)
		ep := endpoints.Endpoint{Addr: addr}
		if md := metadata(o); len(md) > 0 {
			ep.Metadata = md
		}
		check(em.AddEndpoint(ctx, target+"/"+addr, ep, clientv3.WithLease(lease.ID)))
		stop = func() {
			_ = em.DeleteEndpoint(ctx, target+"/"+addr)
			_, _ = cli.Revoke(ctx, lease.ID)
		}
	case "GO_ZERO":
		// go-zero's publisher: key <Etcd.Key>/<lease id>, value host:port
		pub := discov.NewPublisher(strings.Split(o.etcd, ","), o.prefix+o.service, addr)
		check(pub.KeepAlive())
		stop = func() {
			pub.Stop()
			time.Sleep(300 * time.Millisecond) // Stop revokes asynchronously
		}
	case "KRATOS":
		stop = registerKratos(ctx, cli, o)
	default:
		fail("unknown format %q", o.format)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	fmt.Println("DEREGISTERED")
}

// endpoint has the fields and JSON tags of Go KRPC's registry.Endpoint (pkg/krpc/registry/service.go).
type endpoint struct {
	ServerName string `json:"server_name"`
	IP         string `json:"ip"`
	Port       int    `json:"port"`
	Weight     int    `json:"weight"`
	Enable     bool   `json:"enable"`
}

// registerKrpcGo does what Go KRPC's etcd Register does: a lease of keepAliveInterval (10) s,
// the key <KeyPrefix><name>/<ip>/<port>, json.Marshal of the endpoint, KeepAlive; UnRegister
// deletes the key.
func registerKrpcGo(ctx context.Context, cli *clientv3.Client, o options) func() {
	lease, err := cli.Grant(ctx, 10)
	check(err)
	key := fmt.Sprintf(o.prefix+"%v/%v/%v", o.service, o.host, o.port)
	raw, err := json.Marshal(&endpoint{o.service, o.host, o.port, o.weight, true})
	check(err)
	_, err = cli.Put(ctx, key, string(raw), clientv3.WithLease(lease.ID))
	check(err)
	keepAlive(ctx, cli, lease.ID)
	return func() {
		_, _ = cli.Delete(ctx, key)
		_, _ = cli.Revoke(ctx, lease.ID)
	}
}

// registerKratos does what Kratos' contrib/registry/etcd Register does: key
// <namespace>/<name>/<id>, json.Marshal of registry.ServiceInstance, a 15 s lease kept alive.
func registerKratos(ctx context.Context, cli *clientv3.Client, o options) func() {
	addr := fmt.Sprintf("%s:%d", o.host, o.port)
	si := &kratosregistry.ServiceInstance{
		ID: addr, Name: o.service, Version: "", Metadata: metadata(o),
		Endpoints: []string{"grpc://" + addr + "?isSecure=false"},
	}
	raw, err := json.Marshal(si)
	check(err)
	key := fmt.Sprintf("%s/%s/%s", strings.TrimSuffix(o.prefix, "/"), si.Name, si.ID)
	lease, err := cli.Grant(ctx, 15)
	check(err)
	_, err = cli.Put(ctx, key, string(raw), clientv3.WithLease(lease.ID))
	check(err)
	keepAlive(ctx, cli, lease.ID)
	return func() {
		_, _ = cli.Delete(ctx, key)
		_, _ = cli.Revoke(ctx, lease.ID)
	}
}

func keepAlive(ctx context.Context, cli *clientv3.Client, id clientv3.LeaseID) {
	ch, err := cli.KeepAlive(ctx, id)
	check(err)
	go func() {
		for range ch {
		}
	}()
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

// ---- reading

func watch(cli *clientv3.Client, o options) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	states := make(chan []string, 100)
	switch o.format {
	case "KRPC_GO":
		go watchKrpcGo(ctx, cli, o, states)
	case "ETCD_NAMING":
		go watchEtcdNaming(ctx, cli, o, states)
	case "GO_ZERO":
		sub, err := discov.NewSubscriber(strings.Split(o.etcd, ","), o.prefix+o.service)
		check(err)
		update := func() { states <- sub.Values() }
		sub.AddListener(update)
		update()
	case "KRATOS":
		go watchKratos(ctx, cli, o, states)
	default:
		fail("unknown format %q", o.format)
	}
	want := strings.Split(o.expect, ",")
	if o.expect == "" {
		want = nil
	}
	sort.Strings(want)
	for {
		select {
		case <-ctx.Done():
			fmt.Println("TIMEOUT")
			os.Exit(1)
		case state := <-states:
			sort.Strings(state)
			fmt.Println("STATE " + strings.Join(state, ","))
			if strings.Join(state, ",") == strings.Join(want, ",") {
				fmt.Println("EXPECTED")
				return
			}
		}
	}
}

// watchKrpcGo reads as Go KRPC's GetService and watch do: a prefix get of <KeyPrefix><name>
// (no trailing slash), json.Unmarshal of each value into an endpoint, then a watch from the next
// revision whose put events take the service name from the key split by "/", indexing its third
// part (a key of another shape panics there, as in Go KRPC).
func watchKrpcGo(ctx context.Context, cli *clientv3.Client, o options, states chan<- []string) {
	prefix := fmt.Sprintf(o.prefix+"%v", o.service)
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	check(err)
	eps := map[string]endpoint{}
	for _, kv := range resp.Kvs {
		var ep endpoint
		if json.Unmarshal(kv.Value, &ep) != nil {
			continue
		}
		eps[fmt.Sprintf("%s:%d", ep.IP, ep.Port)] = ep
	}
	states <- krpcGoState(eps)
	for wr := range cli.Watch(ctx, prefix, clientv3.WithRev(resp.Header.Revision+1), clientv3.WithPrefix()) {
		for _, ev := range wr.Events {
			trimmed := strings.Split(strings.TrimPrefix(string(ev.Kv.Key), o.prefix), "/")
			switch ev.Type {
			case clientv3.EventTypePut:
				var ep endpoint
				if json.Unmarshal(ev.Kv.Value, &ep) != nil {
					continue
				}
				_, _ = strconv.Atoi(trimmed[2]) // Go KRPC's getServiceNameByETCDKey
				eps[fmt.Sprintf("%s:%d", ep.IP, ep.Port)] = ep
			case clientv3.EventTypeDelete:
				// Go KRPC unmarshals the (empty) value of a delete and so never drops the
				// endpoint; this reader drops it by key, to observe deregistration
				port, _ := strconv.Atoi(trimmed[2])
				delete(eps, fmt.Sprintf("%s:%d", trimmed[1], port))
			}
		}
		states <- krpcGoState(eps)
	}
}

func krpcGoState(eps map[string]endpoint) []string {
	var state []string
	for addr, ep := range eps {
		// Go KRPC's resolver hands every endpoint to grpc with its weight; "enable" is shown too
		state = append(state, fmt.Sprintf("%s/w%d/%t", addr, ep.Weight, ep.Enable))
	}
	return state
}

// watchEtcdNaming uses etcd's endpoint manager, as its gRPC resolver does.
func watchEtcdNaming(ctx context.Context, cli *clientv3.Client, o options, states chan<- []string) {
	em, err := endpoints.NewManager(cli, o.prefix+o.service)
	check(err)
	wch, err := em.NewWatchChannel(ctx)
	check(err)
	all := map[string]string{}
	states <- nil
	for ups := range wch {
		for _, up := range ups {
			switch up.Op {
			case endpoints.Add:
				all[up.Key] = up.Endpoint.Addr
			case endpoints.Delete:
				delete(all, up.Key)
			}
		}
		var state []string
		for _, addr := range all {
			state = append(state, addr)
		}
		states <- state
	}
}

// watchKratos reads as Kratos' etcd watcher does: on every event under <namespace>/<name>, a
// prefix get whose values must all unmarshal into registry.ServiceInstance (one that does not
// fails the whole read), keeping those of the watched name; the address is the grpc endpoint.
func watchKratos(ctx context.Context, cli *clientv3.Client, o options, states chan<- []string) {
	key := fmt.Sprintf("%s/%s", strings.TrimSuffix(o.prefix, "/"), o.service)
	wch := cli.Watch(ctx, key, clientv3.WithPrefix(), clientv3.WithRev(0), clientv3.WithKeysOnly())
	for first := true; ; first = false {
		if !first {
			if _, ok := <-wch; !ok {
				return
			}
		}
		resp, err := cli.Get(ctx, key, clientv3.WithPrefix())
		check(err)
		var state []string
		for _, kv := range resp.Kvs {
			var si *kratosregistry.ServiceInstance
			if err := json.Unmarshal(kv.Value, &si); err != nil {
				fail("kratos watcher: %s: %v", kv.Key, err)
			}
			if si.Name != o.service {
				continue
			}
			for _, e := range si.Endpoints {
				if strings.HasPrefix(e, "grpc://") {
					state = append(state, strings.TrimPrefix(strings.SplitN(e, "?", 2)[0], "grpc://"))
				}
			}
		}
		states <- state
	}
}

// ---- calling

func call(cli *clientv3.Client, o options) {
	builder, err := etcdresolver.NewBuilder(cli)
	check(err)
	conn, err := grpc.NewClient("etcd:///"+o.prefix+o.service, grpc.WithResolvers(builder),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	check(err)
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	ok, failed := 0, 0
	for i := 0; i < o.n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		cancel()
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			ok++
		} else {
			failed++
			fmt.Fprintf(os.Stderr, "call %d: %v\n", i, err)
		}
	}
	fmt.Printf("CALLS ok=%d failed=%d\n", ok, failed)
}
