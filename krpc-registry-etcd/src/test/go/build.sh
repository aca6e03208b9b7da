#!/usr/bin/env bash
# Builds the Go peers of GoFleetIT into krpc-registry-etcd/target/gofleet/gofleet, with the
# module versions pinned in go.mod/go.sum (the module cache in ~/go makes later builds fast).
set -euo pipefail
cd "$(dirname "$0")"
command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
out=../../../target/gofleet
mkdir -p "$out"
GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -o "$out/gofleet" .
