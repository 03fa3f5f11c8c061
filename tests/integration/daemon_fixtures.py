"""A real berthd for integration tests (import these from test files).

Stable names:
  BERTHD                path of the berthd binary ($BERTH_BUILD/src/daemon/berthd,
                        BERTH_BUILD defaulting to /work/main/build-test, then build/).
  DOCKER                the docker CLI (/usr/local/bin/docker).
  Berthd                one daemon on a private temp dir: .sock, .host
                        ("unix://..."), .data_root, .exec_root, .env (DOCKER_HOST
                        set), .start(), .stop() (SIGTERM), .kill() (SIGKILL),
                        .restart(), .log(), .request(method, path, body=None,
                        headers=None) -> (status, headers, body bytes),
                        .json(method, path, body=None) -> (status, decoded),
                        .docker(*args, input=None, check=True) -> CompletedProcess,
                        .client() -> docker.DockerClient.
  UnixHTTPConnection    http.client connection over a unix socket.
  make_busybox_tar()    bytes of a rootfs tar (busybox-static + applet links).
  load_busybox(d, ref)  import that rootfs through the API as REF.
  docker_text(d, *args, **kw)
                        d.docker() with stdout / stderr decoded to str.
  wait_for(pred, timeout=20, step=0.1)
                        poll PRED every STEP seconds until it is true; returns
                        its last value (false when TIMEOUT ran out).
  inspect_container(d, ref)
                        GET /containers/REF/json, asserting 200; the document.
  remove_container(d, ref)
                        DELETE /containers/REF?force=1, whatever the answer.

Fixtures:
  berthd                module-scoped daemon with busybox:latest (and
                        busybox:local) imported; prints berthd's log after
                        a failed test.
  berthd_factory        function-scoped factory: berthd_factory(*extra_args,
                        busybox=True, start=True) -> Berthd, stopped at the end.
"""

import http.client
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

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _find_berthd():
    cands = []
    if os.environ.get("BERTH_BUILD"):
        cands.append(os.path.join(os.environ["BERTH_BUILD"], "src/daemon/berthd"))
    cands += [os.path.join(REPO, "build-test/src/daemon/berthd"),
              os.path.join(REPO, "build/src/daemon/berthd")]
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return cands[0]


