"""Bad input to berthd: each request gets Docker's status code and a JSON
{"message"}, and the daemon keeps serving everyone else."""

import json
import os
import socket
import threading
import time

import pytest

from daemon_fixtures import berthd, _module_berthd  # noqa: F401


def raw(d, data, read_timeout=10):
    """Send raw bytes on a fresh connection; return the whole answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(read_timeout)
    s.connect(d.sock)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def status_of(resp):
    return int(resp.split(b" ", 2)[1])


def still_serving(d):
    st, h, body = d.request("GET", "/_ping")
    assert st == 200 and body == b"OK"


def error_json(body):
    o = json.loads(body)
    assert isinstance(o, dict) and isinstance(o.get("message"), str) and o["message"]
    return o["message"]


@pytest.mark.parametrize("body", [b"{", b"{\"Image\": }", b"not json", b"{\"a\":1} trailing",
                                  b"[1, 2]", b"\"str\"", b"", b"\xff\xfe{}"])
def test_malformed_json(berthd, body):
    st, h, data = berthd.request("POST", "/v1.41/containers/create", body,
                                 {"Content-Type": "application/json"})
    assert st == 400, data
    assert h["content-type"] == "application/json"
    error_json(data)
    still_serving(berthd)


@pytest.mark.parametrize("body,field", [
    ({"Image": 5}, "Image"),
    ({"Image": "busybox", "Cmd": 5}, "Cmd"),
    ({"Image": "busybox", "Cmd": ["a", 1]}, "Cmd"),
    ({"Image": "busybox", "Tty": "yes"}, "Tty"),
    ({"Image": "busybox", "Env": "A=1"}, "Env"),
    ({"Image": "busybox", "HostConfig": {"Memory": "64m"}}, "Memory"),
    ({"Image": "busybox", "HostConfig": {"CapDrop": "ALL"}}, "CapDrop"),
    ({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": 3}}}, "RestartPolicy"),
])
def test_wrong_types(berthd, body, field):
    st, err = berthd.json("POST", "/v1.41/containers/create", body)
    assert st == 400
    assert field in err["message"]
    still_serving(berthd)


def test_deep_json(berthd):
    body = b"[" * 100000 + b"]" * 100000
    st, h, data = berthd.request("POST", "/v1.41/containers/create", body,
                                 {"Content-Type": "application/json"})
    assert st == 400
    error_json(data)
    still_serving(berthd)


def test_oversized_json_body(berthd):
    big = b"{\"Image\":\"" + b"a" * (65 << 20) + b"\"}"
    st, h, data = berthd.request("POST", "/v1.41/containers/create", big,
                                 {"Content-Type": "application/json"}, timeout=120)
    assert st in (400, 413)
    assert "too large" in error_json(data)
    still_serving(berthd)


def test_too_many_headers(berthd):
    hdrs = "".join("X-H%d: v\r\n" % i for i in range(500))
    resp = raw(berthd, ("GET /_ping HTTP/1.1\r\nHost: x\r\n%s\r\n" % hdrs).encode())
    assert status_of(resp) in (400, 431)
    still_serving(berthd)


def test_too_long_header(berthd):
    resp = raw(berthd, b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
    assert resp == b"" or status_of(resp) in (400, 413, 431)
    still_serving(berthd)


def test_garbage_request_line(berthd):
    resp = raw(berthd, b"\x00\x01\x02 nonsense\r\n\r\n")
    assert resp == b"" or status_of(resp) == 400
    still_serving(berthd)


def test_unknown_route(berthd):
    for path in ("/v1.41/nothing/here", "/nothing", "/v1.41/containers/a/b/c/json"):
        st, h, data = berthd.request("GET", path)
        assert st == 404
        assert json.loads(data) == {"message": "page not found"}
    st, h, data = berthd.request("PATCH", "/v1.41/images/json")
    assert st == 404
    still_serving(berthd)


def test_version_too_new_and_too_old(berthd):
    # section 64 of the traces
    st, h, data = berthd.request("GET", "/v1.50/version")
    assert st == 400
    assert json.loads(data) == {"message": "client version 1.50 is too new. Maximum supported API version is 1.45"}
    st, h, data = berthd.request("GET", "/v1.12/version")
    assert st == 400 and "too old" in json.loads(data)["message"]
    for v in ("1.24", "1.41", "1.45"):
        st, h, data = berthd.request("GET", "/v%s/version" % v)
        assert st == 200 and json.loads(data)["ApiVersion"] == "1.41"


def test_bad_query_values(berthd):
    st, h, data = berthd.request("GET", "/v1.41/images/json?filters=%7Bnot-json")
    assert st == 400 and "filter" in error_json(data)
    st, h, data = berthd.request("GET", "/v1.41/events?since=yesterday")
    assert st == 400
    error_json(data)
    still_serving(berthd)


def _fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_client_closes_mid_stream(berthd):
    pid = berthd.proc.pid
    time.sleep(0.2)
    before = _fd_count(pid)
    for _ in range(5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(berthd.sock)
        s.sendall(b"GET /v1.41/images/get?names=busybox%3Alocal HTTP/1.1\r\nHost: x\r\n\r\n")
        got = s.recv(4096)
        assert got.startswith(b"HTTP/1.1 200")
        s.close()  # the tar stream is still being produced
    still_serving(berthd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _fd_count(pid) > before:
        time.sleep(0.1)
    assert _fd_count(pid) <= before
    # a complete save still works afterwards
    st, h, data = berthd.request("GET", "/v1.41/images/get?names=busybox%3Alocal")
    assert st == 200 and h["content-type"] == "application/x-tar" and len(data) > 1000000


def test_slow_client_does_not_block_others(berthd):
    # a client that sends half a request and stalls
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(berthd.sock)
    s.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    try:
        t0 = time.monotonic()
        for _ in range(20):
            still_serving(berthd)
        assert time.monotonic() - t0 < 5
    finally:
        s.close()


def test_concurrent_clients(berthd):
    errors = []

    def worker():
        try:
            for _ in range(20):
                st, lst = berthd.json("GET", "/v1.41/images/json")
                assert st == 200 and lst
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
