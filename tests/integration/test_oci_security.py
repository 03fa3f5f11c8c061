"""berth-oci: security regressions (fd leaks, CVE-2024-21626, CVE-2019-5736, symlink escapes)."""

import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from oci_util import CAP_NAMES, RUNTIME, status_field

FD_SCRIPT = "ls -l /proc/self/fd; echo LISTEN_FDS=$LISTEN_FDS"


def wrapped_run(bundle, shell_prefix, *run_args):
    """`run` through `sh -c SHELL_PREFIX; exec runtime ...` so fds/env are set up by the shell."""
    bundle.write_config()
    out = os.path.join(bundle.dir, "wrapped.out")
    cmd = (f'{shell_prefix} exec "$@" >{out} 2>&1')
    argv = ["sh", "-c", cmd, "sh", RUNTIME, "--root", bundle.root, "run", "--bundle", bundle.dir,
            *run_args, bundle.id]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=30)
    with open(out) as f:
        text = f.read()
    assert p.returncode == 0, text
    return text


def fds_inside(text):
    """fd numbers listed by `ls -l /proc/self/fd`, without ls's own directory fd."""
    fds = []
    for line in text.splitlines():
        m = re.search(r"\s(\d+) -> (.*)$", line)
        if m and not re.fullmatch(r"/proc/\d+/fd", m.group(2)):
            fds.append(int(m.group(1)))
    return sorted(fds)


def test_no_fd_leak(bundle):
    """Security: no fd leaks into the container (only 0 1 2, even if the caller leaks fds)."""
    bundle.sh(FD_SCRIPT)
    text = wrapped_run(bundle, "exec 3</etc/hostname 4</etc/passwd 7</;")
    assert fds_inside(text) == [0, 1, 2], text


def test_preserve_fds(bundle):
    """Security: --preserve-fds N passes exactly fds 3..3+N-1."""
    bundle.sh(FD_SCRIPT + "; cat <&3")
    marker = os.path.join(bundle.dir, "fd3")
    with open(marker, "w") as f:
        f.write("through-fd-3\n")
    text = wrapped_run(bundle, f"exec 3<{marker} 4</etc/passwd;", "--preserve-fds", "1")
    assert fds_inside(text) == [0, 1, 2, 3], text
    assert "through-fd-3" in text


def test_listen_fds(bundle):
    """Security: LISTEN_FDS=N (socket activation) passes fds 3..3+N-1 and sets LISTEN_FDS."""
    bundle.sh(FD_SCRIPT)
    text = wrapped_run(bundle, "exec 3</etc/hostname 4</etc/passwd; export LISTEN_FDS=1 "
                               "LISTEN_PID=$$;")
    assert fds_inside(text) == [0, 1, 2, 3], text
    assert "LISTEN_FDS=1" in text


@pytest.mark.parametrize("fd", [3, 4, 5, 6, 7, 8, 9])
def test_cve_2024_21626_cwd_leaked_fd(bundle, fd):
    """Security CVE-2024-21626: process.cwd /proc/self/fd/N never yields a host cwd."""
    with open(os.path.join(bundle.rootfs, "berth-inside-marker"), "w") as f:
        f.write("inside\n")
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    bundle.sh("ls -a ../../../../../../../../../.. | grep -qx berth-inside-marker "
              "&& echo INSIDE || echo ESCAPED; readlink /proc/self/cwd")
    r = bundle.run()
    if r.ok:
        assert "INSIDE" in r.out and "ESCAPED" not in r.out, r
    else:
        assert "ESCAPED" not in r.out, r


