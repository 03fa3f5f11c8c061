"""berth-oci as the runtime of Debian's containerd (runc v2 shim, `ctr --runc-binary`).

The shim drives the runtime with runc's command line: create --bundle --pid-file,
start, state, kill, delete, exec --process --detach --pid-file, ps --format json,
pause, resume.  Each test asserts what the container printed or what containerd
reports about the task.

Runtime: $OCI_RUNTIME (e.g. /usr/sbin/runc, to validate the tests), else berth-oci.
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import peers

NS = "test"
IMAGE = "docker.io/library/busybox:test"

pytestmark = pytest.mark.skipif(
    shutil.which("containerd") is None or shutil.which("ctr") is None
    or shutil.which("containerd-shim-runc-v2") is None,
    reason="containerd, ctr or containerd-shim-runc-v2 not installed (make deps)")


def _config(base, tmp):
    """Rewrite `containerd config default` to live entirely in TMP, without CRI."""
    out = []
    section = ""
    for line in base.splitlines():
        s = line.strip()
        if s.startswith("["):
            section = s
        key = s.split("=", 1)[0].strip() if "=" in s else ""
        if section == "" and key == "disabled_plugins":
            line = 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
        elif section == "" and key == "root":
            line = 'root = "%s/root"' % tmp
        elif section == "" and key == "state":
            line = 'state = "%s/state"' % tmp
        elif section == "[grpc]" and key == "address":
            line = '  address = "%s/containerd.sock"' % tmp
        elif section == "[ttrpc]" and key == "address":
            line = '  address = "%s/containerd.sock.ttrpc"' % tmp
        elif section == '[plugins."io.containerd.internal.v1.opt"]' and key == "path":
            line = '    path = "%s/opt"' % tmp
        out.append(line)
    return "\n".join(out) + "\n"


class Containerd:
    def __init__(self, tmp):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "containerd.sock")
        # The shim runs a wrapper that logs each runtime command line, so the
        # tests can check that the runtime under test was driven, and how.
        self.calls = os.path.join(tmp, "runtime-calls.log")
        self.rt = peers.logging_wrapper(peers.runtime_binary(),
                                        os.path.join(tmp, "runtime-wrapper"), self.calls)
        base = peers.run(["containerd", "config", "default"]).stdout
        self.conf = os.path.join(tmp, "config.toml")
        with open(self.conf, "w") as f:
            f.write(_config(base, tmp))
        self.log = open(os.path.join(tmp, "containerd.log"), "w")
        self.proc = subprocess.Popen(
            ["containerd", "--config", self.conf, "--log-level", "debug"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        peers.wait_for(lambda: self.proc.poll() is not None or
                       self.ctr("version", check=False).returncode == 0,
                       timeout=30, what="containerd to answer on its socket")
        assert self.proc.poll() is None, "containerd exited:\n" + self.logtext()

    def ctr(self, *args, check=True, timeout=30):
        return peers.run(["ctr", "-a", self.sock, "-n", NS] + list(args),
                         check=check, timeout=timeout)

    def logtext(self):
        self.log.flush()
        with open(os.path.join(self.tmp, "containerd.log")) as f:
            return f.read()[-6000:]

    def runtime_verbs(self, cid):
        """The runtime subcommands the shim ran for container CID, in order."""
        return peers.runtime_verbs(self.calls, cid)

    def task_status(self, cid):
        out = self.ctr("task", "ls").stdout
        for line in out.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return int(f[1]), f[2]
        return None

    def remove(self, cid):
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=False, timeout=10)
        self.ctr("task", "delete", "-f", cid, check=False, timeout=10)
        self.ctr("container", "delete", cid, check=False, timeout=10)

    def stop(self):
        try:
            for line in self.ctr("container", "ls", "-q", check=False,
                                 timeout=10).stdout.split():
                self.remove(line)
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.log.close()
            # Shims and runtime processes name our temp dir on their command line.
            peers.kill_pids_with_arg(self.tmp)
            peers.unmount_under(self.tmp)


@pytest.fixture(scope="module")
def ctrd():
    tmp = tempfile.mkdtemp(prefix="berth-ctrd-")
    d = None
    try:
        d = Containerd(tmp)
        rootfs = peers.make_busybox_rootfs(os.path.join(tmp, "busybox"))
        archive = peers.make_image_archive(rootfs, os.path.join(tmp, "busybox.tar"), IMAGE)
        d.ctr("images", "import", "--no-unpack" if False else "--all-platforms", archive)
        assert IMAGE in d.ctr("images", "ls", "-q").stdout
        yield d
    finally:
        if d is not None:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def cid(ctrd, request):
    name = "c-%s-%d" % (request.node.name.replace("_", "-")[:30], os.getpid())
    yield name
    ctrd.remove(name)


def _run_rm(ctrd, cid, *cmd, check=True):
    return ctrd.ctr("run", "--rm", "--runc-binary", ctrd.rt, IMAGE, cid, *cmd,
                    check=check)


def test_run_prints_and_drops_caps(ctrd, cid):
    p = _run_rm(ctrd, cid, "sh", "-c",
                "echo hello; grep CapEff /proc/self/status; hostname; echo pid=$$")
    lines = p.stdout.splitlines()
    assert lines[0] == "hello", p.stdout + p.stderr
    # containerd's default spec: the 14 default capabilities = 0xa80425fb.
    assert re.search(r"^CapEff:\s+00000000a80425fb$", p.stdout, re.M), p.stdout
    assert "pid=1" in lines, p.stdout
    # --rm: nothing left behind.
    assert cid not in ctrd.ctr("container", "ls", "-q").stdout.split()


def test_run_exit_status(ctrd, cid):
    p = _run_rm(ctrd, cid, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert p.returncode == 7, p.stdout + p.stderr
    assert "out" in p.stdout
    assert "err" in p.stderr


def test_detached_task_lifecycle(ctrd, cid):
    ctrd.ctr("run", "-d", "--runc-binary", ctrd.rt, IMAGE, cid, "sleep", "300")
    pid, status = peers.wait_for(lambda: ctrd.task_status(cid), what="task in `ctr task ls`")
    assert status == "RUNNING"
    assert pid > 0 and os.path.exists("/proc/%d" % pid)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"

    # exec: runtime `exec --process FILE --detach --pid-file`.
    p = ctrd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                 "echo from-exec; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                 "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt")
    out = p.stdout.splitlines()
    assert out[0] == "from-exec", p.stdout + p.stderr
    assert out[1].strip() == "sleep 300"
    # The exec joined the task's namespaces, not the host's.
    assert out[2] == os.readlink("/proc/%d/ns/pid" % pid) != os.readlink("/proc/self/ns/pid")
    assert out[3] == os.readlink("/proc/%d/ns/mnt" % pid) != os.readlink("/proc/self/ns/mnt")

    p = ctrd.ctr("task", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 5", check=False)
    assert p.returncode == 5, p.stdout + p.stderr

    # ps: runtime `ps --format json`.
    p = ctrd.ctr("task", "ps", cid)
    pids = [int(l.split()[0]) for l in p.stdout.splitlines()[1:] if l.strip()]
    assert pid in pids, p.stdout

    # pause / resume: runtime `pause`, `resume`.
    ctrd.ctr("task", "pause", cid)
    assert peers.wait_for(lambda: ctrd.task_status(cid)[1] == "PAUSED", what="PAUSED")
    ctrd.ctr("task", "resume", cid)
    assert peers.wait_for(lambda: ctrd.task_status(cid)[1] == "RUNNING", what="RUNNING")

    # kill: runtime `kill ID SIGTERM`; sleep as pid 1 ignores SIGTERM, so use KILL.
    ctrd.ctr("task", "kill", "-s", "SIGKILL", cid)
    peers.wait_for(lambda: ctrd.task_status(cid)[1] == "STOPPED", what="STOPPED")
    assert not os.path.exists("/proc/%d" % pid) or _is_zombie_or_gone(pid)

    # delete: runtime `delete`.
    p = ctrd.ctr("task", "delete", cid)
    assert ctrd.task_status(cid) is None
    ctrd.ctr("container", "delete", cid)
    assert cid not in ctrd.ctr("container", "ls", "-q").stdout.split()

    verbs = ctrd.runtime_verbs(cid)
    for v in ("create", "start", "exec", "ps", "pause", "resume", "kill", "delete"):
        assert v in verbs, verbs
    assert verbs.index("create") < verbs.index("start") < verbs.index("exec")
    assert verbs[-1] == "delete", verbs


def test_exec_in_stopped_task_fails(ctrd, cid):
    ctrd.ctr("run", "-d", "--runc-binary", ctrd.rt, IMAGE, cid, "sh", "-c", "exit 0")
    peers.wait_for(lambda: (ctrd.task_status(cid) or (0, ""))[1] == "STOPPED",
                   what="task to stop")
    p = ctrd.ctr("task", "exec", "--exec-id", "e1", cid, "true", check=False)
    assert p.returncode != 0


def _is_zombie_or_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True
