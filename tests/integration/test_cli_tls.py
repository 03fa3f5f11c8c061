"""`berth` to berthd's TLS listener: --tlsverify/--tlscacert/--tlscert/
--tlskey, DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, and the refusals (unknown
CA, no client certificate, plain HTTP)."""

import os
import shutil
import subprocess

from daemon_fixtures import berthd_factory  # noqa: F401
from test_cli_containers import BERTH, _need_berth  # noqa: F401
from test_daemon_api_tls import free_port, make_pki


def _berth(*args, env=None, input=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_HOST"))}
    e["HOME"] = "/nonexistent-home"  # no ~/.docker/*.pem by accident
    e.update(env or {})
    return subprocess.run([BERTH] + list(args), capture_output=True, text=True, timeout=60, env=e, input=input)


def test_cli_over_tls(berthd_factory, tmp_path):
    pki = make_pki(str(tmp_path / "pki"))
    other = make_pki(str(tmp_path / "other"), "other-ca")
    host = "tcp://127.0.0.1:%d" % free_port()
    berthd_factory("-H", host, "--tlsverify", "--tlscacert", os.path.join(pki, "ca.pem"),
                   "--tlscert", os.path.join(pki, "server.pem"), "--tlskey", os.path.join(pki, "server-key.pem"))
    ca, cert, key = (os.path.join(pki, f) for f in ("ca.pem", "client.pem", "client-key.pem"))
    tls = ["-H", host, "--tlsverify", "--tlscacert", ca, "--tlscert", cert, "--tlskey", key]

    p = _berth(*tls, "version", "--format", "{{.Server.APIVersion}}")
    assert p.returncode == 0 and p.stdout.strip() != "", p.stderr
    p = _berth(*tls, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert p.returncode == 0 and "busybox:latest" in p.stdout, p.stderr
    # a hijacked, multiplexed attach stream and stdin through TLS (berthd's TLS
    # listener does not pass a client's half-close on, for docker's CLI
    # either: the container reads one line rather than up to EOF)
    p = _berth(*tls, "run", "--rm", "-i", "busybox", "sh", "-c", "read x; echo got-$x; echo err >&2; exit 3",
               input="in\n")
    assert (p.returncode, p.stdout, p.stderr) == (3, "got-in\n", "err\n")

    # DOCKER_TLS_VERIFY + DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem
    certs = tmp_path / "certs"
    certs.mkdir()
    for src, dst in ((ca, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")):
        shutil.copy(src, certs / dst)
    env = {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    p = _berth("ps", "-a", "-q", env=env)
    assert p.returncode == 0, p.stderr

    # the daemon's certificate from a CA we do not trust: refused, unless not verified
    p = _berth("-H", host, "--tlsverify", "--tlscacert", os.path.join(other, "ca.pem"), "--tlscert", cert,
               "--tlskey", key, "version")
    assert p.returncode != 0
    assert "the daemon's certificate: The certificate is NOT trusted" in p.stderr, p.stderr
    p = _berth("-H", host, "--tlsverify=false", "--tlscacert", os.path.join(other, "ca.pem"), "--tlscert", cert,
               "--tlskey", key, "ps", "-q")
    assert p.returncode == 0, p.stderr
    # no client certificate: the daemon refuses (at the handshake or with an error status)
    p = _berth("-H", host, "--tlsverify", "--tlscacert", ca, "ps", "-a")
    assert p.returncode == 1 and p.stdout == "" and ("TLS" in p.stderr or "Error response" in p.stderr), p.stderr
    # a client certificate of another CA: refused
    p = _berth("-H", host, "--tlsverify", "--tlscacert", ca, "--tlscert", os.path.join(other, "client.pem"),
               "--tlskey", os.path.join(other, "client-key.pem"), "ps")
    assert p.returncode != 0
    # plain HTTP to the TLS port does not get an answer
    p = _berth("-H", host, "ps")
    assert p.returncode != 0
    # a key without its certificate is an error of the user
    p = _berth("-H", host, "--tlsverify", "--tlscacert", ca, "--tlskey", key, "ps")
    assert p.returncode != 0 and "--tlscert" in p.stderr, p.stderr