def test_cve_2024_21626_exec_cwd(bundle):
    """Security CVE-2024-21626: `exec --cwd /proc/self/fd/N` never yields a host cwd."""
    with open(os.path.join(bundle.rootfs, "berth-inside-marker"), "w") as f:
        f.write("inside\n")
    bundle.run_detached("exec sleep 30")
    for fd in range(3, 10):
        r = bundle.exec(["sh", "-c", "ls -a ../../../../../../../../.. | grep -qx "
                         "berth-inside-marker && echo INSIDE || echo ESCAPED"],
                        "--cwd", f"/proc/self/fd/{fd}")
        assert "ESCAPED" not in r.out, (fd, r)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_cve_2019_5736_runtime_binary_not_writable(bundle):
    """Security CVE-2019-5736: a privileged container process that keeps trying to write to
    /proc/<pid>/exe of every process it sees (including the runtime joining it during `exec`)
    never succeeds, and the runtime binary on the host is unchanged."""
    before = sha256(RUNTIME)
    with open("/proc/self/status") as f:
        host_bnd = int(status_field(f.read(), "CapBnd"), 16)
    allcaps = ["CAP_" + c for i, c in enumerate(CAP_NAMES) if host_bnd & (1 << i)]
    bundle.config["process"]["capabilities"] = {k: allcaps for k in
                                                ("bounding", "effective", "permitted")}
    bundle.config["process"]["noNewPrivileges"] = False
    bundle.run_detached(
        "echo ready > /tmp/ready; "
        "while true; do for p in /proc/[0-9]*; do [ $p = /proc/$$ ] && continue; "
        "(echo '#!/bin/sh' >> $p/exe) 2>/dev/null && echo \"WROTE $p $(readlink $p/exe)\" "
        ">> /tmp/wrote; (: < /proc/1/exe; echo x >> /proc/1/exe) 2>/dev/null "
        "&& echo WROTE-SELF >> /tmp/wrote; done; done")
    ready = os.path.join(bundle.rootfs, "tmp", "ready")
    for _ in range(250):
        if os.path.exists(ready):
            break
        time.sleep(0.02)
    for _ in range(15):
        r = bundle.exec(["true"])
        assert r.ok, r
    time.sleep(0.2)
    assert bundle.kill("KILL").ok
    bundle.wait_stopped()
    wrote = os.path.join(bundle.rootfs, "tmp", "wrote")
    text = open(wrote).read() if os.path.exists(wrote) else ""
    assert sha256(RUNTIME) == before
    assert text == "", text


def test_mount_destination_symlink_escape(bundle):
    """Security: a mount destination through a symlink pointing outside the rootfs
    (`/etc2 -> /../../../tmp/hostdir`) is resolved inside the rootfs; the host is untouched."""
    hostdir = f"/tmp/berth-it-hostdir-{uuid.uuid4().hex[:8]}"
    os.makedirs(hostdir)
    try:
        with open(os.path.join(hostdir, "keep"), "w") as f:
            f.write("host\n")
        os.symlink("/../../../.." + hostdir, os.path.join(bundle.rootfs, "etc2"))
        bundle.config["mounts"].append({"destination": "/etc2/x", "type": "tmpfs",
                                        "source": "tmpfs", "options": ["size=1m"]})
        bundle.sh("echo inside > /etc2/x/file; cat /etc2/x/file")
        r = bundle.run()
        assert sorted(os.listdir(hostdir)) == ["keep"], r
        with open("/proc/self/mountinfo") as f:
            assert hostdir not in f.read()
        if r.ok:
            # it landed in the rootfs: <rootfs>/tmp/berth-it-hostdir-*/x
            assert os.path.isdir(os.path.join(bundle.rootfs, hostdir.lstrip("/"), "x")), r
    finally:
        shutil.rmtree(hostdir, ignore_errors=True)


def test_bind_source_symlink_in_rootfs_dest(bundle):
    """Security: a mount destination that is an absolute symlink to a host file is not
    followed on the host (`/etc/evil -> /etc/hostname` bind target stays in the rootfs)."""
    with open("/etc/hostname") as f:
        host_hostname = f.read()
    src = os.path.join(bundle.dir, "payload")
    with open(src, "w") as f:
        f.write("payload\n")
    os.symlink("/etc/hostname", os.path.join(bundle.rootfs, "etc", "evil"))
    bundle.config["mounts"].append({"destination": "/etc/evil", "type": "bind", "source": src,
                                    "options": ["bind"]})
    bundle.sh("cat /etc/hostname /etc/evil 2>&1; echo scribble > /etc/evil 2>&1; true")
    bundle.run()
    with open("/etc/hostname") as f:
        assert f.read() == host_hostname
    with open(src) as f:
        assert f.read() in ("payload\n", "scribble\n")
