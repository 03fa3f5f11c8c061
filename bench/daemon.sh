#!/bin/sh
# berthd vs dockerd vs podman through their CLIs (see bench/README.md, "berthd"):
#   bench/daemon.sh BUILD_DIR [--runs N] [--count N]
# Needs root, hyperfine, dockerd (docker.io), the docker CLI, podman, crun, busybox-static.
set -eu
build=${1:?usage: bench/daemon.sh BUILD_DIR [--runs N] [--count N]}
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: must run as root" >&2
  exit 1
fi
for t in hyperfine dockerd docker podman crun unshare /usr/bin/python3 /bin/busybox; do
  command -v "$t" >/dev/null || { echo "bench: \`$t\` is missing" >&2; exit 1; }
done
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
echo "versions: $(dockerd --version), $(podman --version), $(crun --version | head -1)," \
  "docker CLI: $(docker --version), berth $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo "?")"
# crun 1.8 refuses a hybrid cgroup v1/v2 layout whose v2 mount lists controllers:
# all three engines run in one private mount namespace where the v2 mount (if
# any) is hidden under an empty tmpfs, as in bench/run.sh.
exec unshare -m --propagation private sh -c '
  if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
    mount -t tmpfs tmpfs /sys/fs/cgroup/unified
  fi
  exec /usr/bin/python3 "$0/daemon.py" "$@"' "$here" "$build" "$@"
