"""A recording HTTP/1.1 proxy on a unix socket, for wire-level conformance tests.

    p = TraceProxy(upstream="/path/berthd.sock", listen="/path/proxy.sock").start()
    ... run `docker` with DOCKER_HOST=unix:///path/proxy.sock ...
    p.settle(); recs = p.take()     # list of Exchange, in request arrival order
    p.stop()

Each client connection gets its own upstream connection (so keep-alive and
hijacks behave exactly as they would against the daemon). The proxy parses
both directions: request head and body (Content-Length or chunked), response
head and body (Content-Length, chunked — forwarded chunk by chunk, so streams
such as logs -f, events and wait stay live — or until close), and after a
101 it becomes a raw two-way pipe that records the bytes each way and when
the client half-closed.
"""

import json
import os
import socket
import struct
import threading
import time

BODY_CAP = 4 << 20  # bytes of each body kept for inspection


class Exchange:
    """One request and its response."""

    def __init__(self, conn, t, method, target, req_headers):
        self.conn = conn
        self.t = t
        self.method = method
        self.target = target
        self.req_headers = req_headers      # list of (name, value)
        self.req_body = b""
        self.req_chunked = False
        self.status = None                  # None: no response head seen
        self.reason = ""
        self.resp_headers = []
        self.resp_chunked = False
        self.resp_chunks = 0
        self.resp_body = b""
        self.resp_complete = False
        self.hijacked = False
        self.down = b""                     # daemon -> client after 101
        self.up = b""                       # client -> daemon after 101
        self.client_half_close_after = None

    def header(self, name, resp=True):
        for k, v in (self.resp_headers if resp else self.req_headers):
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        try:
            return json.loads(self.resp_body)
        except ValueError:
            return None

    def json_stream(self):
        """Messages of a JSON stream (objects one after another)."""
        dec = json.JSONDecoder()
        text = self.resp_body.decode(errors="replace")
        out, i = [], 0
        while True:
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
            if i >= len(text):
                return out
            try:
                obj, i = dec.raw_decode(text, i)
            except ValueError:
                return out
            out.append(obj)

    def __repr__(self):
        return "<%s %s -> %s>" % (self.method, self.target, self.status)


def parse_frames(data):
    """Split a multiplexed stream into [(stream, payload)], or None if it is
    not validly framed (raw TTY bytes)."""
    frames, i = [], 0
    while i < len(data):
        if len(data) - i < 8:
            return None
        st, z1, z2, z3, size = struct.unpack(">BBBBI", data[i:i + 8])
        if st not in (0, 1, 2) or z1 or z2 or z3 or i + 8 + size > len(data):
            return None
        frames.append(({0: "stdin", 1: "stdout", 2: "stderr"}[st], data[i + 8:i + 8 + size]))
        i += 8 + size
    return frames


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        try:
            d = self.sock.recv(65536)
        except OSError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        i = self.buf.index(b"\r\n\r\n") + 4
        h, self.buf = self.buf[:i], self.buf[i:]
        return h

    def line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                return None
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def some(self):
        if not self.buf and not self._fill():
            return b""
        d, self.buf = self.buf, b""
        return d


def _parse_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = []
    for ln in lines[1:]:
        if not ln:
            continue
        k, _, v = ln.partition(":")
        headers.append((k.strip(), v.strip()))
    return first, headers


