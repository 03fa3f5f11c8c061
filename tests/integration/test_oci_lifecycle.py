"""berth-oci: lifecycle commands (state, ps, list, exec, kill, delete) and spec/features/--log."""

import json
import os
import time

from oci_util import IS_BERTH, ConsoleSocket, processes_in, schema_validator


def alive(pid):
    """True if PID exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_file(path, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read()
        time.sleep(0.02)
    raise AssertionError(f"{path} never written")


def test_state_schema_and_transitions(bundle):
    """Feature: `state` validates against state-schema.json; created -> running -> stopped."""
    v = schema_validator("state-schema.json")
    bundle.sh("sleep 0.3")
    assert bundle.create().ok
    st = bundle.state()
    v.validate(st)
    assert st["status"] == "created" and st["id"] == bundle.id
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.dir)
    assert st["pid"] > 0 and os.path.exists(f"/proc/{st['pid']}")
    assert bundle.start().ok
    st = bundle.state()
    v.validate(st)
    assert st["status"] == "running"
    st = bundle.wait_stopped()
    v.validate(st)
    assert st["status"] == "stopped"
    assert bundle.delete().ok
    assert not bundle.rt("state", bundle.id).ok


def test_pid_file_and_run_detach(bundle):
    """Feature: --pid-file and `run --detach`."""
    bundle.sh("exec sleep 30")
    pidfile = os.path.join(bundle.dir, "pid")
    r = bundle.run(None, "--detach", "--pid-file", pidfile)
    assert r.ok, r
    with open(pidfile) as f:
        pid = int(f.read().strip())
    st = bundle.state()
    assert st["status"] == "running" and st["pid"] == pid
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"30"]


def test_ps_lists_pids(bundle):
    """Feature: `ps --format json` lists the container's pids."""
    bundle.run_detached("sleep 30 & exec sleep 31")
    pid = bundle.state()["pid"]
    time.sleep(0.1)
    r = bundle.ps("--format", "json")
    assert r.ok, r
    pids = json.loads(r.out)
    assert pid in pids and len(pids) == 2
    for p in pids:
        with open(f"/proc/{p}/cmdline", "rb") as f:
            assert f.read().startswith(b"sleep\0")


def test_list_shows_container(bundle):
    """Feature: `list --format json` shows the container with its status."""
    bundle.run_detached("exec sleep 30")
    r = bundle.rt("list", "--format", "json")
    assert r.ok, r
    entries = json.loads(r.out)
    mine = [e for e in entries if e["id"] == bundle.id]
    assert len(mine) == 1 and mine[0]["status"] == "running"
    assert mine[0]["pid"] == bundle.state()["pid"]
    r = bundle.rt("list", "--quiet")
    assert r.ok and r.out.split() == [bundle.id], r


def test_exec_inline(bundle):
    """Feature: `exec` into a running container (same namespaces; --env, --cwd, --user)."""
    bundle.config["hostname"] = "exec-host"
    bundle.run_detached("exec sleep 30")
    r = bundle.exec(["sh", "-c", "hostname; echo $$; echo V=$V; pwd; id -u; id -g; "
                     "cat /proc/net/dev | wc -l"],
                    "--env", "V=from-exec", "--cwd", "/tmp", "--user", "1000:1000")
    assert r.ok, r
    lines = r.out.split()
    assert lines[0] == "exec-host"
    assert int(lines[1]) > 1  # in the container's pid namespace, not pid 1
    assert lines[2:6] == ["V=from-exec", "/tmp", "1000", "1000"]
    assert lines[6] == "3"  # header lines + lo: the container's netns


def test_exec_process_file(bundle):
    """Feature: `exec --process FILE` with a full process JSON."""
    bundle.run_detached("exec sleep 30")
    proc = dict(bundle.config["process"])
    proc.update({"args": ["sh", "-c", "echo $P; cat /proc/self/oom_score_adj"],
                 "env": ["PATH=/bin", "P=from-file"], "cwd": "/"})
    pf = os.path.join(bundle.dir, "process.json")
    with open(pf, "w") as f:
        json.dump(proc, f)
    r = bundle.exec([], "--process", pf)
    assert r.ok, r
    assert r.out.split()[0] == "from-file"


