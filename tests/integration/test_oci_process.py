"""berth-oci: the `process` section of config.json, seen from inside the container."""

import os

import pytest

from oci_util import IS_BERTH, RUNTIME, ConsoleSocket, cap_mask, status_field


def run_ok(bundle, script=None):
    if script is not None:
        bundle.sh(script)
    r = bundle.run()
    assert r.ok, r
    return r.out


def test_args_env_cwd(bundle):
    """Feature: process args, env, cwd."""
    bundle.args = ["/bin/sh", "-c", 'printf "[%s]\\n" "$@"; echo "FOO=$FOO"; pwd', "sh",
                   "a b", "c"]
    bundle.config["process"]["env"].append("FOO=bar baz")
    bundle.config["process"]["cwd"] = "/tmp"
    out = run_ok(bundle)
    assert out.splitlines() == ["[a b]", "[c]", "FOO=bar baz", "/tmp"]


def test_user_uid_gid_additional_gids(bundle):
    """Feature: process.user uid, gid, additionalGids."""
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 10, 4242]}
    out = run_ok(bundle, "cat /proc/self/status")
    assert status_field(out, "Uid").split() == ["1000"] * 4
    assert status_field(out, "Gid").split() == ["1001"] * 4
    assert sorted(int(g) for g in status_field(out, "Groups").split()) == [5, 10, 4242]


def test_user_umask(bundle):
    """Feature: process.user umask."""
    bundle.config["process"]["user"]["umask"] = 0o027
    out = run_ok(bundle, "umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d")
    assert out.split() == ["0027", "640", "750"]


def test_capabilities_exact_as_root(bundle):
    """Feature: the five capability sets exactly as asked (root; chown fails without CAP_CHOWN)."""
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]
    bundle.config["process"]["capabilities"] = {
        "bounding": caps, "effective": caps, "permitted": caps, "inheritable": [], "ambient": []}
    out = run_ok(bundle, "cat /proc/self/status; touch /tmp/f; "
                         "chown 1000 /tmp/f && echo CHOWN-OK || echo CHOWN-FAILED")
    m = cap_mask(caps)
    assert int(status_field(out, "CapBnd"), 16) == m
    assert int(status_field(out, "CapEff"), 16) == m
    assert int(status_field(out, "CapPrm"), 16) == m
    assert int(status_field(out, "CapInh"), 16) == 0
    assert int(status_field(out, "CapAmb"), 16) == 0
    assert "CHOWN-FAILED" in out


def test_capabilities_ambient_non_root(bundle):
    """Feature: inheritable and ambient capability sets carry a capability to a non-root user."""
    os.makedirs(os.path.join(bundle.rootfs, "data"))
    with open(os.path.join(bundle.rootfs, "data", "f"), "w") as f:
        f.write("x")
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    one = ["CAP_CHOWN"]
    bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]
    bundle.config["process"]["capabilities"] = {
        "bounding": bnd, "effective": one, "permitted": one, "inheritable": one, "ambient": one}
    out = run_ok(bundle, "cat /proc/self/status; chown 1000:1000 /data/f && stat -c %u:%g /data/f")
    assert int(status_field(out, "CapBnd"), 16) == cap_mask(bnd)
    for s in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(status_field(out, s), 16) == cap_mask(one), s
    assert out.splitlines()[-1] == "1000:1000"


def test_rlimits_nofile(bundle):
    """Feature: process.rlimits (a lower RLIMIT_NOFILE)."""
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]
    out = run_ok(bundle, "grep 'Max open files' /proc/self/limits")
    assert out.split()[3:5] == ["123", "456"]


def test_no_new_privileges(bundle, make_bundle):
    """Feature: process.noNewPrivileges (true -> NoNewPrivs 1, false -> 0)."""
    bundle.config["process"]["noNewPrivileges"] = True
    assert status_field(run_ok(bundle, "cat /proc/self/status"), "NoNewPrivs") == "1"
    other = make_bundle()
    other.config["process"]["noNewPrivileges"] = False
    assert status_field(run_ok(other, "cat /proc/self/status"), "NoNewPrivs") == "0"


def test_oom_score_adj(bundle):
    """Feature: process.oomScoreAdj."""
    bundle.config["process"]["oomScoreAdj"] = 123
    assert run_ok(bundle, "cat /proc/self/oom_score_adj").strip() == "123"


def test_hostname(bundle):
    """Feature: hostname (in a uts namespace)."""
    bundle.config["hostname"] = "berth-host"
    assert run_ok(bundle, "hostname").strip() == "berth-host"


@pytest.mark.xfail(not IS_BERTH and "runc" in RUNTIME, strict=False,
                   reason="runc 1.1 ignores domainname (added in runc 1.2)")
def test_domainname(bundle):
    """Feature: domainname (in a uts namespace)."""
    bundle.config["domainname"] = "berth.example"
    assert run_ok(bundle, "cat /proc/sys/kernel/domainname").strip() == "berth.example"


def test_terminal_console_socket_and_size(bundle):
    """Feature: process.terminal with --console-socket (pty master over SCM_RIGHTS) and consoleSize."""
    bundle.config["process"]["terminal"] = True
    bundle.config["process"]["consoleSize"] = {"height": 31, "width": 97}
    bundle.args = ["sh"]
    cs = ConsoleSocket(os.path.join(bundle.dir, "console.sock"))
    try:
        r = bundle.create("--console-socket", cs.path)
        assert r.ok, r
        master = cs.receive()
        assert os.isatty(master)
        r = bundle.start()
        assert r.ok, r
        os.write(master, b"stty size; tty; echo MARK$((40+2))\n")
        buf = cs.read_until(b"MARK42\r\n")
        assert b"MARK42\r\n" in buf, buf
        text = buf.decode(errors="replace")
        assert "31 97" in text
        assert "/dev/pts/0" in text or "/dev/console" in text
        os.write(master, b"exit\n")
        assert bundle.wait_stopped()["status"] == "stopped"
    finally:
        cs.close()
