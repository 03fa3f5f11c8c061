#!/bin/sh
# Stage 2 of the cgroup v2 guest (PID 1 on a tmpfs root): run berth-oci on a
# pure cgroup v2 host and print one line per check:
#   CHECK <name> OK <detail>   or   CHECK <name> FAIL <detail>
# then "CHECKS DONE" and power off. tests/integration/test_cgroup2_qemu.py
# parses these lines.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup

ID=c1
OCI="berth-oci --root /run/berth"
CG=/sys/fs/cgroup/berth/$ID

ok() { echo "CHECK $1 OK $2"; }
fail() { echo "CHECK $1 FAIL $2"; }
# expect NAME WANT GOT
expect() {
  if [ "$2" = "$3" ]; then ok "$1" "\`$3\`"; else fail "$1" "want \`$2\` got \`$3\`"; fi
}
# expect_rc NAME: $RC is 0
expect_rc() {
  if [ "$RC" -eq 0 ]; then ok "$1" ""; else fail "$1" "rc=$RC: $(echo $OUT)"; fi
}
# run CMD...: output (stdout+stderr) in $OUT, status in $RC
# (each under a timeout, so that a hang is a failed check, not a stuck guest)
# (output through a file: a leftover process holding a pipe would hang $(...))
run() {
  timeout 60 "$@" </dev/null >/tmp/run.out 2>&1
  RC=$?
  OUT=$(cat /tmp/run.out)
}
rd() { cat "$1" 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }
# events FILE KEY: the value of KEY in a "key value" file
events() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
done_() {
  echo "CHECKS DONE"
  sync
  poweroff -f
  sleep 100
}

echo "GUEST kernel $(uname -r) cmdline: $(cat /proc/cmdline)"

# --- the host is pure cgroup v2 ---
fstype=$(stat -f -c %t /sys/fs/cgroup)
v1=$(awk '$3 == "cgroup"' /proc/mounts | wc -l)
expect host.cgroup2 "63677270 v1mounts=0" "$fstype v1mounts=$v1"
echo "+cpu +memory +pids +io +cpuset" | tr ' ' '\n' | while read -r c; do
  echo "$c" > /sys/fs/cgroup/cgroup.subtree_control || echo "GUEST cannot enable $c"
done
expect host.subtree_control "cpuset cpu io memory pids" "$(rd /sys/fs/cgroup/cgroup.subtree_control)"

# --- create ---
# The container's stdio must not be a pipe to this shell: a command
# substitution would wait for the container to exit.
timeout 60 $OCI create --bundle /bundle $ID </dev/null >/tmp/create.out 2>&1
RC=$?
OUT=$(cat /tmp/create.out)
if [ $RC -ne 0 ]; then
  fail create "rc=$RC: $OUT"
  done_
fi
ok create ""
run $OCI state $ID
pid=$(echo "$OUT" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
status=$(echo "$OUT" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
expect state.created created "$status"
expect host.cgroup.dir yes "$([ -d "$CG" ] && echo yes || echo no: $(find /sys/fs/cgroup -name "$ID"))"
expect host.proc.cgroup "0::/berth/$ID" "$(cat /proc/$pid/cgroup 2>&1)"
expect host.cgroup.procs yes "$(grep -qx "$pid" $CG/cgroup.procs && echo yes || rd $CG/cgroup.procs)"
expect host.memory.max 67108864 "$(rd $CG/memory.max)"
expect host.pids.max 32 "$(rd $CG/pids.max)"
expect host.cpu.max "50000 100000" "$(rd $CG/cpu.max)"
# runc's conversion: 1 + ((512 - 2) * 9999) / 262142 = 20
expect host.cpu.weight 20 "$(rd $CG/cpu.weight)"

run $OCI start $ID
expect_rc start
run $OCI state $ID
expect state.running 1 "$(echo "$OUT" | grep -c '"status": *"running"')"

# --- from inside: cgroup namespace and the cgroup2 mount ---
run $OCI exec $ID cat /proc/self/cgroup
expect inside.proc.cgroup "0::/" "$OUT"
run $OCI exec $ID cat /sys/fs/cgroup/memory.max
expect inside.memory.max 67108864 "$OUT"
run $OCI exec $ID cat /sys/fs/cgroup/pids.max
expect inside.pids.max 32 "$OUT"
run $OCI exec $ID cat /sys/fs/cgroup/cpu.max
expect inside.cpu.max "50000 100000" "$OUT"
run $OCI exec $ID cat /sys/fs/cgroup/cpu.weight
expect inside.cpu.weight 20 "$OUT"
run $OCI exec $ID stat -f -c %t /sys/fs/cgroup
expect inside.cgroup2 63677270 "$OUT"

# --- devices: the eBPF filter (default deny; explicit allow of c 7:0 r) ---
run $OCI exec $ID sh -c 'echo ok > /dev/null && echo null-ok'
expect dev.null.allowed null-ok "$OUT"
run $OCI exec $ID sh -c 'echo berth-kmsg > /dev/kmsg; echo rc=$?'
case "$OUT" in
  *"Operation not permitted"*rc=1*) ok dev.kmsg.denied "$(echo $OUT)" ;;
  *) fail dev.kmsg.denied "$(echo $OUT)" ;;
