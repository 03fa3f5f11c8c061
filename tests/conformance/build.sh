#!/bin/sh
# Build tests/conformance/oci-conformance offline (GOPATH mode, Debian's Go
# library packages only) into OUT, a static binary that also runs inside a
# busybox container:
#   tests/conformance/build.sh OUT
set -eu
out=${1:?usage: build.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
cache=$(dirname "$out")/go-cache
mkdir -p "$cache"
cd "$here"
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
  GOCACHE="$cache" go build -trimpath -o "$out" ./oci-conformance
