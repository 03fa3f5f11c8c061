#!/bin/sh
# Re-establish expected-pass.txt: run the checker with runc and keep what passes.
#   tests/conformance/update-expected.sh [RUNC]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runc=${1:-/usr/sbin/runc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/build.sh" "$tmp/oci-conformance"
sh "$here/../../scripts/mk-busybox-rootfs.sh" "$tmp/rootfs"
RUNTIME=$runc "$tmp/oci-conformance" -rootfs "$tmp/rootfs" > "$tmp/runc.tap"
head -6 "$here/expected-pass.txt" > "$tmp/expected"
sed -n 's/^ok [0-9]* - //p' "$tmp/runc.tap" | sort >> "$tmp/expected"
mv "$tmp/expected" "$here/expected-pass.txt"
grep '^not ok' "$tmp/runc.tap" >&2 || true
