"""Helpers for the peer tests (containerd, podman) and the benchmark.

Everything here is plain Python + subprocess: no fixtures from conftest.py are
required, so the benchmark and demo scripts can import it too.
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def runtime_binary():
    """The OCI runtime under test: $OCI_RUNTIME, else $BERTH_BUILD/src/oci/berth-oci."""
    rt = os.environ.get("OCI_RUNTIME")
    if rt:
        return rt
    build = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build-test"))
    return os.path.join(build, "src", "oci", "berth-oci")


def runtime_is_berth():
    return "OCI_RUNTIME" not in os.environ


def make_busybox_rootfs(path):
    """Fill PATH with a busybox root filesystem (scripts/mk-busybox-rootfs.sh)."""
    subprocess.run(["sh", os.path.join(REPO, "scripts", "mk-busybox-rootfs.sh"), path],
                   check=True)
    return path


def default_config(args=None, terminal=False, cwd="/", hostname="berth"):
    """An OCI config.json dict like `runc spec` output (no user namespace)."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": args or ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": cwd,
            "capabilities": {k: list(DEFAULT_CAPS) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def make_bundle(path, config=None, rootfs=None):
    """Create an OCI bundle in PATH: rootfs/ (busybox, or a copy of ROOTFS) and config.json."""
    os.makedirs(path, exist_ok=True)
    dst = os.path.join(path, "rootfs")
    if rootfs:
        shutil.copytree(rootfs, dst, symlinks=True)
    else:
        make_busybox_rootfs(dst)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config or default_config(), f, indent=2)
    return path


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def make_image_archive(rootfs, out, repo_tag="docker.io/library/busybox:test",
                       cmd=("sh",)):
    """Write a one-layer docker-archive (`docker save` format) of ROOTFS to OUT.

    Both `ctr images import` and `podman load` read this format."""
    import hashlib

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for name in sorted(os.listdir(rootfs)):
            layer.add(os.path.join(rootfs, name), arcname=name)
    layer_bytes = buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64" if os.uname().machine == "x86_64" else os.uname().machine,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": list(cmd),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "berth tests"}],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_dir = diff_id.split(":")[1]
    manifest = [{"Config": config_name, "RepoTags": [repo_tag],
                 "Layers": [layer_dir + "/layer.tar"]}]
    with tarfile.open(out, "w") as tar:
        _add_bytes(tar, config_name, config_bytes)
        _add_bytes(tar, layer_dir + "/layer.tar", layer_bytes)
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
    return out


def run(cmd, check=True, timeout=60, **kw):
    """subprocess.run with captured text output and a readable failure message.

    With check=False a timeout is not an exception either: it returns exit status
    -9 (the command is killed), so cleanup code keeps going."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        if check:
            raise AssertionError("command %r timed out after %ss\nstdout:\n%s\nstderr:\n%s"
                                 % (cmd, timeout, e.stdout, e.stderr)) from None
        return subprocess.CompletedProcess(cmd, -9, e.stdout or "", e.stderr or "")
    if check and p.returncode != 0:
        raise AssertionError("command %r exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (cmd, p.returncode, p.stdout, p.stderr))
    return p


def kill_pids_with_arg(arg):
    """SIGKILL the processes whose command line contains ARG (a test's temp dir):
    the shims and runtime processes a test started and could not stop cleanly."""
    import signal
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                hit = arg.encode() in f.read()
            if hit:
                os.kill(int(d), signal.SIGKILL)
        except OSError:
            pass


def unmount_under(path):
    """Lazily unmount everything mounted at or below PATH, deepest first."""
    mps = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path + "/"):
                mps.append(mp)
    for mp in reversed(mps):
        subprocess.run(["umount", "-l", mp], check=False)


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def logging_wrapper(real, path, log):
    """Write an executable at PATH that appends its argv to LOG and execs REAL."""
    with open(path, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >> "%s"\nexec "%s" "$@"\n' % (log, real))
    os.chmod(path, 0o755)
    return path


RUNTIME_VERBS = ("create", "start", "run", "state", "kill", "delete", "exec", "ps",
                 "list", "pause", "resume", "update", "events", "spec", "features",
                 "checkpoint", "restore")


def runtime_verbs(log, cid):
    """From a logging_wrapper LOG: the subcommands whose arguments mention CID."""
    verbs = []
    try:
        with open(log) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return verbs
    for line in lines:
        words = line.split()
        if cid not in words:
            continue
        for w in words:
            if w in RUNTIME_VERBS:
                verbs.append(w)
                break
    return verbs
