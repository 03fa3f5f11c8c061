"""`berth` (Docker's CLI over the Engine API) against a real berthd:
run/ps/logs/exec/stop/rm, inspect --format, cp both ways, events, stats,
a TTY session, and bad input with Docker's messages and exit codes."""

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import threading
import time

import pytest

from daemon_fixtures import REPO, berthd, berthd_factory, _module_berthd, wait_for  # noqa: F401


def _find_berth():
    cands = []
    if os.environ.get("BERTH_BUILD"):
        cands.append(os.path.join(os.environ["BERTH_BUILD"], "src/cli/berth"))
    cands += [os.path.join(REPO, "build-test/src/cli/berth"), os.path.join(REPO, "build/src/cli/berth")]
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return cands[0]


BERTH = _find_berth()


def berth(d, *args, input=None, timeout=60, env=None):
    e = dict(os.environ)
    e.pop("DOCKER_HOST", None)
    e["BERTH_HOST"] = d.host
    if env:
        e.update(env)
    return subprocess.run([BERTH] + list(args), input=input, capture_output=True, timeout=timeout,
                          env=e, text=True)


def ok(d, *args, **kw):
    p = berth(d, *args, **kw)
    assert p.returncode == 0, "berth %s -> %d\nstdout: %s\nstderr: %s\n--- berthd log ---\n%s" % (
        " ".join(args), p.returncode, p.stdout, p.stderr, d.log()[-3000:])
    return p


@pytest.fixture(autouse=True)
def _need_berth():
    if not os.access(BERTH, os.X_OK):
        pytest.skip("berth not built (%s)" % BERTH)


def test_run_rm_prints_output_and_returns_exit_code(berthd):
    p = ok(berthd, "run", "--rm", "busybox", "echo", "hi")
    assert p.stdout == "hi\n"
    p = berth(berthd, "run", "--rm", "busybox", "sh", "-c", "echo out1; echo err1 >&2; exit 4")
    assert p.returncode == 4
    assert p.stdout == "out1\n"
    assert p.stderr == "err1\n"
    # --rm really removed them
    assert ok(berthd, "ps", "-a", "-q").stdout == ""


def test_run_stdin_interactive(berthd):
    p = ok(berthd, "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done >&2", input="a\nb\n")
    assert p.stdout == "a\nb\n"
    assert p.stderr == "done\n"


def test_run_flags_reach_the_container(berthd):
    p = ok(berthd, "run", "--rm", "-e", "A=1", "--env", "B=two", "-u", "65534", "-w", "/tmp",
           "-h", "boxhost", "--read-only", "--tmpfs", "/scratch", "-m", "64m", "--pids-limit", "50",
           "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "busybox", "sh", "-c",
           "echo $A $B; id -u; pwd; hostname; touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs-ok")
    assert p.stdout.split("\n")[:6] == ["1 two", "65534", "/tmp", "boxhost", "ro", "tmpfs-ok"]


