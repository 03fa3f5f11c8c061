"""--sig-proxy: the signals `berth` receives while attached (run, start -a,
attach) reach the container's process, as with docker; --sig-proxy=false
leaves the container alone."""

import os
import signal
import subprocess
import time

from daemon_fixtures import berthd, _module_berthd  # noqa: F401
from test_cli_containers import BERTH, _need_berth, berth, ok, wait_for  # noqa: F401

TRAPS = ("trap 'echo got-int; exit 7' INT; trap 'echo got-term; exit 8' TERM; "
         "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done")


def _popen(d, *args):
    e = dict(os.environ)
    e.pop("DOCKER_HOST", None)
    e["BERTH_HOST"] = d.host
    return subprocess.Popen([BERTH] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=e)


def _wait_line(p, want, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        line = p.stdout.readline()
        if line == "":
            break
        if line.strip() == want:
            return
    raise AssertionError("no `%s` from %s" % (want, p.args))


def test_run_forwards_sigint_and_sigusr1(berthd):
    p = _popen(berthd, "run", "--rm", "--name", "sig-run", "busybox", "sh", "-c", TRAPS)
    try:
        _wait_line(p, "ready")
        p.send_signal(signal.SIGUSR1)
        _wait_line(p, "got-usr1")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert out == "got-int\n", (out, err)
        assert p.returncode == 7, err
    finally:
        p.kill()
        p.wait()
        berth(berthd, "rm", "-f", "sig-run")


def test_start_a_and_attach_forward_sigterm(berthd):
    ok(berthd, "create", "--name", "sig-start", "busybox", "sh", "-c", TRAPS)
    p = _popen(berthd, "start", "-a", "sig-start")
    try:
        _wait_line(p, "ready")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        assert out == "got-term\n" and p.returncode == 8, (out, err, p.returncode)
        assert ok(berthd, "inspect", "-f", "{{.State.ExitCode}}", "sig-start").stdout == "8\n"

        ok(berthd, "start", "sig-start")
        a = _popen(berthd, "attach", "sig-start")
        try:
            # the container prints nothing more after "ready": tell it apart by USR1
            time.sleep(0.5)
            a.send_signal(signal.SIGUSR1)
            _wait_line(a, "got-usr1")
            a.send_signal(signal.SIGINT)
            out, err = a.communicate(timeout=30)
            assert out == "got-int\n" and a.returncode == 7, (out, err, a.returncode)
        finally:
            a.kill()
            a.wait()
    finally:
        p.kill()
        p.wait()
        berth(berthd, "rm", "-f", "sig-start")


def test_sig_proxy_false_leaves_the_container_running(berthd):
    p = _popen(berthd, "run", "--sig-proxy=false", "--name", "sig-off", "busybox", "sh", "-c", TRAPS)
    try:
        _wait_line(p, "ready")
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
        assert p.returncode == -signal.SIGINT
        time.sleep(0.5)
        assert ok(berthd, "inspect", "-f", "{{.State.Running}}", "sig-off").stdout == "true\n"
        assert "got-int" not in ok(berthd, "logs", "sig-off").stdout
    finally:
        p.kill()
        p.wait()
        berth(berthd, "rm", "-f", "sig-off")
