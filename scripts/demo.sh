#!/bin/sh
# Berth's main job, end to end.   Usage: scripts/demo.sh BUILD_DIR
# Part 1: the OCI runtime alone — busybox containers run with berth-oci, showing
# that they are isolated and limited (every step a fresh container).
# Part 2: the Docker workflow through berthd and the `berth` CLI — a base image,
# a container with limits and a health check, its logs, exec, stats, stop, rm.
# Every step prints what it saw and checks it; the script exits non-zero on the
# first step that does not hold.
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

echo "######## Part 1: berth-oci, the OCI runtime"
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
printf '\nPart 1: all %d steps passed; every container was deleted after it exited.\n' "$n"

# ---------------------------------------------------------------------------
echo
echo "######## Part 2: berthd and the berth CLI (Docker's workflow)"
berth="$build/src/cli/berth"
berthd="$build/src/daemon/berthd"
[ -x "$berth" ] || fail "no berth at \`$berth\`: build it first (make)"
[ -x "$berthd" ] || fail "no berthd at \`$berthd\`: build it first (make)"
d="$tmp/berthd"
mkdir -p "$d"
sock="unix://$d/berthd.sock"
dpid=""
cleanup2() {
  if [ -n "$dpid" ]; then
    BERTH_HOST=$sock "$berth" rm -f demo-web >/dev/null 2>&1 || true
    kill "$dpid" 2>/dev/null || true
    wait "$dpid" 2>/dev/null || true
  fi
  umount -R -l "$d/exec" 2>/dev/null || true
  cleanup
}
trap cleanup2 EXIT

run() { printf '   $ %s\n' "$*" | sed 's/^   \$ B /   $ berth /; s|^   \$ [^ ]*/berth |   $ berth |' >&2; "$@"; }
B() { BERTH_HOST=$sock "$berth" "$@"; }
m=0
say() { m=$((m + 1)); printf '\n== %d. %s\n' "$m" "$*"; }

say "A base image from the host's busybox-static, straight into the image store"
run "$berth" --data-root "$d/data" image base busybox demo/busybox:1 | sed 's/^/   | /'

say "Start berthd on a private data root and socket ($sock)"
echo '{}' > "$d/daemon.json"
"$berthd" -H "$sock" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/berthd.pid" \
  --config-file "$d/daemon.json" >"$d/berthd.log" 2>&1 &
dpid=$!
i=0
until B version >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 200 ] || fail "berthd did not answer: $(tail -5 "$d/berthd.log")"
  sleep 0.05
done
B version --format '   berthd {{.Server.Version}}, API {{.Server.ApiVersion}} (client negotiated {{.Client.ApiVersion}})'
B images | sed 's/^/   | /'

say "berth run --rm: output and exit code come back as with docker"
out=$(B run --rm demo/busybox:1 sh -c 'echo hello from a container; exit 3') && rc=0 || rc=$?
printf '   | %s\n   | exit code %s\n' "$out" "$rc"
[ "$out" = "hello from a container" ] && [ "$rc" = 3 ] || fail "expected the output and exit code 3"

say "A long-running container with limits and a health check"
run B run -d --name demo-web -m 64m --pids-limit 32 --cpus 0.5 --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges -u 65534 \
  --health-cmd 'test -e /tmp/ready' --health-interval 1s --health-retries 2 \
  demo/busybox:1 sh -c 'echo "web: starting"; sleep 1; touch /tmp/ready; echo "web: ready";
    while true; do echo "web: tick $(date +%T)"; sleep 1; done' | sed 's/^/   | /'
i=0
while [ "$(B inspect -f '{{.State.Health.Status}}' demo-web)" != healthy ]; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "demo-web never became healthy"
  sleep 0.1
done
B ps --format 'table {{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Names}}' | sed 's/^/   | /'
B ps --format '{{.Status}}' --filter name=demo-web | grep -q '(healthy)' || fail "ps does not show (healthy)"

say "Its logs (berth logs --tail 3)"
sleep 1
B logs --tail 3 demo-web | sed 's/^/   | /'
B logs demo-web | grep -q '^web: ready$' || fail "no 'web: ready' in the logs"

say "The limits hold inside it (berth exec)"
B exec demo-web sh -c 'echo "memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)";
  echo "pids limit: $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)";
  echo "uid: $(id -u)"; touch /x 2>/dev/null && echo "root is writable" || echo "root is read-only";
  grep CapEff /proc/self/status' | tee "$d/exec.out" | sed 's/^/   | /'
grep -q '^memory limit: 67108864$' "$d/exec.out" || fail "memory limit not 64 MiB"
grep -q '^pids limit: 32$' "$d/exec.out" || fail "pids limit not 32"
grep -q '^root is read-only$' "$d/exec.out" || fail "root is writable"
grep -Eq '^CapEff:[[:space:]]+0+$' "$d/exec.out" || fail "capabilities left"

say "berth stats --no-stream"
B stats --no-stream | sed 's/^/   | /'

say "Stop and remove it"
run B stop -t 1 demo-web | sed 's/^/   | /'
B ps -a --format '{{.Names}}: {{.Status}}' | sed 's/^/   | /'
run B rm demo-web | sed 's/^/   | /'
[ -z "$(B ps -aq)" ] || fail "containers left behind"

printf '\ndemo: all %d + %d steps passed.\n' "$n" "$m"