def test_run_d_ps_logs_exec_stop_rm(berthd):
    cid = ok(berthd, "run", "-d", "--name", "cli-web", "-l", "tier=web", "busybox", "sh", "-c",
             "echo started; while true; do echo tick; sleep 0.2; done").stdout.strip()
    try:
        assert len(cid) == 64
        table = ok(berthd, "ps").stdout.splitlines()
        assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        row = [l for l in table if l.startswith(cid[:12])]
        assert row, table
        assert "Up " in row[0] and row[0].rstrip().endswith("cli-web")
        assert '"sh -c echo started;…"' in row[0]
        # the columns line up with the header (docker's tabwriter)
        assert table[0].index("IMAGE") == row[0].index("busybox")
        assert ok(berthd, "ps", "--format", "{{.Names}}|{{.State}}|{{.Labels}}").stdout == "cli-web|running|tier=web\n"
        assert ok(berthd, "ps", "-q").stdout == cid[:12] + "\n"
        assert ok(berthd, "ps", "-q", "--no-trunc").stdout == cid + "\n"
        assert ok(berthd, "ps", "--format", "table {{.ID}}\t{{.Names}}").stdout.splitlines()[0].split() == \
            ["CONTAINER", "ID", "NAMES"]
        assert ok(berthd, "ps", "-a", "--filter", "name=cli-web", "--format", "{{.Names}}").stdout == "cli-web\n"
        assert ok(berthd, "ps", "-a", "--filter", "name=nomatch-xyz", "-q").stdout == ""

        # logs --tail and -f
        wait_for(lambda: ok(berthd, "logs", "cli-web").stdout.count("tick") >= 3)
        assert ok(berthd, "logs", "cli-web").stdout.startswith("started\ntick\n")
        assert ok(berthd, "logs", "--tail", "2", "cli-web").stdout.count("\n") == 2
        f = subprocess.Popen([BERTH, "-H", berthd.host, "logs", "-f", "--tail", "0", "cli-web"],
                             stdout=subprocess.PIPE, text=True)
        try:
            line = f.stdout.readline()
            assert line == "tick\n"
        finally:
            f.kill()
            f.wait()
        ts = ok(berthd, "logs", "-t", "--tail", "1", "cli-web").stdout
        assert ts[:4].isdigit() and "T" in ts.split()[0] and ts.rstrip().endswith("tick")

        # exec: output, exit code, stdin, env, user
        p = ok(berthd, "exec", "cli-web", "echo", "exec-hi")
        assert p.stdout == "exec-hi\n"
        p = berth(berthd, "exec", "cli-web", "sh", "-c", "exit 7")
        assert p.returncode == 7
        p = ok(berthd, "exec", "-i", "-e", "X=9", "-u", "65534", "cli-web", "sh", "-c", "cat; echo $X; id -u",
               input="in\n")
        assert p.stdout == "in\n9\n65534\n"
        assert ok(berthd, "exec", "-d", "cli-web", "sleep", "1").stdout == ""

        assert ok(berthd, "inspect", "--format", "{{.State.Status}}", "cli-web").stdout == "running\n"
        assert ok(berthd, "container", "inspect", "-f", "{{json .Config.Labels}}", "cli-web").stdout == '{"tier":"web"}\n'
        doc = json.loads(ok(berthd, "inspect", "cli-web").stdout)
        assert doc[0]["Id"] == cid and doc[0]["Name"] == "/cli-web"

        top = ok(berthd, "top", "cli-web").stdout.splitlines()
        assert top[0].split()[:3] == ["UID", "PID", "PPID"] and len(top) >= 2

        assert ok(berthd, "stop", "-t", "1", "cli-web").stdout == "cli-web\n"
        assert ok(berthd, "inspect", "-f", "{{.State.Status}}", "cli-web").stdout == "exited\n"
        status = ok(berthd, "ps", "-a", "--format", "{{.Status}}", "--filter", "name=cli-web").stdout
        assert status.startswith("Exited (") and status.rstrip().endswith("ago"), status
        assert ok(berthd, "rm", "cli-web").stdout == "cli-web\n"
        assert ok(berthd, "ps", "-a", "-q").stdout == ""
    finally:
        berth(berthd, "rm", "-f", "cli-web")


def test_create_start_attach_wait_restart_kill(berthd):
    cid = ok(berthd, "create", "--name", "cli-c", "busybox", "sh", "-c", "echo created-and-started; exit 3").stdout.strip()
    try:
        assert ok(berthd, "inspect", "-f", "{{.State.Status}}", cid).stdout == "created\n"
        p = berth(berthd, "start", "-a", "cli-c")
        assert p.returncode == 3 and p.stdout == "created-and-started\n"
        assert ok(berthd, "wait", "cli-c").stdout == "3\n"
        ok(berthd, "rm", "cli-c")
        ok(berthd, "run", "-d", "--name", "cli-c", "busybox", "sleep", "300")
        assert ok(berthd, "restart", "-t", "0", "cli-c").stdout == "cli-c\n"
        assert ok(berthd, "kill", "-s", "KILL", "cli-c").stdout == "cli-c\n"
        assert ok(berthd, "wait", "cli-c").stdout == "137\n"
        assert ok(berthd, "rename", "cli-c", "cli-c2").stdout == ""
        assert ok(berthd, "inspect", "-f", "{{.Name}}", "cli-c2").stdout == "/cli-c2\n"
    finally:
        berth(berthd, "rm", "-f", "cli-c")
        berth(berthd, "rm", "-f", "cli-c2")


def test_cp_in_and_out(berthd, tmp_path):
    ok(berthd, "run", "-d", "--name", "cli-cp", "busybox", "sleep", "300")
    try:
        src = tmp_path / "hello.txt"
        src.write_text("hello cp\n")
        d = tmp_path / "dir" / "sub"
        d.mkdir(parents=True)
        (d / "f").write_text("deep\n")
        ok(berthd, "cp", str(src), "cli-cp:/tmp/renamed.txt")
        ok(berthd, "cp", str(tmp_path / "dir"), "cli-cp:/tmp/")
        assert ok(berthd, "exec", "cli-cp", "cat", "/tmp/renamed.txt", "/tmp/dir/sub/f").stdout == "hello cp\ndeep\n"
        out = tmp_path / "out"
        out.mkdir()
        ok(berthd, "cp", "cli-cp:/tmp/renamed.txt", str(out / "back.txt"))
        assert (out / "back.txt").read_text() == "hello cp\n"
        ok(berthd, "cp", "cli-cp:/tmp/dir", str(out))
        assert (out / "dir" / "sub" / "f").read_text() == "deep\n"
        p = berth(berthd, "cp", "cli-cp:/nonexistent", str(out))
        assert p.returncode == 1
        assert "Error response from daemon: Could not find the file /nonexistent in container cli-cp" in p.stderr
    finally:
        berth(berthd, "rm", "-f", "cli-cp")


