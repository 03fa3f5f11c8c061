"""Issue 4's remaining gaps, end to end through a real berthd:
 - restart policies after a "reboot" (daemon, shims and containers all dead),
 - Docker's restart back-off (100 ms doubling),
 - --privileged (host devices, all capabilities, writable /sys, mount works),
 - docker cp on a container that was created but never started."""

import io
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest

from daemon_fixtures import berthd, berthd_factory, _module_berthd  # noqa: F401
from daemon_fixtures import docker_text as docker, wait_for
from daemon_fixtures import inspect_container as inspect, remove_container as rm


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def shim_pid(d, cid):
    """The shim's pid, as the engine recorded it in the container's state."""
    with open(os.path.join(d.data_root, "containers", cid, "config.v2.json")) as f:
        return json.load(f).get("ShimPid", 0)


def unmount_under(top):
    """Detach every mount at or below TOP (deepest first), as a reboot would."""
    with open("/proc/self/mountinfo") as f:
        points = [l.split()[4] for l in f]
    points = [p for p in points if p == top or p.startswith(top.rstrip("/") + "/")]
    for p in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


# ---- 1. restart policies after a reboot ----

def test_restart_policies_after_reboot(berthd_factory):
    d = berthd_factory()
    names = {"rb-always": ["--restart", "always"],
             "rb-unless": ["--restart", "unless-stopped"],
             "rb-no": ["--restart", "no"],
             "rb-unless-stopped": ["--restart", "unless-stopped"]}
    for n, opts in names.items():
        docker(d, "run", "-d", "--name", n, *opts, "busybox", "sleep", "1000")
    docker(d, "stop", "-t", "1", "rb-unless-stopped")
    before = {n: inspect(d, n) for n in names}
    assert before["rb-unless-stopped"]["State"]["Running"] is False

    # The "reboot": the daemon, every shim and every container process die.
    d.kill()
    victims = []
    for n in ("rb-always", "rb-unless", "rb-no"):
        doc = before[n]
        assert doc["State"]["Running"] is True
        victims += [doc["State"]["Pid"], shim_pid(d, doc["Id"])]
    for pid in victims:
        assert pid > 0
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_for(lambda: not any(pid_alive(p) for p in victims), timeout=10)

    d.start()
    for n in ("rb-always", "rb-unless"):
        assert wait_for(lambda: inspect(d, n)["State"]["Running"], timeout=15), n
        doc = inspect(d, n)
        assert doc["State"]["Pid"] != before[n]["State"]["Pid"]
        assert (doc["RestartCount"] > before[n]["RestartCount"] or
                doc["State"]["StartedAt"] != before[n]["State"]["StartedAt"])
        # It really runs: exec works in it.
        assert docker(d, "exec", n, "echo", "back").stdout == "back\n"
    time.sleep(1)
    for n in ("rb-no", "rb-unless-stopped"):
        doc = inspect(d, n)
        assert doc["State"]["Running"] is False, n
        assert doc["State"]["Status"] == "exited", n
    for n in names:
        rm(d, n)


def test_restart_policies_after_reboot_with_empty_exec_root(berthd_factory):
    """A real reboot also empties /run (the exec root: bundles, shim sockets,
    runtime state) and drops the rootfs mounts."""
    d = berthd_factory()
    docker(d, "run", "-d", "--name", "rr-always", "--restart", "always", "busybox", "sleep", "1000")
    docker(d, "run", "-d", "--name", "rr-no", "busybox", "sleep", "1000")
    docs = {n: inspect(d, n) for n in ("rr-always", "rr-no")}
    d.kill()
    victims = []
    for doc in docs.values():
        victims += [doc["State"]["Pid"], shim_pid(d, doc["Id"])]
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_for(lambda: not any(pid_alive(p) for p in victims), timeout=10)
    unmount_under(d.exec_root)
    subprocess.run(["rm", "-rf", d.exec_root], check=True)

    d.start()
    assert wait_for(lambda: inspect(d, "rr-always")["State"]["Running"], timeout=15)
    assert docker(d, "exec", "rr-always", "cat", "/proc/1/cmdline").stdout.startswith("sleep")
    assert inspect(d, "rr-no")["State"]["Running"] is False
    # Its filesystem is there for cp while it stays down.
    p = d.docker("cp", "rr-no:/etc/passwd", "-")
    names = tarfile.open(fileobj=io.BytesIO(p.stdout)).getnames()
    assert names == ["passwd"], names
    # The container that did not come back can be started by hand.
    docker(d, "start", "rr-no")
    assert inspect(d, "rr-no")["State"]["Running"] is True
    rm(d, "rr-always")
    rm(d, "rr-no")


# ---- 2. back-off ----

