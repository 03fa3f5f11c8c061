"""Defects found in a second review of the daemon (engine, api, shim), each
with the test that showed it."""

import json
import os
import socket
import time

from daemon_fixtures import berthd  # noqa: F401
from daemon_fixtures import _module_berthd  # noqa: F401
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