def test_events_stream_while_a_container_runs(berthd):
    ev = subprocess.Popen([BERTH, "-H", berthd.host, "events", "--filter", "type=container",
                           "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"],
                          stdout=subprocess.PIPE, text=True)
    seen = []
    reader = threading.Thread(target=lambda: [seen.append(l.rstrip("\n")) for l in ev.stdout], daemon=True)
    reader.start()
    try:
        time.sleep(0.3)
        ok(berthd, "run", "--rm", "--name", "cli-ev", "busybox", "true")
        wait_for(lambda: "container destroy cli-ev" in seen, timeout=15)
        for action in ("create", "start", "die", "destroy"):
            assert "container %s cli-ev" % action in seen, seen
    finally:
        ev.kill()
        ev.wait()
    # --since/--until: a bounded replay that ends by itself
    p = ok(berthd, "events", "--since", "1m", "--until", "0s", "--filter", "type=container")
    lines = [l for l in p.stdout.splitlines() if "cli-ev" in l]
    assert any(" container create " in l and "name=cli-ev" in l for l in lines), p.stdout


def test_stats_no_stream(berthd):
    ok(berthd, "run", "-d", "--name", "cli-st", "-m", "64m", "busybox", "sleep", "300")
    try:
        out = ok(berthd, "stats", "--no-stream").stdout.splitlines()
        assert out[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                                  "NET", "I/O", "BLOCK", "I/O", "PIDS"]
        row = [l for l in out if "cli-st" in l]
        assert row and "/ 64MiB" in row[0], out
        p = ok(berthd, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "cli-st")
        assert p.stdout == "cli-st 1\n"
    finally:
        berth(berthd, "rm", "-f", "cli-st")


def test_run_it_with_a_terminal(berthd):
    """-it: raw terminal, the window size reaches the container, exit code."""
    e = dict(os.environ, BERTH_HOST=berthd.host)
    e.pop("DOCKER_HOST", None)
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        os.execve(BERTH, [BERTH, "run", "-it", "--rm", "busybox", "sh"], e)
    out = b""
    try:
        os.write(fd, b"echo tty-$((40+2)); stty size\n")
        os.write(fd, b"exit 5\n")
        end = time.time() + 20
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 1)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        os.close(fd)
    assert b"tty-42\r\n" in out, out
    assert b"40 100\r\n" in out, out
    assert os.WEXITSTATUS(status) == 5


def test_bad_input_messages_and_exit_codes(berthd):
    p = berth(berthd, "run", "--no-such-flag", "busybox")
    assert p.returncode == 125
    assert p.stderr == "unknown flag: --no-such-flag\nSee 'berth run --help'.\n"
    p = berth(berthd, "ps", "-Z")
    assert p.returncode == 125 and p.stderr.startswith("unknown shorthand flag: 'Z' in -Z\n")
    p = berth(berthd, "stop", "no-such-ctr")
    assert p.returncode == 1
    assert p.stderr == "Error response from daemon: No such container: no-such-ctr\n"
    p = berth(berthd, "logs", "no-such-ctr")
    assert p.returncode == 1 and "No such container: no-such-ctr" in p.stderr
    p = berth(berthd, "inspect", "no-such-ctr")
    assert p.returncode == 1 and "Error: No such object: no-such-ctr" in p.stderr
    p = berth(berthd, "stop")
    assert p.returncode == 1 and p.stderr.startswith('"berth stop" requires at least 1 argument.')
    p = berth(berthd, "run", "--rm", "no-such-image:1", "true")
    assert p.returncode == 125 and "No such image" in p.stderr
    p = berth(berthd, "run", "--rm", "busybox", "/no/such/binary")
    assert p.returncode == 127, p.stderr
    p = berth(berthd, "ps", "--format", "{{.Names")
    assert p.returncode == 64 and "template parsing error" in p.stderr
    p = berth(berthd, "frobnicate")
    assert p.returncode == 1 and "unknown command" in p.stderr
    ok(berthd, "run", "-d", "--name", "cli-dup", "busybox", "sleep", "300")
    try:
        p = berth(berthd, "run", "-d", "--name", "cli-dup", "busybox", "true")
        assert p.returncode == 125 and "Conflict" in p.stderr or "already in use" in p.stderr
        p = berth(berthd, "rm", "cli-dup")
        assert p.returncode == 1 and p.stderr.startswith("Error response from daemon:")
    finally:
        berth(berthd, "rm", "-f", "cli-dup")


def test_help_texts():
    for cmd in (["run"], ["ps"], ["exec"], ["container", "ls"], ["image", "ls"], ["logs"], ["cp"]):
        p = subprocess.run([BERTH] + cmd + ["--help"], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0
        assert p.stdout.startswith("\nUsage:  berth ")
        assert "Options:" in p.stdout
    p = subprocess.run([BERTH, "run", "--help"], capture_output=True, text=True, timeout=10)
    assert "  -d, --detach " in p.stdout and "      --health-cmd string " in p.stdout