def test_exec_exit_status(bundle):
    """Feature: `exec` returns the process's exit status."""
    bundle.run_detached("exec sleep 30")
    r = bundle.exec(["sh", "-c", "exit 7"])
    assert r.rc == 7, r


def test_exec_tty(bundle):
    """Feature: `exec --tty` with a console socket."""
    bundle.run_detached("exec sleep 30")
    cs = ConsoleSocket(os.path.join(bundle.dir, "exec.sock"))
    try:
        r = bundle.exec(["sh", "-c", "tty; echo EXEC$((6*7)); exit 0"], "--tty", "--detach",
                        "--console-socket", cs.path)
        assert r.ok, r
        cs.receive()
        buf = cs.read_until(b"EXEC42")
        assert b"EXEC42" in buf, buf
        assert b"/dev/pts/" in buf
    finally:
        cs.close()


def test_kill_signal_name_and_number(bundle):
    """Feature: `kill` with a signal name and with a number."""
    bundle.run_detached("trap 'echo got-usr1 >> /tmp/sig' USR1; trap 'echo got-term >> /tmp/sig;"
                        " exit 3' TERM; echo ready > /tmp/ready; while true; do usleep 20000; "
                        "done")
    wait_file(os.path.join(bundle.rootfs, "tmp", "ready"))
    r = bundle.kill("10")
    assert r.ok, r
    sig = os.path.join(bundle.rootfs, "tmp", "sig")
    assert wait_file(sig) == "got-usr1\n"
    r = bundle.kill("SIGTERM")
    assert r.ok, r
    assert bundle.wait_stopped()["status"] == "stopped"
    with open(sig) as f:
        assert f.read() == "got-usr1\ngot-term\n"


def test_kill_all(bundle):
    """Feature: `kill --all` signals every process of the container."""
    bundle.run_detached("sleep 30 & sleep 31 & exec sleep 32")
    time.sleep(0.1)
    pids = json.loads(bundle.ps("--format", "json").out)
    assert len(pids) == 3
    r = bundle.kill("KILL", "--all")
    assert r.ok, r
    assert bundle.wait_stopped()["status"] == "stopped"
    time.sleep(0.1)
    assert [p for p in pids if alive(p)] == []


def test_delete_force_running(bundle):
    """Feature: `delete --force` of a running container (process, state and cgroup gone)."""
    bundle.run_detached("exec sleep 30")
    pid = bundle.state()["pid"]
    assert not bundle.delete().ok  # a running container needs --force
    r = bundle.delete(force=True)
    assert r.ok, r
    assert not bundle.rt("state", bundle.id).ok
    time.sleep(0.05)
    assert not alive(pid)
    assert processes_in(bundle.rootfs) == []
    assert bundle.cgroup_dirs() == []
    assert not os.path.exists(os.path.join(bundle.root, bundle.id))


def test_spec_output(bundle):
    """Feature: `spec` writes a valid config.json (schema-valid JSON)."""
    d = os.path.join(bundle.dir, "specdir")
    os.makedirs(d)
    r = bundle.rt("spec", "--bundle", d)
    assert r.ok, r
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    schema_validator("config-schema.json").validate(cfg)
    assert cfg["process"]["args"] and cfg["root"]["path"] == "rootfs"


def test_features_schema(bundle):
    """Feature: `features` validates against features-schema.json."""
    r = bundle.rt("features")
    assert r.ok, r
    feats = json.loads(r.out)
    schema_validator("features-schema.json").validate(feats)
    assert "create" not in feats  # sanity: it is the features document, not help text
    assert feats["ociVersionMin"] and feats["ociVersionMax"]
    assert "bind" in feats.get("mountOptions", []) or feats.get("linux")


def test_log_json_on_error(bundle):
    """Feature: `--log FILE --log-format json` writes JSON lines on an error."""
    log = os.path.join(bundle.dir, "log.json")
    r = bundle.rt("state", "no-such-container", log=log)
    assert not r.ok
    with open(log) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    assert lines, "nothing logged"
    assert all("msg" in rec and "level" in rec for rec in lines), lines
    assert any(rec["level"] == "error" and rec["msg"] for rec in lines), lines
    if IS_BERTH:  # Berth's messages quote the user's value
        assert any("`no-such-container`" in rec["msg"] for rec in lines), lines
