#!/usr/bin/python3
"""berthd vs Debian's dockerd (+ containerd, runc) vs podman (crun), through their CLIs.

Run through bench/daemon.sh, which puts this process in a private mount namespace
where /sys/fs/cgroup/unified is an empty tmpfs (crun refuses the host's hybrid
cgroup layout otherwise); all three engines run in that same namespace.

  daemon.py BUILD_DIR [--runs N] [--count N]

1. berthd and dockerd on private sockets, data roots and exec roots under one
   temporary directory; podman with a private --root/--runroot and its own
   CONTAINERS_CONF. The same busybox rootfs tarball is imported into all three.
2. One hyperfine run: `run --rm --network none busybox true` per engine (the
   docker CLI against berthd and against dockerd, podman's own CLI).
3. RSS (VmRSS of /proc/PID/status): berthd and dockerd + containerd after
   one container was run and removed; the per-container monitor of a running
   `sleep` (berth-shim, containerd-shim-runc-v2, conmon).
4. COUNT `sleep 1000` containers started detached one after another through the
   CLI, then removed with one `rm -f` of all their ids; wall time of each phase.
"""

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

DOCKER = shutil.which("docker", path="/usr/local/bin:/usr/bin") or "docker"
BUSYBOX = "/bin/busybox"
IMAGE = "busybox:latest"


def busybox_tar(path):
    """A rootfs tarball: /bin/busybox and a link per applet, the usual dirs."""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    with tarfile.open(path, "w") as tf:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "usr"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o1777 if d == "tmp" else 0o755
            tf.addfile(ti)
        tf.add(BUSYBOX, arcname="bin/busybox")
        for a in applets:
            if a != "busybox":
                ti = tarfile.TarInfo("bin/" + a)
                ti.type = tarfile.SYMTYPE
                ti.linkname = "busybox"
                tf.addfile(ti)
        data = b"root:x:0:0:root:/root:/bin/sh\n"
        ti = tarfile.TarInfo("etc/passwd")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))


def ping(sock):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        ok = s.recv(64).startswith(b"HTTP/1.1 200")
        s.close()
        return ok
    except OSError:
        return False


