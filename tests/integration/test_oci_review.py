"""berth-oci: defects found in review of the runtime (hooks, failed creates, kill, delete)."""

import json
import os
import time

import pytest

from oci_util import IS_BERTH, leftovers


def create_fails(bundle, *needles):
    r = bundle.create(timeout=30)
    assert r.rc not in (0, "timeout"), r
    for n in needles:
        assert n in r.err, (n, r)
    assert leftovers(bundle) == [], r
    assert not bundle.rt("state", bundle.id).ok
    return r


def test_hook_gets_whole_big_state(bundle):
    """A hook that reads its stdin late still gets the whole state, however big (a 2 MiB
    annotation is more than a socket buffer)."""
    big = "x" * (2 * 1024 * 1024)
    out = os.path.join(bundle.dir, "hook-state.json")
    bundle.config["annotations"] = {"big": big}
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"sleep 0.3; cat > {out}"]}]}
    bundle.sh("true")
    r = bundle.create(timeout=30)
    assert r.ok, r
    with open(out) as f:
        state = json.load(f)
    assert state["id"] == bundle.id
    assert state["annotations"]["big"] == big


def test_hook_that_ignores_big_state(bundle):
    """A hook that never reads its stdin and exits 0 does not block or fail create."""
    bundle.config["annotations"] = {"big": "y" * (2 * 1024 * 1024)}
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/true"}]}
    bundle.sh("true")
    t0 = time.monotonic()
    r = bundle.create(timeout=30)
    assert r.ok, r
    assert time.monotonic() - t0 < 10


def test_failing_create_runtime_hook_leaves_nothing(bundle):
    """A createRuntime hook that exits 3 fails create naming the hook; nothing is left."""
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    bundle.sh("true")
    r = create_fails(bundle)
    assert "createRuntime" in r.err and "3" in r.err, r


def test_bad_seccomp_profile_leaves_nothing(bundle):
    """A seccomp profile naming an unknown syscall action fails create; nothing is left."""
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NO_SUCH_ACTION"}]}
    bundle.sh("true")
    create_fails(bundle)


def test_failing_cgroup_write_leaves_nothing(bundle):
    """A cgroup limit the kernel refuses (cpuset.cpus of a CPU that does not exist) fails
    create; the cgroup and the state dir are gone."""
    bundle.config["linux"]["resources"]["cpu"] = {"cpus": "4000-4001"}
    bundle.sh("true")
    create_fails(bundle)


def test_delete_force_paused(bundle):
    """delete --force of a paused container kills it, thaws the freezer and removes all."""
    bundle.run_detached("sleep 100")
    r = bundle.pause()
    assert r.ok, r
    assert bundle.state()["status"] == "paused"
    t0 = time.monotonic()
    r = bundle.delete(force=True)
    assert r.ok, r
    assert time.monotonic() - t0 < 8
    assert leftovers(bundle) == []


def test_kill_all_paused_sigterm_then_resume(bundle):
    """kill --all TERM of a paused container queues the signal; resume delivers it (the
    init, pid 1 without a handler, ignores TERM: its child dies, then it exits)."""
    bundle.run_detached("sleep 100 & wait")
    assert bundle.pause().ok
    r = bundle.kill("TERM", "--all")
    assert r.ok, r
    assert bundle.state()["status"] == "paused"
    assert bundle.resume().ok
    st = bundle.wait_stopped(5)
    assert st["status"] == "stopped", st


@pytest.mark.skipif(not IS_BERTH, reason="berth-oci's own message")
def test_state_of_reaped_init_is_stopped(bundle):
    """An init that exited (and was reaped by its parent) is reported stopped with pid 0."""
    bundle.run_detached("exit 0")
    st = bundle.wait_stopped(5)
    assert st["status"] == "stopped" and st["pid"] == 0, st
    r = bundle.kill("TERM")
    assert not r.ok and "not running" in r.err, r


def test_pid_file_in_missing_dir_leaves_nothing(bundle):
    """--pid-file in a directory that does not exist fails create after the init exists;
    the init, its cgroup and the state dir are gone."""
    bundle.sh("sleep 100")
    bundle.write_config()
    r = bundle.rt("create", "--bundle", bundle.dir, "--pid-file",
                  os.path.join(bundle.dir, "no-such-dir", "pid"), bundle.id)
    assert r.rc not in (0, "timeout"), r
    assert "no-such-dir" in r.err, r
    assert leftovers(bundle) == [], r


def test_bad_uid_mapping_leaves_nothing(bundle):
    """A uid mapping the kernel refuses (overlapping ranges) fails create; nothing is left."""
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536},
        {"containerID": 10, "hostID": 200000, "size": 10}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.sh("true")
    r = create_fails(bundle)
    assert "uidMappings" in r.err, r


def test_missing_console_socket_leaves_nothing(bundle):
    """--console-socket naming a socket that does not exist fails create; nothing is left."""
    bundle.config["process"]["terminal"] = True
    bundle.sh("true")
    bundle.write_config()
    path = os.path.join(bundle.dir, "no-such.sock")
    r = bundle.rt("create", "--bundle", bundle.dir, "--console-socket", path, bundle.id)
    assert r.rc not in (0, "timeout"), r
    assert "no-such.sock" in r.err, r
    assert leftovers(bundle) == [], r


def test_container_hooks_get_whole_big_state(bundle):
    """createContainer and startContainer hooks (run by the init) get the whole state even
    when the annotations are bigger than one sync message (64 KiB)."""
    big = "z" * (200 * 1024)
    out_cc = os.path.join(bundle.dir, "cc.json")
    out_sc = os.path.join(bundle.dir, "sc.json")
    bundle.config["annotations"] = {"big": big}
    # The hooks run in the container's mount namespace before pivot_root: the host's
    # /bin/sh and the bundle dir are still visible there.
    bundle.config["hooks"] = {
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out_cc}"]}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /sc.json"]}]}
    bundle.sh("true")
    r = bundle.create(timeout=30)
    assert r.ok, r
    with open(out_cc) as f:
        assert json.load(f)["annotations"]["big"] == big
    r = bundle.start()
    assert r.ok, r
    with open(os.path.join(bundle.rootfs, "sc.json")) as f:
        st = json.load(f)
    assert st["annotations"]["big"] == big and st["status"] == "created", st


@pytest.mark.skipif(not IS_BERTH, reason="berth-oci's own terminal relay")
def test_foreground_terminal_closed_does_not_spin(bundle):
    """`run` with process.terminal relays the pty itself; once the process closes its
    terminal (but runs on), the relay must wait, not spin on the hung-up master."""
    import resource
    bundle.config["process"]["terminal"] = True
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = bundle.run(["sh", "-c", "exec </dev/null >/dev/null 2>&1; sleep 2"], timeout=20)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.rc == 0, r
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.5, f"the runtime burnt {cpu:.2f}s of CPU while the process slept 2s"
