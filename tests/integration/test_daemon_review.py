"""Defects found in a review of the daemon (api, engine, shim), each with
the test that showed it."""

import os
import subprocess

from daemon_fixtures import berthd_factory  # noqa: F401
from test_daemon_api_tls import free_port, make_pki


def test_tls_attach_stdin_eof_reaches_container(berthd_factory, tmp_path):
    """`docker --tlsverify run -i busybox cat < file`: the client's half-close
    must reach the container's stdin through the TLS relay."""
    pki = make_pki(str(tmp_path / "pki"))
    port = free_port()
    host = "tcp://127.0.0.1:%d" % port
    berthd_factory("-H", host, "--tlsverify",
                   "--tlscacert", os.path.join(pki, "ca.pem"),
                   "--tlscert", os.path.join(pki, "server.pem"),
                   "--tlskey", os.path.join(pki, "server-key.pem"))
    data = b"hello through tls\n" * 1000
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    with open(src, "rb") as f:
        p = subprocess.run(
            ["timeout", "-s", "KILL", "20"] + _docker_argv(host, pki) + ["run", "--rm", "-i", "busybox", "cat"],
            stdin=f, capture_output=True, env=_env(pki))
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def _docker_argv(host, pki):
    from daemon_fixtures import DOCKER
    return [DOCKER, "-H", host, "--tlsverify", "--tlscacert", os.path.join(pki, "ca.pem"),
            "--tlscert", os.path.join(pki, "client.pem"),
            "--tlskey", os.path.join(pki, "client-key.pem")]


def _env(pki):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = os.path.join(pki, "cfg")
    return env
