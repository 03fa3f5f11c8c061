#!/bin/sh
# Build the initramfs of the cgroup v2 guest:
#   tests/qemu/mkinitramfs.sh OUT.cpio.gz BERTH-OCI
# It holds busybox-static (as /bin/sh and its applets), BERTH-OCI with every
# library ldd lists (and the dynamic loader) at the same paths, a busybox
# bundle at /bundle with tests/qemu/config.json, and the two init stages
# (tests/qemu/init, tests/qemu/checks.sh).
set -eu
out=${1:?usage: mkinitramfs.sh OUT.cpio.gz BERTH-OCI}
oci=${2:?usage: mkinitramfs.sh OUT.cpio.gz BERTH-OCI}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

stage=$(mktemp -d "${TMPDIR:-/tmp}/berth-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# The guest's own root: busybox applets, /bin/sh.
sh "$repo/scripts/mk-busybox-rootfs.sh" "$stage"
mkdir -p "$stage/usr/local/bin" "$stage/run" "$stage/sys/fs/cgroup"
cp "$oci" "$stage/usr/local/bin/berth-oci"
for lib in $(ldd "$oci" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done

# The container's bundle.
mkdir -p "$stage/bundle"
sh "$repo/scripts/mk-busybox-rootfs.sh" "$stage/bundle/rootfs"
cp "$here/config.json" "$stage/bundle/config.json"

cp "$here/init" "$stage/init"
cp "$here/checks.sh" "$stage/checks.sh"
chmod 755 "$stage/init" "$stage/checks.sh"

tmp="$out.tmp.$$"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 > "$tmp"
mv "$tmp" "$out"