def wait_ping(sock, proc, what, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("bench: %s exited %d:\n%s" % (what, proc.returncode, tail(log)))
        if ping(sock):
            return
        time.sleep(0.05)
    sys.exit("bench: %s did not answer /_ping in %ds:\n%s" % (what, timeout, tail(log)))


def tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
    except OSError:
        return ""


def status_kib(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def procs():
    """[(pid, ppid, comm, cmdline)] of every process."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        out.append((int(d), ppid, comm, cmd))
    return out


def monitor_of(comm, cid):
    """The pid of the process named COMM whose command line names container CID."""
    for pid, _, c, cmd in procs():
        if c == comm and cid in cmd:
            return pid
    # Some monitors name the container only in their environment or cwd: fall
    # back to the one process of that name (the benchmark runs one at a time).
    found = [pid for pid, _, c, _ in procs() if c == comm]
    return found[0] if len(found) == 1 else None


def children_named(ppid, comm):
    return [pid for pid, pp, c, _ in procs() if pp == ppid and c == comm]


class Engine:
    def __init__(self, name, argv, env):
        self.name, self.argv, self.env = name, argv, env

    def run(self, *args, check=True, timeout=120):
        p = subprocess.run(self.argv + list(args), env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            sys.exit("bench: `%s %s` exited %d: %s" % (self.name, " ".join(args),
                                                        p.returncode, p.stderr.strip()))
        return p

    def cmdline(self, *args):
        return " ".join(self.argv + list(args))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: daemon.py BUILD_DIR [--runs N] [--count N]")
    build = os.path.abspath(args[0])
    runs, count = 50, 100
    if "--runs" in args:
        runs = int(args[args.index("--runs") + 1])
    if "--count" in args:
        count = int(args[args.index("--count") + 1])
    berthd_bin = os.path.join(build, "src/daemon/berthd")
    if not os.access(berthd_bin, os.X_OK):
        sys.exit("bench: %s is not built" % berthd_bin)

    work = tempfile.mkdtemp(prefix="berth-bench-daemon-", dir="/var/tmp")
    daemons = []
    engines = []
    try:
        bench(work, berthd_bin, runs, count, daemons, engines)
    finally:
        for e in engines:
            if e.name == "podman":
                e.run("rm", "-a", "-f", "-t", "0", check=False)
        for name, p in daemons:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        subprocess.run(["umount", "-R", "-l", work], capture_output=True)
        for sub in ("berthd/exec", "berthd/data", "docker/exec", "docker/data",
                    "podman/root", "podman/run"):
            subprocess.run(["umount", "-R", "-l", os.path.join(work, sub)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def bench(work, berthd_bin, runs, count, daemons, engines):
    base_env = dict(os.environ)
    for k in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        base_env.pop(k, None)
    base_env["DOCKER_CONFIG"] = os.path.join(work, "docker-config")
    os.makedirs(base_env["DOCKER_CONFIG"])
    with open(os.path.join(base_env["DOCKER_CONFIG"], "config.json"), "w") as f:
        f.write("{}\n")  # podman reads it too

    # berthd
    bdir = os.path.join(work, "berthd")
    os.makedirs(bdir)
    with open(os.path.join(bdir, "daemon.json"), "w") as f:
        f.write("{}\n")
    bsock = os.path.join(bdir, "sock")
    blog = os.path.join(bdir, "log")
    with open(blog, "wb") as log:
        bp = subprocess.Popen([berthd_bin, "--data-root", os.path.join(bdir, "data"),
                               "--exec-root", os.path.join(bdir, "exec"), "-H", "unix://" + bsock,
                               "--pidfile", os.path.join(bdir, "pid"),
                               "--config-file", os.path.join(bdir, "daemon.json")],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    daemons.append(("berthd", bp))

    # dockerd: its own containerd (no --containerd; no system containerd socket here)
    ddir = os.path.join(work, "docker")
    os.makedirs(ddir)
    dsock = os.path.join(ddir, "sock")
    dlog = os.path.join(ddir, "log")
    with open(dlog, "wb") as log:
        dp = subprocess.Popen(["dockerd", "--host", "unix://" + dsock,
                               "--data-root", os.path.join(ddir, "data"),
                               "--exec-root", os.path.join(ddir, "exec"),
                               "--pidfile", os.path.join(ddir, "pid"),
                               "--iptables=false", "--ip6tables=false", "--bridge=none"],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    daemons.append(("dockerd", dp))
    wait_ping(bsock, bp, "berthd", blog)
    wait_ping(dsock, dp, "dockerd", dlog)

    # podman: private storage, crun, cgroupfs; nofile and nproc defaults below the
    # hard limits (podman raises them to 1048576 and 4194304, which fails here
    # without CAP_SYS_RESOURCE)
    pdir = os.path.join(work, "podman")
    os.makedirs(pdir)
    pconf = os.path.join(pdir, "containers.conf")
    with open(pconf, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
                '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                'runtime = "crun"\n')
    penv = dict(base_env, CONTAINERS_CONF=pconf)

    engines += [
        Engine("berthd", [DOCKER, "-H", "unix://" + bsock], base_env),
        Engine("dockerd", [DOCKER, "-H", "unix://" + dsock], base_env),
        Engine("podman", ["podman", "--root", os.path.join(pdir, "root"),
                          "--runroot", os.path.join(pdir, "run"),
                          "--storage-driver", "overlay"], penv),
    ]

    tar = os.path.join(work, "busybox.tar")
    busybox_tar(tar)
    for e in engines:
        e.run("import", "--change", 'CMD ["sh"]', tar, IMAGE)
        p = e.run("run", "--rm", "--network", "none", IMAGE, "echo", "smoke-ok")
        if p.stdout != "smoke-ok\n":
            sys.exit("bench: %s smoke run printed %r" % (e.name, p.stdout))

    # RSS of the daemons after one container was run and removed (the smoke run).
    time.sleep(1)
    rss = {}
    rss["berthd"] = status_kib(bp.pid)
    ctrd = children_named(dp.pid, "containerd")
    rss["dockerd"] = status_kib(dp.pid)
    rss["containerd"] = status_kib(ctrd[0]) if ctrd else None

    # 1. run --rm, one hyperfine run
    hf = os.path.join(work, "hyperfine.json")
    cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", hf]
    for e in engines:
        cmd += ["--command-name", e.name,
                e.cmdline("run", "--rm", "--network", "none", IMAGE, "true")]
    env = dict(base_env)
    env["CONTAINERS_CONF"] = pconf  # docker ignores it
    subprocess.run(cmd, env=env, check=True)
    with open(hf) as f:
        res = {r["command"]: r for r in json.load(f)["results"]}
    med = {k: res[k]["median"] * 1000 for k in res}
    mean = {k: res[k]["mean"] * 1000 for k in res}
    sd = {k: res[k]["stddev"] * 1000 for k in res}

    rss["berthd-after"] = status_kib(bp.pid)

    # 2. one monitor per running `sleep` container
    shim = {}
    for e, comm in zip(engines, ("berth-shim", "containerd-shim", "conmon")):
        cid = e.run("run", "-d", "--network", "none", IMAGE, "sleep", "1000").stdout.strip()
        time.sleep(1)
        pid = monitor_of(comm, cid)
        if pid is None and comm == "containerd-shim":
            pid = monitor_of("containerd-shim-runc-v2", cid)
        shim[e.name] = status_kib(pid) if pid else None
        e.run("rm", "-f", cid)

    # 3. COUNT sleep containers: start detached one by one, then one rm -f of all
    many = {}
    for e in engines:
        t0 = time.monotonic()
        ids = [e.run("run", "-d", "--network", "none", IMAGE, "sleep", "1000").stdout.strip()
               for _ in range(count)]
        t1 = time.monotonic()
        e.run("rm", "-f", *ids, timeout=600)
        t2 = time.monotonic()
        many[e.name] = (t1 - t0, t2 - t1)

    # Report
    b, d, p = "berthd", "dockerd", "podman"
    print("\n## run --rm --network none busybox true (%d runs)\n" % runs)
    print("| engine | median ms | mean ms | σ ms |")
    print("|---|---:|---:|---:|")
    for k in (b, d, p):
        print("| %s | %.1f | %.1f | %.1f |" % (k, med[k], mean[k], sd[k]))
    print("\nratios of medians: dockerd/berthd %.2fx (target 5x), podman/berthd %.2fx (target 2x)"
          % (med[d] / med[b], med[p] / med[b]))
    print("\n## RSS, KiB (VmRSS)\n")
    print("| process | KiB |")
    print("|---|---:|")
    print("| berthd, idle after one run --rm | %s |" % rss["berthd"])
    print("| berthd, after the hyperfine runs | %s |" % rss["berthd-after"])
    print("| dockerd, idle after one run --rm | %s |" % rss["dockerd"])
    print("| containerd (dockerd's) | %s |" % rss["containerd"])
    print("| berth-shim (sleep) | %s |" % shim[b])
    print("| containerd-shim-runc-v2 (sleep) | %s |" % shim[d])
    print("| conmon (sleep) | %s |" % shim[p])
    print("\n## %d sleep containers: run -d one by one, then one rm -f\n" % count)
    print("| engine | start s | rm -f s | total s |")
    print("|---|---:|---:|---:|")
    for k in (b, d, p):
        print("| %s | %.2f | %.2f | %.2f |" % (k, many[k][0], many[k][1], sum(many[k])))
    print("\ntotal ratios: dockerd/berthd %.2fx, podman/berthd %.2fx"
          % (sum(many[d]) / sum(many[b]), sum(many[p]) / sum(many[b])))


if __name__ == "__main__":
    main()
