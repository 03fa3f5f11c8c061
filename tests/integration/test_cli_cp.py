"""`berth cp`: docker's naming rules, -a and -L against a real berthd, and a
hostile tar from a (fake) daemon that must not write outside DEST."""

import base64
import io
import json
import os
import socketserver
import tarfile
import threading
from http.server import BaseHTTPRequestHandler

from daemon_fixtures import berthd, _module_berthd  # noqa: F401
from test_cli_containers import BERTH, _need_berth, berth, ok  # noqa: F401


def _hostile_tar(victim_rel):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        link = tarfile.TarInfo("data/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/"
        t.addfile(link)
        payload = b"pwned\n"
        f = tarfile.TarInfo("data/evil/" + victim_rel)
        f.size = len(payload)
        t.addfile(f, io.BytesIO(payload))
    return buf.getvalue()


class _FakeDaemon(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _fake_daemon(sock, tar_bytes):
    stat = base64.b64encode(json.dumps({"name": "data", "size": 4096, "mode": 0o755 | (1 << 31),
                                        "mtime": "2024-01-01T00:00:00Z", "linkTarget": ""}).encode())

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def address_string(self):
            return "fake"

        def _ping(self):
            self.send_response(200)
            self.send_header("Api-Version", "1.45")
            self.send_header("Content-Length", "2")
            self.end_headers()

        def do_HEAD(self):
            if self.path.startswith("/_ping"):
                self._ping()
                return
            self.send_response(200)
            self.send_header("X-Docker-Container-Path-Stat", stat.decode())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            if self.path.startswith("/_ping"):
                self._ping()
                self.wfile.write(b"OK")
                return
            assert "/containers/box/archive" in self.path, self.path
            self.send_response(200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("X-Docker-Container-Path-Stat", stat.decode())
            self.send_header("Content-Length", str(len(tar_bytes)))
            self.end_headers()
            self.wfile.write(tar_bytes)

    srv = _FakeDaemon(sock, H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_cp_hostile_tar_cannot_write_outside_dest(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "pwned"
    dest = tmp_path / "dest"
    dest.mkdir()
    sock = str(tmp_path / "fake.sock")
    srv = _fake_daemon(sock, _hostile_tar(str(victim).lstrip("/")))
    try:
        env = dict(os.environ, BERTH_HOST="unix://" + sock)
        env.pop("DOCKER_HOST", None)
        import subprocess
        p = subprocess.run([BERTH, "cp", "box:/data", str(dest)], capture_output=True, text=True, timeout=30, env=env)
        assert p.returncode == 1, p
        assert "a symlink on its path leads out of the destination" in p.stderr, p.stderr
        assert not victim.exists()
        # nothing was written through the symlink inside DEST either
        assert not (dest / "data" / "tmp").exists()
        assert os.readlink(dest / "data" / "evil") == "/"
    finally:
        srv.shutdown()
        srv.server_close()


def test_cp_docker_naming_rules(berthd, tmp_path):
    ok(berthd, "run", "-d", "--name", "cli-cp2", "busybox", "sh", "-c",
       "mkdir -p /d/sub && echo one > /d/sub/f && echo file > /f.txt && ln -s /d /dlink && "
       "ln -s f.txt /flink && chown 1234:5678 /f.txt && exec sleep 300")
    try:
        out = tmp_path / "out"
        out.mkdir()
        # a file into an existing directory keeps its name; to a new path takes that name
        ok(berthd, "cp", "cli-cp2:/f.txt", str(out))
        assert (out / "f.txt").read_text() == "file\n"
        ok(berthd, "cp", "cli-cp2:/f.txt", str(out / "renamed"))
        assert (out / "renamed").read_text() == "file\n"
        # a file over an existing file replaces it
        (out / "old").write_text("old\n")
        ok(berthd, "cp", "cli-cp2:/f.txt", str(out / "old"))
        assert (out / "old").read_text() == "file\n"
        # copying out never chowns: the files belong to the caller (-a or not)
        assert os.stat(out / "f.txt").st_uid == os.getuid()
        # a directory into an existing directory, then to a new name, then merged
        ok(berthd, "cp", "cli-cp2:/d", str(out))
        assert (out / "d" / "sub" / "f").read_text() == "one\n"
        ok(berthd, "cp", "cli-cp2:/d", str(out / "newname"))
        assert (out / "newname" / "sub" / "f").read_text() == "one\n"
        (out / "d" / "mine").write_text("kept\n")
        ok(berthd, "cp", "cli-cp2:/d", str(out))
        assert (out / "d" / "mine").read_text() == "kept\n"
        # a directory onto an existing file, and a file into a missing directory
        p = berth(berthd, "cp", "cli-cp2:/d", str(out / "f.txt"))
        assert p.returncode == 1 and "cannot copy directory" in p.stderr
        p = berth(berthd, "cp", "cli-cp2:/f.txt", str(out / "nodir") + "/")
        assert p.returncode == 1
        # without -L a symlink is copied as a symlink; with -L its target, under the link's name
        ok(berthd, "cp", "cli-cp2:/flink", str(out / "l1"))
        assert os.readlink(out / "l1") == "f.txt"
        ok(berthd, "cp", "-L", "cli-cp2:/flink", str(out / "l2"))
        assert not os.path.islink(out / "l2") and (out / "l2").read_text() == "file\n"
        ok(berthd, "cp", "-L", "cli-cp2:/dlink", str(out))
        assert (out / "dlink" / "sub" / "f").read_text() == "one\n" and not os.path.islink(out / "dlink")

        # into the container: root-owned by default, the local ids with -a
        src = tmp_path / "mine.txt"
        src.write_text("mine\n")
        os.chown(src, 4321, 8765)
        ok(berthd, "cp", str(src), "cli-cp2:/tmp/plain.txt")
        ok(berthd, "cp", "-a", str(src), "cli-cp2:/tmp/kept.txt")
        ids = ok(berthd, "exec", "cli-cp2", "stat", "-c", "%u:%g", "/tmp/plain.txt", "/tmp/kept.txt").stdout
        assert ids == "0:0\n4321:8765\n"
        # -L follows a local symlink given as the source
        (tmp_path / "link.txt").symlink_to(src)
        ok(berthd, "cp", str(tmp_path / "link.txt"), "cli-cp2:/tmp/")
        ok(berthd, "cp", "-L", str(tmp_path / "link.txt"), "cli-cp2:/tmp/followed.txt")
        p = ok(berthd, "exec", "cli-cp2", "sh", "-c", "readlink /tmp/link.txt; cat /tmp/followed.txt")
        assert p.stdout == str(src) + "\nmine\n"
    finally:
        berth(berthd, "rm", "-f", "cli-cp2")
