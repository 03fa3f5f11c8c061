#!/bin/sh
# Berth's main job, end to end: run a busybox container with berth-oci and show
# that it is isolated and limited.   Usage: scripts/demo.sh BUILD_DIR
# Every step runs a fresh container (berth-oci run), prints what it saw, and
# checks it; the script exits non-zero on the first step that does not hold.
set -eu

build=${1:?usage: scripts/demo.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
oci="$build/src/oci/berth-oci"

fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root: berth-oci creates namespaces and cgroups"
[ -x "$oci" ] || fail "no berth-oci at \`$oci\`: build it first (make)"

tmp=$(mktemp -d /tmp/berth-demo.XXXXXX)
state="$tmp/state"
bundle="$tmp/bundle"
n=0
cleanup() {
  for id in $(ls "$state" 2>/dev/null); do
    "$oci" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== Preparing a busybox bundle in $bundle"
sh "$here/mk-busybox-rootfs.sh" "$bundle/rootfs"
mkdir -p "$bundle/rootfs/steps"

# The container's configuration: its own pid, network, ipc, uts and mount
# namespaces; a read-only root; 64 MiB of memory and 32 processes at most; one
# capability (CAP_NET_BIND_SERVICE) instead of root's full set.
cg="/berth-demo-$$"
cat > "$tmp/config.in" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "/steps/STEP"],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "berth-demo",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "nodev", "mode=1777"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "cgroupsPath": "$cg",
    "resources": {
      "memory": {"limit": 67108864},
      "pids": {"limit": 32},
      "devices": [{"allow": false, "access": "rwm"}]
    },
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                   {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                      "/proc/sysrq-trigger"]
  }
}
JSON

# step NAME EXPLANATION SCRIPT EXPECTED-REGEX: run SCRIPT in a new container,
# show its output, and require a line matching EXPECTED-REGEX.
step() {
  name=$1 what=$2 script=$3 want=$4
  n=$((n + 1))
  printf '\n== %d. %s\n' "$n" "$what"
  printf '%s\n' "$script" > "$bundle/rootfs/steps/$name"
  sed "s|/steps/STEP|/steps/$name|" "$tmp/config.in" > "$bundle/config.json"
  printf '%s\n' "$script" | sed 's/^/   $ /'
  if ! out=$("$oci" --root "$state" run --bundle "$bundle" "demo-$$-$n" 2>"$tmp/err"); then
    printf '%s\n' "$out" | sed 's/^/   | /'
    fail "step $n: berth-oci run failed: $(cat "$tmp/err")"
  fi
  printf '%s\n' "$out" | sed 's/^/   | /'
  printf '%s\n' "$out" | grep -Eq -- "$want" || fail "step $n: expected a line matching \`$want\`"
}

step hostname "Own UTS namespace: the container has its own hostname" \
  'hostname' '^berth-demo$'

step id "The process runs as root (uid 0) of the container" \
  'id' '^uid=0\(root\) gid=0\(root\)'

step pid1 "Own PID namespace: the container's first process is pid 1 and sees only its own processes" \
  'echo "my pid: $$"; echo "processes: $(ls -d /proc/[0-9]* | wc -l)"' '^my pid: 1$'

step net "Own network namespace: only the loopback interface, no route to the host" \
  'ls /sys/class/net; ip -o link 2>/dev/null | wc -l | sed "s/^/links: /"' '^lo$'

step netonly "... and nothing but loopback" \
  'echo "interfaces: $(ls /sys/class/net | wc -l)"' '^interfaces: 1$'

step memory "Memory limit: the container's cgroup caps it at 64 MiB" \
  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' \
  '^67108864$'

step pids "Process limit: at most 32 processes; a fork bomb stops at the limit" \
  'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
(i=0; while [ $i -lt 40 ]; do i=$((i + 1)); sleep 30 & done) 2>/dev/null
n=0; for p in /proc/[0-9]*; do n=$((n + 1)); done
echo "tried to start 40 sleeps; processes in the container now: $n"
if [ $n -le 32 ]; then echo "capped"; fi' \
  '^capped$'

step readonly "Read-only root filesystem: writing to / fails (only /tmp is writable)" \
  'if echo x > /etc/hacked 2>/dev/null; then echo "wrote /etc/hacked"; else echo "write to /etc refused"; fi
echo x > /tmp/ok && echo "write to /tmp ok"' '^write to /etc refused$'

step caps "Capabilities dropped: only CAP_NET_BIND_SERVICE (bit 10) is left of root's set" \
  'grep -E "^Cap(Eff|Bnd)" /proc/self/status' \
  '^CapEff:[[:space:]]+0000000000000400$'

step caps2 "... and sethostname is refused without CAP_SYS_ADMIN" \
  'if hostname evil 2>/dev/null; then echo "hostname changed"; else echo "sethostname refused"; fi' \
  '^sethostname refused$'

left=$("$oci" --root "$state" list -q 2>/dev/null || true)
[ -z "$left" ] || fail "containers left behind: $left"
printf '\ndemo: all %d steps passed; every container was deleted after it exited.\n' "$n"
