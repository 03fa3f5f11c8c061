"""berthd as a program: dockerd's flags, daemon.json, the socket's mode,
the pidfile, SIGHUP reload and a graceful SIGTERM."""

import json
import os
import signal
import stat
import subprocess
import time

from daemon_fixtures import BERTHD, Berthd, berthd_factory  # noqa: F401


def test_socket_pidfile_and_sigterm(berthd_factory):
    d = berthd_factory(busybox=False)
    st = os.stat(d.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    with open(d.pidfile) as f:
        assert int(f.read()) == d.proc.pid
    assert d.stop() == 0
    assert not os.path.exists(d.pidfile)
    assert not os.path.exists(d.sock)
    assert "Daemon shutdown complete" in d.log()


def test_second_daemon_on_same_pidfile_refused(berthd_factory):
    d = berthd_factory(busybox=False)
    p = subprocess.run(d.args(), capture_output=True, timeout=20)
    assert p.returncode != 0
    assert b"pid file found" in p.stdout + p.stderr
    assert d.request("GET", "/_ping")[0] == 200


def test_daemon_json_unknown_key_and_conflict(tmp_path):
    d = Berthd(tmp=str(tmp_path))
    with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
        json.dump({"no-such-option": 1}, f)
    p = subprocess.run(d.args(), capture_output=True, timeout=20)
    assert p.returncode == 1 and b"no-such-option" in p.stderr
    with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
        json.dump({"data-root": "/elsewhere"}, f)
    p = subprocess.run(d.args(), capture_output=True, timeout=20)
    assert p.returncode == 1 and b"both as a flag and in the configuration file" in p.stderr
    with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
        f.write("{not json")
    p = subprocess.run(d.args(), capture_output=True, timeout=20)
    assert p.returncode == 1 and b"not valid JSON" in p.stderr


def test_daemon_json_hosts_and_log_opts(tmp_path):
    d = Berthd(tmp=str(tmp_path))
    sock2 = os.path.join(d.tmp, "second.sock")
    with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
        json.dump({"hosts": [d.host, "unix://" + sock2], "log-opts": {"max-size": "1m", "max-file": "2"},
                   "insecure-registries": ["127.0.0.1:5000"]}, f)
    args = d.args()
    i = args.index("-H")
    del args[i:i + 2]
    d.args = lambda: args
    try:
        d.start()
        from daemon_fixtures import UnixHTTPConnection
        c = UnixHTTPConnection(sock2)
        c.request("GET", "/_ping")
        assert c.getresponse().status == 200
        c.close()
    finally:
        d.stop()
        d.cleanup()


def test_sighup_reloads_log_level(tmp_path):
    d = Berthd(tmp=str(tmp_path))
    d.args_orig = d.args
    with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
        json.dump({"log-level": "info"}, f)
    # no -D: the file decides the level
    d.args = lambda: [a for a in d.args_orig() if a != "-D"]
    try:
        d.start()
        d.request("GET", "/v1.41/version")
        time.sleep(0.2)
        assert "GET /v1.41/version -> 200" not in d.log()
        with open(os.path.join(d.tmp, "daemon.json"), "w") as f:
            json.dump({"log-level": "debug"}, f)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "Reloaded configuration" not in d.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        d.request("GET", "/v1.41/info")
        time.sleep(0.2)
        assert "GET /v1.41/info -> 200" in d.log()
        assert d.proc.poll() is None
    finally:
        d.stop()
        d.cleanup()


def test_version_flag():
    p = subprocess.run([BERTHD, "--version"], capture_output=True, timeout=10)
    assert p.returncode == 0 and p.stdout.startswith(b"Berth version ")
    p = subprocess.run([BERTHD, "--no-such-flag"], capture_output=True, timeout=10)
    assert p.returncode == 2
