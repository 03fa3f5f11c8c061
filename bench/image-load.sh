#!/bin/sh
# Images benchmark (see bench/README.md, section "Images"):
#   bench/image-load.sh BUILD_DIR [--runs N]
# Side by side, in one hyperfine run:
#   import of a Debian minbase rootfs tarball: berth import / docker import / podman import
#   load of a 3-layer image archive:            berth load / docker load / podman load
# Debian's dockerd is started privately (its own socket, data root and exec
# root under a temporary directory); podman uses a private storage root.
# The Debian rootfs is made once with debootstrap and cached in
# ${BERTH_BENCH_CACHE:-/var/tmp/berth-bench}.
set -eu
build=${1:?usage: bench/image-load.sh BUILD_DIR [--runs N]}
runs=5
if [ "${2:-}" = "--runs" ]; then runs=${3:?--runs needs a number}; fi
berth=$(cd "$build" && pwd)/src/cli/berth
[ -x "$berth" ] || { echo "bench: $berth is not built" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: must run as root" >&2; exit 1; }
for t in hyperfine dockerd docker podman debootstrap /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "bench: \`$t\` is missing" >&2; exit 1; }
done

cache=${BERTH_BENCH_CACHE:-/var/tmp/berth-bench}
mkdir -p "$cache"
work=$(mktemp -d /var/tmp/berth-bench-run-XXXXXX)
dpid=""
cleanup() {
  [ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  podman --root "$work/podman" --runroot "$work/podman-run" rmi -a -f >/dev/null 2>&1 || true
  umount -R "$work/docker/data" "$work/podman" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"

# 1. The Debian minbase rootfs tarball (cached).
rootfs_tar=$cache/debian-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
  mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)
  echo "bench: debootstrap --variant=minbase bookworm (${mirror:-default mirror}) ..." >&2
  debootstrap --variant=minbase bookworm "$work/rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/debootstrap"
  tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work/rootfs"
fi

# 2. A 3-layer docker-archive: the Debian rootfs, then two layers of files.
three=$work/three-layers.tar
/usr/bin/python3 - "$rootfs_tar" "$three" <<'EOF'
import hashlib, io, json, os, sys, tarfile
rootfs, out = sys.argv[1], sys.argv[2]
def layer(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
rnd = os.urandom
layers = [open(rootfs, "rb").read(),
          layer([(f"opt/app/lib{i}.so", rnd(200_000)) for i in range(50)]),
          layer([(f"srv/data/{i}.txt", rnd(5_000)) for i in range(2000)])]
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["bash"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
names = [f"{d[7:]}/layer.tar" for d in diff_ids]
man = json.dumps([{"Config": cid + ".json", "RepoTags": ["bench/three:layers"], "Layers": names}]).encode()
with tarfile.open(out, "w") as t:
    for n, d in [(cid + ".json", cfg), ("manifest.json", man)] + list(zip(names, layers)):
        ti = tarfile.TarInfo(n); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
EOF

# 3. Peers: a private dockerd and a private podman store.
mkdir -p "$work/docker"
dockerd --host "unix://$work/docker/sock" --data-root "$work/docker/data" --exec-root "$work/docker/exec" \
  --pidfile "$work/docker/pid" --iptables=false --ip6tables=false --bridge=none >"$work/docker/log" 2>&1 &
dpid=$!
D="docker -H unix://$work/docker/sock"
i=0
until $D version >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 150 ] || { echo "bench: dockerd did not start" >&2; tail "$work/docker/log" >&2; exit 1; }
  sleep 0.2
done
P="podman --root $work/podman --runroot $work/podman-run --storage-driver overlay"
# Each berth run gets a fresh data root, removed only at the end: deleting
# 100k inodes just before a run makes ext4 skip "recently deleted" inodes
# on every create (find_inode_bit -> recently_deleted), which would time
# the previous run's rm -rf rather than the load.
mkdir -p "$work/roots"
B="sh -c 'exec \"\$0\" --data-root \$(mktemp -d $work/roots/r-XXXXXX) \"\$@\"' $berth"

ls -l "$rootfs_tar" "$three" | awk '{print "input:", $9, $5, "bytes"}'
hyperfine --runs "$runs" --warmup 1 --export-json "$work/result.json" \
  --command-name "berth import" --prepare "true" "$B import $rootfs_tar bench/debian:import" \
  --command-name "docker import" --prepare "$D rmi -f bench/debian:import >/dev/null 2>&1 || true" "$D import $rootfs_tar bench/debian:import" \
  --command-name "podman import" --prepare "$P rmi -a -f >/dev/null 2>&1 || true" "$P import -q $rootfs_tar bench/debian:import" \
  --command-name "berth load" --prepare "true" "$B load -i $three" \
  --command-name "docker load" --prepare "$D rmi -f bench/three:layers >/dev/null 2>&1 || true" "$D load -i $three" \
  --command-name "podman load" --prepare "$P rmi -a -f >/dev/null 2>&1 || true" "$P load -q -i $three"

/usr/bin/python3 - "$work/result.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print("\n| operation | berth | docker | podman | docker/berth | podman/berth |")
print("|---|---|---|---|---|---|")
for op in ("import", "load"):
    b, d, p = (r[f"{t} {op}"]["mean"] for t in ("berth", "docker", "podman"))
    print(f"| {op} | {b*1000:.0f} ms | {d*1000:.0f} ms | {p*1000:.0f} ms | {d/b:.2f}x | {p/b:.2f}x |")
EOF
