"""Defects found in a second review of the daemon (engine, api, shim), each
with the test that showed it."""

import json
import os
import socket
import time

from daemon_fixtures import berthd  # noqa: F401
from daemon_fixtures import _module_berthd  # noqa: F401
from daemon_fixtures import berthd_factory  # noqa: F401
from daemon_fixtures import wait_for


def _threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def _raw_wait(sock_path, cid):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(("POST /v1.41/containers/%s/wait HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 0\r\n\r\n" % cid).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got
    return s


def test_wait_whose_client_hangs_up_ends(berthd):
    """`POST /containers/{id}/wait` whose client closes its socket must not
    keep a thread blocked until the container exits."""
    st, out = berthd.json("POST", "/v1.41/containers/create",
                          {"Image": "busybox", "Cmd": ["sleep", "300"]})
    assert st == 201, out
    cid = out["Id"]
    try:
        st, _, body = berthd.request("POST", "/v1.41/containers/%s/start" % cid)
        assert st == 204, body
        pid = berthd.proc.pid
        time.sleep(0.3)
        base = _threads(pid)
        socks = [_raw_wait(berthd.sock, cid) for _ in range(50)]
        assert _threads(pid) >= base + 50
        for s in socks:
            s.close()
        assert wait_for(lambda: _threads(pid) <= base + 2, timeout=3), \
            "threads: %d, before the waits: %d" % (_threads(pid), base)
        # A wait still works afterwards and sees the exit.
        s = _raw_wait(berthd.sock, cid)
        st, _, body = berthd.request("POST", "/v1.41/containers/%s/kill" % cid)
        assert st == 204, body
        s.settimeout(10)
        data = b""
        while b"StatusCode" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        assert b'"StatusCode":137' in data.replace(b" ", b""), data
    finally:
        berthd.request("DELETE", "/v1.41/containers/%s?force=1" % cid)


def _inspect(d, cid):
    st, out = d.json("GET", "/v1.41/containers/%s/json" % cid)
    assert st == 200, out
    return out


def test_restart_whose_start_fails_keeps_retrying(berthd):
    """A policy restart whose start fails (the entrypoint vanished) must be
    retried with the back-off, as dockerd does, not leave the container
    exited for good."""
    import io
    import tarfile
    script = "if [ -e /ok ]; then exec sleep 300; fi; rm /bin/sh; exit 1"
    st, out = berthd.json("POST", "/v1.41/containers/create",
                          {"Image": "busybox", "Entrypoint": ["/bin/sh", "-c", script],
                           "Cmd": [], "HostConfig": {"RestartPolicy": {"Name": "always"}}})
    assert st == 201, out
    cid = out["Id"]
    try:
        st, _, body = berthd.request("POST", "/v1.41/containers/%s/start" % cid)
        assert st == 204, body
        # The first restart fails (no /bin/sh); later ones are still tried.
        assert wait_for(lambda: _inspect(berthd, cid)["RestartCount"] >= 3, timeout=10), \
            _inspect(berthd, cid)["State"]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo("bin/sh")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            tf.addfile(ti)
            ti = tarfile.TarInfo("ok")
            ti.size = 0
            tf.addfile(ti, io.BytesIO(b""))
        st, _, body = berthd.request("PUT", "/v1.41/containers/%s/archive?path=/" % cid,
                                     buf.getvalue(), {"Content-Type": "application/x-tar"})
        assert st == 200, body
        assert wait_for(lambda: _inspect(berthd, cid)["State"]["Running"], timeout=15), \
            _inspect(berthd, cid)["State"]
    finally:
        berthd.request("DELETE", "/v1.41/containers/%s?force=1" % cid)


def test_image_store_concurrent_runs_tags_and_loads(berthd_factory, tmp_path):
    """The image store is shared by berthd's threads: containers created and
    removed (holds on layers) while images are tagged, removed and loaded
    must all succeed (or fail with a clear conflict), and leave a store that
    `berth image check` accepts."""
    import subprocess
    import threading
    from daemon_fixtures import BERTHD
    d = berthd_factory()
    saved = tmp_path / "bb.tar"
    p = d.docker("save", "-o", str(saved), "busybox:latest")
    errors = []

    def run(i):
        p = d.docker("run", "--rm", "busybox", "true", check=False, timeout=120)
        if p.returncode != 0:
            errors.append(("run", i, p.stderr))

    def tags(i):
        for k in range(15):
            name = "t%d-%d:x" % (i, k)
            p = d.docker("tag", "busybox:latest", name, check=False, timeout=120)
            if p.returncode != 0:
                errors.append(("tag", name, p.stderr))
                continue
            p = d.docker("rmi", name, check=False, timeout=120)
            if p.returncode != 0 and b"conflict" not in p.stderr.lower():
                errors.append(("rmi", name, p.stderr))

    def load(i):
        for _ in range(3):
            p = d.docker("load", "-i", str(saved), check=False, timeout=120)
            if p.returncode != 0:
                errors.append(("load", i, p.stderr))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    ts += [threading.Thread(target=tags, args=(i,)) for i in range(4)]
    ts += [threading.Thread(target=load, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert d.proc.poll() is None, d.log()[-4000:]
    assert "AddressSanitizer" not in d.log() and "runtime error" not in d.log(), d.log()[-6000:]
    assert errors == [], "\n".join(repr(e) for e in errors[:5])
    d.stop()
    berth = os.path.join(os.path.dirname(os.path.dirname(BERTHD)), "cli", "berth")
    p = subprocess.run([berth, "--data-root", d.data_root, "image", "check"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_concurrent_starts_each_get_their_own_init(berthd):
    """The shims of all containers share one run directory (the parent of
    their sockets): starts at the same time must not read or remove each
    other's init.pid / console socket."""
    import threading
    errors = []

    def run(i):
        args = ["run", "--rm"] + (["-t"] if i % 2 else []) + ["busybox", "sh", "-c", "echo ok$$"]
        p = berthd.docker(*args, check=False, timeout=120)
        if p.returncode != 0 or b"ok1" not in p.stdout:
            errors.append((i, p.returncode, p.stdout, p.stderr))

    for _ in range(2):
        ts = [threading.Thread(target=run, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert errors == [], "\n".join(repr(e) for e in errors[:5])


def test_cp_archive_mode_chowns_to_the_container_user(berthd, tmp_path):
    """`docker cp -a` (copyUIDGID=true): dockerd chowns what it extracts to
    the container's Config.User, resolved in the container's /etc/passwd
    and /etc/group; without -a the tar's owners are kept."""
    src = tmp_path / "f.txt"
    src.write_text("hi\n")
    os.chown(src, 4242, 4343)
    sub = tmp_path / "d"
    sub.mkdir()
    (sub / "inner").write_text("x")
    os.chown(sub, 4242, 4343)
    os.chown(sub / "inner", 4242, 4343)
    ids = []
    try:
        for user, want in (("1000:1000", "1000:1000"), ("nobody", "65534:65534")):
            cid = berthd.docker("run", "-d", "--user", user, "busybox",
                                "sleep", "300").stdout.decode().strip()
            ids.append(cid)
            berthd.docker("cp", "-a", str(src), cid + ":/tmp/a.txt")
            berthd.docker("cp", "-a", str(sub), cid + ":/tmp/d")
            berthd.docker("cp", str(src), cid + ":/tmp/plain.txt")
            out = berthd.docker("exec", "-u", "0", cid, "stat", "-c", "%n %u:%g",
                                "/tmp/a.txt", "/tmp/d", "/tmp/d/inner",
                                "/tmp/plain.txt").stdout.decode().split("\n")
            got = dict(line.split() for line in out if line)
            assert got["/tmp/a.txt"] == want, (user, got)
            assert got["/tmp/d"] == want, (user, got)
            assert got["/tmp/d/inner"] == want, (user, got)
            assert got["/tmp/plain.txt"] == "4242:4343", (user, got)
    finally:
        for cid in ids:
            berthd.request("DELETE", "/v1.41/containers/%s?force=1" % cid)


def _raw_attach(sock_path, cid, query):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(("POST /v1.41/containers/%s/attach?%s HTTP/1.1\r\nHost: x\r\n"
               "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
               % (cid, query)).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 101"), got
    return s


def test_attach_whose_client_hangs_up_ends(berthd):
    """An attach whose client closes its socket must not keep its thread
    until the container exits (stdout only, and with stdin)."""
    st, out = berthd.json("POST", "/v1.41/containers/create",
                          {"Image": "busybox", "Cmd": ["sleep", "300"], "OpenStdin": True})
    assert st == 201, out
    cid = out["Id"]
    try:
        st, _, body = berthd.request("POST", "/v1.41/containers/%s/start" % cid)
        assert st == 204, body
        pid = berthd.proc.pid
        time.sleep(0.3)
        base = _threads(pid)
        for query in ("stream=1&stdout=1&stderr=1", "stream=1&stdin=1&stdout=1"):
            socks = [_raw_attach(berthd.sock, cid, query) for _ in range(20)]
            time.sleep(0.3)
            assert _threads(pid) >= base + 20
            for s in socks:
                s.close()
            assert wait_for(lambda: _threads(pid) <= base + 2, timeout=3), \
                "%s: threads: %d, before the attaches: %d" % (query, _threads(pid), base)
    finally:
        berthd.request("DELETE", "/v1.41/containers/%s?force=1" % cid)


def test_healthcheck_timeout_applies_after_the_check_closes_its_output(berthd):
    """A health check that closes its stdout/stderr and then hangs must still
    be ended by its timeout (the wait for its exit had none)."""
    hc = {"Test": ["CMD-SHELL", "exec >/dev/null 2>&1; sleep 60"],
          "Interval": 1000000000, "Timeout": 1000000000, "Retries": 1}
    st, out = berthd.json("POST", "/v1.41/containers/create",
                          {"Image": "busybox", "Cmd": ["sleep", "300"], "Healthcheck": hc})
    assert st == 201, out
    cid = out["Id"]
    try:
        st, _, body = berthd.request("POST", "/v1.41/containers/%s/start" % cid)
        assert st == 204, body

        def unhealthy():
            h = _inspect(berthd, cid)["State"].get("Health") or {}
            return h.get("Status") == "unhealthy" and h
        h = wait_for(unhealthy, timeout=10)
        assert h, _inspect(berthd, cid)["State"]
        assert "exceeded timeout" in h["Log"][-1]["Output"], h
    finally:
        berthd.request("DELETE", "/v1.41/containers/%s?force=1" % cid)