BERTHD = _find_berthd()
DOCKER = shutil.which("docker", path="/usr/local/bin:/usr/bin") or "/usr/local/bin/docker"
BUSYBOX = "/bin/busybox"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def make_busybox_tar():
    """A rootfs with /bin/busybox and a link per applet, plus the usual dirs."""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "usr", "usr/bin"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o1777 if d == "tmp" else 0o755
            tf.addfile(ti)
        tf.add(BUSYBOX, arcname="bin/busybox")
        for a in applets:
            if a == "busybox":
                continue
            ti = tarfile.TarInfo("bin/" + a)
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            tf.addfile(ti)
        for name, data in (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
                           ("etc/group", b"root:x:0:\nnogroup:x:65534:\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


_BUSYBOX_TAR = None


def load_busybox(d, ref="busybox:latest"):
    global _BUSYBOX_TAR
    if _BUSYBOX_TAR is None:
        _BUSYBOX_TAR = make_busybox_tar()
    repo, _, tag = ref.rpartition(":")
    from urllib.parse import urlencode
    q = urlencode([("fromSrc", "-"), ("repo", repo), ("tag", tag),
                   ("changes", 'CMD ["sh"]'),
                   ("changes", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")])
    st, _, body = d.request("POST", "/v1.41/images/create?" + q, _BUSYBOX_TAR,
                            {"Content-Type": "application/x-tar"})
    assert st == 200, body
    return json.loads(body.decode().split("\r\n")[0])["status"]


def docker_text(d, *args, **kw):
    """d.docker() with text output."""
    p = d.docker(*args, **kw)
    p.stdout = p.stdout.decode(errors="replace") if isinstance(p.stdout, bytes) else p.stdout
    p.stderr = p.stderr.decode(errors="replace") if isinstance(p.stderr, bytes) else p.stderr
    return p


def wait_for(pred, timeout=20, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def inspect_container(d, ref):
    st, doc = d.json("GET", "/v1.41/containers/%s/json" % ref)
    assert st == 200, doc
    return doc


def remove_container(d, ref):
    d.request("DELETE", "/v1.41/containers/%s?force=1" % ref)


class Berthd:
    def __init__(self, extra_args=(), tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="berthd-")
        self.data_root = os.path.join(self.tmp, "data")
        self.exec_root = os.path.join(self.tmp, "exec")
        self.sock = os.path.join(self.tmp, "berthd.sock")
        self.pidfile = os.path.join(self.tmp, "berthd.pid")
        self.logfile = os.path.join(self.tmp, "berthd.log")
        self.host = "unix://" + self.sock
        self.extra_args = list(extra_args)
        self.proc = None
        self.env = dict(os.environ, DOCKER_HOST=self.host)
        self.env.pop("DOCKER_TLS_VERIFY", None)
        self.env.pop("DOCKER_CERT_PATH", None)
        self.env["DOCKER_CONFIG"] = os.path.join(self.tmp, "docker-config")

    def args(self):
        return [BERTHD, "--data-root", self.data_root, "--exec-root", self.exec_root,
                "-H", self.host, "--pidfile", self.pidfile, "--config-file",
                os.path.join(self.tmp, "daemon.json"), "-D"] + self.extra_args

    def start(self, timeout=20):
        if not os.path.exists(os.path.join(self.tmp, "daemon.json")):
            with open(os.path.join(self.tmp, "daemon.json"), "w") as f:
                f.write("{}\n")
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                st, _, _ = self.request("GET", "/_ping", timeout=2)
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("berthd did not answer /_ping in %ss:\n%s" % (timeout, self.log()))

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("berthd did not stop on SIGTERM in %ss:\n%s" % (timeout, self.log()))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, body=None):
        hdrs = {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        st, _, data = self.request(method, path, body, hdrs)
        return st, (json.loads(data) if data.strip() else None)

    def docker(self, *args, input=None, check=True, timeout=60):
        p = subprocess.run([DOCKER] + list(args), env=self.env, input=input,
                           capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("docker %s failed (%d): %s\n--- berthd log ---\n%s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace"), self.log()[-4000:]))
        return p

    def client(self):
        import docker
        return docker.DockerClient(base_url=self.host, version="auto", timeout=60)

    def cleanup(self):
        self.kill()
        _kill_leftovers(self.tmp, self.exec_root)
        subprocess.run(["umount", "-R", "-l", self.exec_root], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _kill_leftovers(tmp, exec_root):
    """Shims survive berthd by design (and block SIGTERM): a test's daemon
    is gone, so end its containers (their init's pid from the runtime state)
    and then its shims (processes whose command line names TMP), by pid."""
    rt = os.path.join(exec_root, "runtime")
    for cid in os.listdir(rt) if os.path.isdir(rt) else []:
        try:
            with open(os.path.join(rt, cid, "state.json")) as f:
                st = json.load(f)
            pid = st.get("pid", 0)
            with open("/proc/%d/stat" % pid) as f:
                start = int(f.read().rsplit(")", 1)[1].split()[19])
            if pid > 0 and start == st.get("pid_start"):  # not a reused pid
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % ent, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"berth-shim") and any(tmp.encode() in a for a in argv):
            try:
                os.kill(int(ent), signal.SIGKILL)
            except OSError:
                pass


def _skip_if_unbuilt():
    if not os.access(BERTHD, os.X_OK):
        pytest.skip("berthd not built (%s)" % BERTHD)


def _print_log_if_failed(request, d, failed_before):
    if request.session.testsfailed > failed_before:
        sys.stderr.write("\n--- berthd log (%s) ---\n%s\n" % (d.logfile, d.log()[-20000:]))


@pytest.fixture(scope="module")
def _module_berthd():
    _skip_if_unbuilt()
    d = Berthd()
    try:
        d.start()
        load_busybox(d, "busybox:latest")
        st, _, body = d.request("POST", "/v1.41/images/busybox:latest/tag?repo=busybox&tag=local")
        assert st == 201, body
        yield d
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()


@pytest.fixture
def berthd(_module_berthd, request):
    before = request.session.testsfailed
    if _module_berthd.proc.poll() is not None:
        _module_berthd.start()
    yield _module_berthd
    _print_log_if_failed(request, _module_berthd, before)


@pytest.fixture
def berthd_factory(request):
    _skip_if_unbuilt()
    made = []
    before = request.session.testsfailed

    def make(*extra_args, busybox=True, start=True):
        d = Berthd(extra_args)
        made.append(d)
        if start:
            d.start()
            if busybox:
                load_busybox(d)
        return d

    yield make
    for d in made:
        _print_log_if_failed(request, d, before)
        try:
            d.stop()
        except Exception:
            pass
        d.cleanup()
