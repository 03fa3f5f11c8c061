#!/bin/sh
# Install the Debian packages that Berth's build, tests and benchmarks need,
# when they are missing. Idempotent: a machine that has them all is left alone.
set -eu

BUILD="meson ninja-build pkg-config gcc clang clang-format gperf libclang-rt-14-dev
  libjson-c-dev libseccomp-dev libcap-dev libcmocka-dev libarchive-dev
  libmicrohttpd-dev libgnutls28-dev nettle-dev zlib1g-dev libzstd-dev
  libyaml-dev libmnl-dev"
# What the tests and the main job run: real peers, real clients, base images.
TEST="python3-pytest python3-docker python3-jsonschema busybox-static iproute2
  crun runc podman containerd docker.io uidmap jq zstd skopeo debootstrap"
# Only the benchmarks compare against these.
BENCH="hyperfine time"
# Only the cgroup v2 test under qemu (tests/qemu) needs these.
QEMU="qemu-system-x86 linux-image-amd64 cpio"
# Only the OCI conformance test (tests/conformance) needs these: Go and the
# runtime-tools library packages its checker is built from (offline, GOPATH).
CONFORMANCE="golang-go golang-github-opencontainers-runtime-tools-dev
  golang-github-opencontainers-specs-dev golang-gocapability-dev
  golang-github-xeipuuv-gojsonschema-dev golang-golang-x-sys-dev"

want="$BUILD $TEST"
case "${1:-}" in
  --bench) want="$want $BENCH" ;;
  --all) want="$want $BENCH $QEMU $CONFORMANCE" ;;
  --qemu) want="$QEMU" ;;
  --conformance) want="$CONFORMANCE" ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
