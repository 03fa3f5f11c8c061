#!/bin/sh
# Benchmark berth-oci against crun and runc (see bench/README.md):
#   bench/run.sh BUILD_DIR [--runs N]
# Needs root, hyperfine, crun, runc, busybox-static (make deps; sh scripts/install-deps.sh --bench).
set -eu
build=${1:?usage: bench/run.sh BUILD_DIR [--runs N]}
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: must run as root (the runtimes create namespaces and cgroups)" >&2
  exit 1
fi
for t in hyperfine unshare /usr/bin/time /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "bench: \`$t\` is missing: sh scripts/install-deps.sh --bench" >&2; exit 1; }
done
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
# crun 1.8 refuses a hybrid cgroup v1/v2 layout whose v2 mount lists controllers.
# Run all three runtimes, for fairness, in one private mount namespace where the
# v2 mount (if any) is hidden under an empty tmpfs.
exec unshare -m --propagation private sh -c '
  if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
    mount -t tmpfs tmpfs /sys/fs/cgroup/unified
  fi
  exec /usr/bin/python3 "$0/bench.py" "$@"' "$here" "$build" "$@"