def test_restart_backoff_doubles(berthd):
    """A container that fails at once with on-failure: Docker waits 100 ms,
    then 200, 400, 800... between restarts. The start events' times show it.
    (The events are filtered by container: the replay is what is tested.)"""
    name = "gap-backoff"
    rm(berthd, name)
    t0 = time.time()
    docker(berthd, "run", "-d", "--name", name, "--restart", "on-failure:5", "busybox",
           "sh", "-c", "exit 3")
    events = []
    assert wait_for(lambda: inspect(berthd, name)["State"]["Status"] == "exited" and
                    inspect(berthd, name)["RestartCount"] == 5, timeout=30)
    time.sleep(0.5)  # the last start's event may trail its exit
    doc = inspect(berthd, name)
    assert doc["State"]["ExitCode"] == 3 and doc["State"]["Status"] == "exited"
    assert doc["RestartCount"] == 5
    st, _, body = berthd.request(
        "GET", "/v1.41/events?since=%.3f&until=%.3f&filters=%s" % (
            t0 - 1, time.time() + 0.5, '{"container":["%s"],"event":["start"]}' % name),
        timeout=10)
    assert st == 200
    for line in body.decode().splitlines():
        if line.strip():
            events.append(json.loads(line))
    starts = [e["timeNano"] / 1e9 for e in events if e.get("Action", e.get("status")) == "start"]
    assert len(starts) == 6, events
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # 100, 200, 400, 800, 1600 ms plus the run time of a failing container.
    # Each gap is at least its delay and the gaps grow.
    for i, g in enumerate(gaps):
        assert g >= 0.1 * (2 ** i) * 0.95, gaps
    assert gaps[-1] > 3 * gaps[0], gaps
    assert gaps[4] >= 1.5, gaps
    rm(berthd, name)


# ---- 3. --privileged ----

def test_privileged_devices_caps_mount(berthd):
    p = docker(berthd, "run", "--rm", "--privileged", "busybox", "ls", "/dev")
    devs = p.stdout.split()
    host = set(os.listdir("/dev"))
    for want in ("kmsg", "mem", "loop-control"):
        if want in host:
            assert want in devs, devs
    # A device node that is really usable (device cgroup allows it).
    p = docker(berthd, "run", "--rm", "--privileged", "busybox", "sh", "-c",
               "head -c 16 /dev/urandom | wc -c; dd if=/dev/mem of=/dev/null bs=1 count=1 2>&1 "
               "| grep -c 'Operation not permitted' || true")
    assert p.stdout.split()[0] == "16"
    # Without --privileged: no /dev/mem, no /dev/kmsg.
    p = docker(berthd, "run", "--rm", "busybox", "ls", "/dev")
    assert "mem" not in p.stdout.split() and "kmsg" not in p.stdout.split()

    p = docker(berthd, "run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status")
    with open("/proc/self/status") as f:
        host_eff = [l for l in f if l.startswith("CapEff")][0].split()[1]
    assert p.stdout.split()[1] == host_eff

    p = docker(berthd, "run", "--rm", "--privileged", "busybox", "sh", "-c",
               "mkdir -p /mnt && mount -t tmpfs none /mnt && touch /mnt/x && grep ' /mnt ' /proc/mounts && "
               "grep Seccomp: /proc/self/status && grep ' /sys ' /proc/mounts")
    assert " /mnt tmpfs" in p.stdout
    assert "Seccomp:\t0" in p.stdout
    sysline = [l for l in p.stdout.splitlines() if " /sys " in l][0]
    assert sysline.split()[3].startswith("rw"), sysline
    # No masked paths: /proc/kcore is not bind-mounted over with /dev/null.
    p = docker(berthd, "run", "--rm", "--privileged", "busybox", "sh", "-c",
               "grep -c -E ' /proc/(kcore|keys|timer_list) ' /proc/mounts || true")
    assert p.stdout.strip() == "0"
    p = docker(berthd, "run", "--rm", "busybox", "sh", "-c",
               "grep -c -E ' /proc/(kcore|keys|timer_list) ' /proc/mounts || true")
    assert p.stdout.strip() != "0"


def test_privileged_docker_py(berthd):
    c = berthd.client()
    out = c.containers.run("busybox", ["sh", "-c", "test -c /dev/kmsg && echo yes"],
                           privileged=True, remove=True)
    assert out == b"yes\n"


# ---- 5. cp on a created container ----

def test_cp_created_container(berthd, tmp_path):
    name = "gap-cp-created"
    rm(berthd, name)
    docker(berthd, "create", "--name", name, "busybox", "cat", "/hello.txt")
    src = tmp_path / "hello.txt"
    src.write_text("hello from cp\n")
    docker(berthd, "cp", str(src), name + ":/hello.txt")
    dst = tmp_path / "out"
    dst.mkdir()
    docker(berthd, "cp", name + ":/hello.txt", str(dst))
    assert (dst / "hello.txt").read_text() == "hello from cp\n"
    docker(berthd, "cp", name + ":/etc/passwd", str(dst))
    assert (dst / "passwd").read_text().startswith("root:")
    # The copied file is in the container's filesystem when it starts.
    docker(berthd, "start", name)
    assert wait_for(lambda: inspect(berthd, name)["State"]["Status"] == "exited")
    assert docker(berthd, "logs", name).stdout == "hello from cp\n"
    rm(berthd, name)


def test_cp_created_container_docker_py(berthd):
    c = berthd.client()
    name = "gap-cp-created-py"
    rm(berthd, name)
    ctr = c.containers.create("busybox", ["true"], name=name)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"via put_archive\n"
        ti = tarfile.TarInfo("put.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    assert ctr.put_archive("/tmp", buf.getvalue())
    bits, stat = ctr.get_archive("/tmp/put.txt")
    assert stat["name"] == "put.txt" and stat["size"] == 16
    tf = tarfile.open(fileobj=io.BytesIO(b"".join(bits)))
    assert tf.extractfile("put.txt").read() == b"via put_archive\n"
    # Export of a never-started container works too.
    out = b"".join(ctr.export())
    names = tarfile.open(fileobj=io.BytesIO(out)).getnames()
    assert any(n.lstrip("./") == "tmp/put.txt" for n in names)
    ctr.remove()
    # The copy left no mount behind.
    with open("/proc/self/mountinfo") as f:
        assert ctr.id not in f.read()