esac
run $OCI exec $ID sh -c 'head -c 8 /dev/vcs >/dev/null; echo rc=$?'
expect dev.vcs.read.allowed rc=0 "$(echo $OUT)"
run $OCI exec $ID sh -c 'echo x > /dev/vcs; echo rc=$?'
case "$OUT" in
  *"Operation not permitted"*rc=1*) ok dev.vcs.write.denied "$(echo $OUT)" ;;
  *) fail dev.vcs.write.denied "$(echo $OUT)" ;;
esac
# The config also denies c 1:5 (/dev/zero), but, as in runc, the default
# device rules come after the config's own, so /dev/zero stays readable.
run $OCI exec $ID sh -c 'head -c 1 /dev/zero | wc -c'
echo "INFO dev.zero read after an explicit deny rule: $(echo $OUT)"

# --- pids: a fork loop stops at the limit ---
before=$(events $CG/pids.events max)
# The fork loop runs in a subshell: a non-interactive ash exits when a fork
# fails. The orphans are reaped by the container's init, a shell loop.
run $OCI exec $ID sh -c '(for i in $(seq 1 60); do sleep 1000 & done) 2>/tmp/err
  set -- /proc/[0-9]*; echo procs=$#
  while read -r l; do echo "err: $l"; break; done < /tmp/err
  kill -9 -1'
procs=$(echo "$OUT" | sed -n 's/^procs=//p')
if [ -n "$procs" ] && [ "$procs" -le 32 ] && [ "$procs" -ge 10 ] &&
   echo "$OUT" | grep -q -e "can't fork" -e "Resource temporarily unavailable"; then
  ok pids.enforced "procs=$procs"
else
  fail pids.enforced "$(echo $OUT)"
fi
after=$(events $CG/pids.events max)
if [ "${after:-0}" -gt "${before:-0}" ]; then ok pids.events "max $before -> $after"
else fail pids.events "max $before -> $after"; fi
sleep 1
n=$(rd $CG/pids.current)
if [ "$n" -le 2 ]; then ok pids.released "pids.current=$n"; else fail pids.released "pids.current=$n"; fi

# --- memory: a process over the limit is OOM-killed ---
before=$(events $CG/memory.events oom_kill)
run $OCI exec $ID awk 'BEGIN { s = "xxxxxxxxxxxxxxxx"; for (;;) s = s s }'
after=$(events $CG/memory.events oom_kill)
if [ "$RC" -eq 137 ] && [ "${after:-0}" -gt "${before:-0}" ]; then
  ok memory.oom_kill "rc=$RC oom_kill $before -> $after"
else
  fail memory.oom_kill "rc=$RC oom_kill $before -> $after: $(echo $OUT)"
fi
run $OCI exec $ID sh -c 'echo alive'
expect memory.after.oom alive "$OUT"

# --- cpu: the quota throttles a busy loop ---
before=$(events $CG/cpu.stat nr_throttled)
run $OCI exec $ID timeout 2 sh -c 'while :; do :; done'
after=$(events $CG/cpu.stat nr_throttled)
if [ "${after:-0}" -gt "${before:-0}" ]; then ok cpu.throttled "nr_throttled $before -> $after"
else fail cpu.throttled "nr_throttled $before -> $after: rc=$RC $(echo $OUT)"; fi

# --- update ---
run $OCI update --memory 32m --pids-limit 16 --cpu-quota 25000 $ID
expect_rc update
expect update.memory.max 33554432 "$(rd $CG/memory.max)"
expect update.pids.max 16 "$(rd $CG/pids.max)"
expect update.cpu.max "25000 100000" "$(rd $CG/cpu.max)"
run $OCI exec $ID cat /sys/fs/cgroup/memory.max
expect update.inside.memory.max 33554432 "$OUT"

# --- pause / resume ---
run $OCI pause $ID
expect_rc pause
expect pause.cgroup.freeze 1 "$(rd $CG/cgroup.freeze)"
expect pause.frozen 1 "$(events $CG/cgroup.events frozen)"
run $OCI state $ID
expect pause.state 1 "$(echo "$OUT" | grep -c '"status": *"paused"')"
run $OCI resume $ID
expect_rc resume
expect resume.cgroup.freeze 0 "$(rd $CG/cgroup.freeze)"
expect resume.frozen 0 "$(events $CG/cgroup.events frozen)"
run $OCI state $ID
expect resume.state 1 "$(echo "$OUT" | grep -c '"status": *"running"')"

# --- events --stats reads the v2 files ---
run $OCI events --stats $ID
expect stats.memory.limit 1 "$(echo "$OUT" | grep -c '"limit": *33554432')"

# --- delete --force kills everything and removes the cgroup ---
run $OCI delete --force $ID
expect_rc delete
expect delete.cgroup.gone yes "$([ -e "$CG" ] && echo no || echo yes)"
expect delete.process.gone yes "$([ -e /proc/$pid ] && echo "no: $(cat /proc/$pid/status | head -3)" || echo yes)"
run $OCI state $ID
expect delete.state.gone 1 "$([ $RC -ne 0 ] && echo 1 || echo 0)"

done_
