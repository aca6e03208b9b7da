"""Discrete-event model of krpc_p2c's pick rule, to see why a slow backend still gets calls.

Models what krpc-loadbalance's P2cPicker/EndpointLoad do: two distinct random endpoints, a forced
pick of one idle for forcePickInterval, else the lower cost = peak-EWMA latency x (in flight + 1)
(an RTT above the estimate replaces it, lower ones pull it down with weight 1 - exp(-dt/decay)).
Four backends, three answer in 2 ms (+ up to 0.2 ms jitter), one in 20 ms; a closed loop of C
calls. Client-wide pauses (a GC pause or a descheduled client: no response is seen during the
pause) hit every call in flight, so every endpoint with calls in flight sees the pause in its RTT,
except the one P2C avoids. Run: python3 p2c_sim.py (about a minute).
"""
import heapq, math, random


def sim(decay=10.0, conc=16, pause_ms=0.0, pause_every=2.0, force=1.0, dur=30.0, fast=0.002,
        slow=0.020, seed=1, jitter=0.0002, peak=True):
    rnd = random.Random(seed)
    n = 4
    base = [slow, fast, fast, fast]
    lat = [None] * n
    stamp = [0.0] * n
    infl = [0] * n
    lastpick = [0.0] * n
    pauses = []
    t = pause_every * rnd.random()
    while t < dur + 5:
        pauses.append((t, t + pause_ms / 1000))
        t += pause_every * (0.5 + rnd.random())

    def seen_at(t):
        for a, b in pauses:
            if a <= t < b:
                return b
            if a > t:
                break
        return t

    def cost(i):
        if lat[i] is None:
            return 0 if infl[i] == 0 else 1e14 + infl[i]
        return (lat[i] + 1e-9) * (infl[i] + 1)

    def pick(now):
        a = rnd.randrange(n)
        b = rnd.randrange(n - 1)
        b = b + 1 if b >= a else b
        if force > 0:
            for c in (a, b):
                if now - lastpick[c] >= force:
                    lastpick[c] = now
                    return c
        c = a if cost(a) <= cost(b) else b
        lastpick[c] = now
        return c

    events, lats, counts = [], [], [0] * n

    def start(now):
        i = pick(now)
        infl[i] += 1
        heapq.heappush(events, (seen_at(now + base[i] + rnd.random() * jitter), now, i))

    for _ in range(conc):
        start(0.0)
    while events:
        t, s, i = heapq.heappop(events)
        if t > dur:
            break
        infl[i] -= 1
        rtt = t - s
        if lat[i] is None or (peak and rtt > lat[i]):
            lat[i] = rtt
        else:
            w = math.exp(-(t - stamp[i]) / decay)
            lat[i] = lat[i] * w + rtt * (1 - w)
        stamp[i] = t
        if t > 2:
            lats.append(rtt)
            counts[i] += 1
        start(t)
    lats.sort()
    q = lambda p: lats[min(len(lats) - 1, int(p * len(lats)))] * 1000
    return counts[0] / len(lats) * 100, q(.99), q(.999)


def row(label, **kw):
    runs = [sim(seed=s, **kw) for s in (1, 2, 3)]
    share = sum(r[0] for r in runs) / 3
    p99 = sum(r[1] for r in runs) / 3
    p999 = sum(r[2] for r in runs) / 3
    print(f"| {label} | {share:.2f}% | {p99:.1f} | {p999:.1f} |")


if __name__ == "__main__":
    print("| krpc_p2c variant (3 seeds, 30 s each) | slow share | p99 ms | p99.9 ms |")
    print("|---|---:|---:|---:|")
    for pause in (0, 2, 5):
        tag = f"pauses {pause} ms every ~2 s" if pause else "no client pauses"
        row(f"{tag}, C=16, default (decay 10 s, force pick 1 s)", pause_ms=pause)
        if pause:
            row(f"{tag}, C=16, decay 1 s", pause_ms=pause, decay=1.0)
            row(f"{tag}, C=16, decay 0.25 s", pause_ms=pause, decay=0.25)
    row("pauses 5 ms, C=16, forced picks off", pause_ms=5, force=0)
    row("pauses 5 ms, C=16, forced picks every 0.1 s", pause_ms=5, force=0.1)
    row("pauses 5 ms, C=16, plain EWMA (no peak reset), decay 10 s", pause_ms=5, peak=False)
    row("pauses 5 ms, C=8, default", pause_ms=5, conc=8)
    row("pauses 5 ms, C=32, default", pause_ms=5, conc=32)
    row("no client pauses, C=32, default", conc=32)
    row("no client pauses, C=64, default", conc=64)