def _hget(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


class TraceProxy:
    def __init__(self, upstream, listen):
        self.upstream = upstream
        self.listen = listen
        self.lock = threading.Lock()
        self.records = []
        self.t0 = None
        self.nconn = 0
        self.socks = set()
        self.active = 0
        self.lsock = None
        self.thread = None
        self.closing = False

    def start(self):
        if os.path.exists(self.listen):
            os.unlink(self.listen)
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.listen)
        self.lsock.listen(64)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.closing = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if os.path.exists(self.listen):
            os.unlink(self.listen)

    def take(self):
        """The recorded exchanges so far (and forget them)."""
        with self.lock:
            r, self.records, self.t0 = self.records, [], None
        return r

    def settle(self, quiet=0.3, timeout=5.0):
        """Wait until no exchange has been waiting for its response head for
        `quiet` seconds (streams that never end are left as they are)."""
        deadline = time.monotonic() + timeout
        time.sleep(quiet)
        while time.monotonic() < deadline:
            with self.lock:
                pending = [r for r in self.records if r.status is None]
            if not pending:
                return
            time.sleep(0.05)

    # -- internals -----------------------------------------------------
    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.nconn += 1
                n = self.nconn
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _now(self):
        with self.lock:
            if self.t0 is None:
                self.t0 = time.monotonic()
            return round(time.monotonic() - self.t0, 4)

    def _serve(self, c, n):
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            u.connect(self.upstream)
        except OSError:
            c.close()
            return
        with self.lock:
            self.socks.update((c, u))
        try:
            self._loop(c, u, n)
        except OSError:
            pass
        finally:
            with self.lock:
                self.socks.discard(c)
                self.socks.discard(u)
            for s in (c, u):
                try:
                    s.close()
                except OSError:
                    pass

    def _loop(self, c, u, n):
        cr, ur = _Reader(c), _Reader(u)
        while True:
            raw = cr.head()
            if raw is None:
                return
            first, headers = _parse_head(raw)
            parts = first.split(" ")
            x = Exchange(n, self._now(), parts[0], parts[1] if len(parts) > 1 else "", headers)
            with self.lock:
                self.records.append(x)
            u.sendall(raw)
            # request body
            if "chunked" in (_hget(headers, "Transfer-Encoding") or "").lower():
                x.req_chunked = True
                if not self._relay_chunked(cr, u, x, "req_body"):
                    return
            else:
                cl = int(_hget(headers, "Content-Length") or 0)
                if cl:
                    d = cr.exact(cl)
                    if d is None:
                        return
                    u.sendall(d)
                    x.req_body = d[:BODY_CAP]
            # response head (skipping 1xx other than 101)
            while True:
                rraw = ur.head()
                if rraw is None:
                    return
                rfirst, rheaders = _parse_head(rraw)
                rparts = rfirst.split(" ", 2)
                status = int(rparts[1])
                try:
                    c.sendall(rraw)
                except OSError:
                    x.status, x.reason, x.resp_headers = status, rparts[2] if len(rparts) > 2 else "", rheaders
                    raise
                if status == 100:
                    continue
                break
            x.status, x.reason, x.resp_headers = status, rparts[2] if len(rparts) > 2 else "", rheaders
            if status == 101:
                x.hijacked = True
                self._pipe(c, u, cr, ur, x)
                return
            if x.method == "HEAD" or status in (204, 304):
                x.resp_complete = True
                continue
            if "chunked" in (_hget(rheaders, "Transfer-Encoding") or "").lower():
                x.resp_chunked = True
                if not self._relay_chunked(ur, c, x, "resp_body"):
                    return
                x.resp_complete = True
                continue
            cl = _hget(rheaders, "Content-Length")
            if cl is not None:
                d = ur.exact(int(cl))
                if d is None:
                    return
                x.resp_body = d[:BODY_CAP]
                c.sendall(d)
                x.resp_complete = True
                continue
            # body until close
            while True:
                d = ur.some()
                if not d:
                    x.resp_complete = True
                    return
                if len(x.resp_body) < BODY_CAP:
                    x.resp_body += d
                c.sendall(d)

    def _relay_chunked(self, src, dst, x, attr):
        while True:
            ln = src.line()
            if ln is None:
                return False
            size = int(ln.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers until the empty line
                out = ln
                while True:
                    t = src.line()
                    if t is None:
                        return False
                    out += t
                    if t == b"\r\n":
                        break
                dst.sendall(out)
                return True
            d = src.exact(size + 2)
            if d is None:
                return False
            if attr == "resp_body":
                x.resp_chunks += 1
            cur = getattr(x, attr)
            if len(cur) < BODY_CAP:
                setattr(x, attr, cur + d[:-2])
            dst.sendall(ln + d)

    def _pipe(self, c, u, cr, ur, x):
        t_start = time.monotonic()
        # bytes already buffered on either side
        pre_up, pre_down = cr.some() if cr.buf else b"", ur.buf
        ur.buf = b""

        def up():
            try:
                if pre_up:
                    x.up += pre_up
                    u.sendall(pre_up)
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    x.up += d
                    u.sendall(d)
            except OSError:
                pass
            x.client_half_close_after = round(time.monotonic() - t_start, 3)
            try:
                u.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=up, daemon=True)
        t.start()
        try:
            if pre_down:
                x.down += pre_down
                c.sendall(pre_down)
            while True:
                d = u.recv(65536)
                if not d:
                    break
                if len(x.down) < BODY_CAP:
                    x.down += d
                c.sendall(d)
        except OSError:
            pass
        x.resp_complete = True
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        t.join(30)
