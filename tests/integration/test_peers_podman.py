"""berth-oci as podman's OCI runtime (`podman --runtime`), driven through conmon.

Podman runs in its own --root/--runroot/tmpdir with a private containers.conf
(CONTAINERS_CONF): cgroupfs manager, file events, k8s-file logs, no network, and
default_ulimits below the hard limits (root here lacks CAP_SYS_RESOURCE, so the usual
nofile=1048576 cannot be set).

Runtime: $OCI_RUNTIME (e.g. /usr/sbin/runc, to validate the tests), else berth-oci.
"""

import os
import re
import shutil
import tempfile

import pytest

import peers

IMAGE = "localhost/busybox:test"

pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None or shutil.which("conmon") is None,
    reason="podman or conmon not installed (make deps)")

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
default_capabilities = ["CHOWN", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"]
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{tmp}/events.log"
tmp_dir = "{tmp}/tmp"
volume_path = "{tmp}/volumes"
"""


class Podman:
    def __init__(self, tmp):
        self.tmp = tmp
        self.calls = os.path.join(tmp, "runtime-calls.log")
        self.rt = peers.logging_wrapper(peers.runtime_binary(),
                                        os.path.join(tmp, "runtime-wrapper"), self.calls)
        conf = os.path.join(tmp, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF.format(tmp=tmp))
        storage_conf = os.path.join(tmp, "storage.conf")
        with open(storage_conf, "w") as f:
            f.write('[storage]\ndriver = "overlay"\nrunroot = "%s/run"\ngraphroot = "%s/root"\n'
                    % (tmp, tmp))
        self.env = dict(os.environ, CONTAINERS_CONF=conf,
                        CONTAINERS_STORAGE_CONF=storage_conf,
                        CONTAINERS_REGISTRIES_CONF=os.path.join(tmp, "registries.conf"),
                        XDG_RUNTIME_DIR=os.path.join(tmp, "xdg"))
        with open(os.path.join(tmp, "registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\n")
        os.makedirs(os.path.join(tmp, "xdg"), mode=0o700)

    def podman(self, *args, check=True, timeout=60):
        cmd = ["podman", "--runtime", self.rt, "--root", self.tmp + "/root",
               "--runroot", self.tmp + "/run", "--tmpdir", self.tmp + "/tmp",
               "--cgroup-manager", "cgroupfs", "--events-backend", "file",
               "--storage-driver", "overlay"] + list(args)
        return peers.run(cmd, check=check, timeout=timeout, env=self.env)

    def runtime_verbs(self, cid):
        return peers.runtime_verbs(self.calls, cid)

    def stop(self):
        try:
            self.podman("rm", "-a", "-f", "-t", "0", check=False, timeout=30)
            # Unmounts overlay layers and the storage itself.
            self.podman("system", "reset", "-f", check=False, timeout=30)
        finally:
            # conmon and runtime processes name our temp dir on their command line.
            peers.kill_pids_with_arg(self.tmp)
            peers.unmount_under(self.tmp)


@pytest.fixture(scope="module")
def pm():
    tmp = tempfile.mkdtemp(prefix="berth-podman-")
    p = None
    try:
        p = Podman(tmp)
        rootfs = peers.make_busybox_rootfs(os.path.join(tmp, "busybox"))
        archive = peers.make_image_archive(rootfs, os.path.join(tmp, "busybox.tar"), IMAGE)
        p.podman("load", "-i", archive)
        assert IMAGE in p.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        yield p
    finally:
        if p is not None:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_run_rm_echo(pm):
    p = pm.podman("run", "--rm", "--network", "none", IMAGE, "echo", "hi")
    assert p.stdout == "hi\n", p.stdout + p.stderr
    assert pm.podman("ps", "-a", "-q").stdout.strip() == ""


def test_run_isolation_and_limits(pm):
    p = pm.podman("run", "--rm", "--network", "none", "--hostname", "boxy",
                  "--pids-limit", "77", IMAGE, "sh", "-c",
                  "hostname; echo pid=$$; grep CapEff /proc/self/status; ulimit -n; ulimit -u; "
                  "cat /sys/fs/cgroup/pids/pids.max; ls /sys/class/net")
    out = p.stdout.splitlines()
    assert out[0] == "boxy", p.stdout + p.stderr
    assert out[1] == "pid=1"
    # default_capabilities of our containers.conf: bits 0, 5, 6, 7, 10.
    assert re.match(r"CapEff:\s+00000000000004e1$", out[2]), out[2]
    assert out[3] == "1024"  # default_ulimits from our containers.conf
    assert out[4] == "4096"
    assert out[5] == "77"  # --pids-limit, seen through the container's cgroup
    assert out[6:] == ["lo"]


def test_run_exit_status(pm):
    p = pm.podman("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "exit 9",
                  check=False)
    assert p.returncode == 9, p.stdout + p.stderr


def test_detached_exec_stop_rm(pm):
    name = "berth-pm-%d" % os.getpid()
    try:
        cid = pm.podman("run", "-d", "--name", name, "--network", "none", IMAGE,
                        "sleep", "300").stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
        st = pm.podman("inspect", "--format", "{{.State.Status}} {{.State.Pid}}",
                       name).stdout.split()
        assert st[0] == "running", st
        pid = int(st[1])
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert f.read().split(b"\0")[:2] == [b"sleep", b"300"]

        p = pm.podman("exec", name, "sh", "-c",
                      "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                      "readlink /proc/self/ns/pid")
        out = p.stdout.splitlines()
        assert out[0] == "in-exec", p.stdout + p.stderr
        assert out[1].strip() == "sleep 300"
        assert out[2] == os.readlink("/proc/%d/ns/pid" % pid)

        p = pm.podman("exec", name, "sh", "-c", "exit 4", check=False)
        assert p.returncode == 4, p.stdout + p.stderr

        p = pm.podman("top", name, "pid", "args")
        assert "sleep 300" in p.stdout, p.stdout

        pm.podman("stop", "-t", "1", name)
        st = pm.podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        assert st == "exited"
        assert not os.path.exists("/proc/%d/cmdline" % pid) or \
            open("/proc/%d/cmdline" % pid, "rb").read() == b""

        pm.podman("rm", name)
        assert name not in pm.podman("ps", "-a", "--format", "{{.Names}}").stdout.split()

        verbs = pm.runtime_verbs(cid)
        for v in ("create", "start", "exec", "kill", "delete"):
            assert v in verbs, verbs
        assert verbs.index("create") < verbs.index("start") < verbs.index("exec")
    finally:
        pm.podman("rm", "-f", "-t", "0", name, check=False)
