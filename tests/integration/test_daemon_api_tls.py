"""berthd on TCP with TLS and client-certificate auth (--tlsverify), driven
by the docker CLI; certificates made with openssl."""

import os
import socket
import subprocess

import pytest

from daemon_fixtures import DOCKER, berthd_factory  # noqa: F401


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d, name="ca"):
    """A CA, a server cert for 127.0.0.1 and a client cert, in directory D."""
    os.makedirs(d, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
            "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
                     ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(d, who + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + who,
                "-keyout", who + "-key.pem", "-out", who + ".csr", cwd=d)
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", who + ".ext", "-out", who + ".pem", cwd=d)
    return d


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def docker_tls(host, pki, *args, cert=True):
    argv = [DOCKER, "-H", host, "--tlsverify", "--tlscacert", os.path.join(pki, "ca.pem")]
    if cert:
        argv += ["--tlscert", os.path.join(pki, "client.pem"), "--tlskey", os.path.join(pki, "client-key.pem")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = os.path.join(pki, "cfg")
    return subprocess.run(argv + list(args), capture_output=True, timeout=30, env=env)


def test_tls_client_certificates(berthd_factory, tmp_path):
    pki = make_pki(str(tmp_path / "pki"))
    other = make_pki(str(tmp_path / "other"), "other-ca")
    port = free_port()
    host = "tcp://127.0.0.1:%d" % port
    d = berthd_factory("-H", host, "--tlsverify",
                       "--tlscacert", os.path.join(pki, "ca.pem"),
                       "--tlscert", os.path.join(pki, "server.pem"),
                       "--tlskey", os.path.join(pki, "server-key.pem"))
    p = docker_tls(host, pki, "version", "--format", "{{.Server.APIVersion}}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == "1.41"
    p = docker_tls(host, pki, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert p.returncode == 0 and "busybox:latest" in p.stdout.decode()
    # no client certificate: refused
    p = docker_tls(host, pki, "images", cert=False)
    assert p.returncode != 0
    # a client certificate from another CA: refused
    argv_pki = str(tmp_path / "mixed")
    os.makedirs(argv_pki)
    for f in ("ca.pem",):
        os.symlink(os.path.join(pki, f), os.path.join(argv_pki, f))
    for f in ("client.pem", "client-key.pem"):
        os.symlink(os.path.join(other, f), os.path.join(argv_pki, f))
    p = docker_tls(host, argv_pki, "images")
    assert p.returncode != 0
    # plain HTTP on the TLS port gets nothing useful
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    s.close()
    assert b"200 OK" not in data
    # the unix socket next to it still works without TLS
    assert d.request("GET", "/_ping")[0] == 200
