"""`berth` image commands over the API (images/tag/rmi/save/load/import/
history, system df/prune), and starting berthd when the default socket has
no daemon."""

import json
import os
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

from daemon_fixtures import BERTHD, berthd, berthd_factory, _module_berthd, make_busybox_tar  # noqa: F401
from test_cli_containers import BERTH, berth, ok


@pytest.fixture(autouse=True)
def _need_berth():
    if not os.access(BERTH, os.X_OK):
        pytest.skip("berth not built (%s)" % BERTH)


def test_images_tag_rmi_save_load_round_trip(berthd, tmp_path):
    ok(berthd, "tag", "busybox:latest", "cli-img:1")
    try:
        table = ok(berthd, "images").stdout.splitlines()
        assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
        row = [l for l in table if l.startswith("cli-img ")]
        assert row and row[0].split()[1] == "1"
        assert row[0].rstrip().endswith("MB")
        assert " ago " in row[0]
        img_id = ok(berthd, "image", "inspect", "-f", "{{.Id}}", "cli-img:1").stdout.strip()
        assert img_id.startswith("sha256:")
        assert ok(berthd, "images", "-q", "cli-img").stdout == img_id[7:19] + "\n"
        assert ok(berthd, "images", "--format", "{{.Repository}}:{{.Tag}}", "cli-img").stdout == "cli-img:1\n"
        j = json.loads(ok(berthd, "images", "--format", "{{json .}}", "cli-img").stdout)
        assert j["Repository"] == "cli-img" and j["ID"] == img_id[7:19]

        out = tmp_path / "save.tar"
        ok(berthd, "save", "-o", str(out), "cli-img:1")
        with tarfile.open(out) as tf:
            names = tf.getnames()
        assert "manifest.json" in names
        p = ok(berthd, "rmi", "cli-img:1")
        assert p.stdout == "Untagged: cli-img:1\n"
        assert ok(berthd, "images", "-q", "cli-img").stdout == ""
        p = ok(berthd, "load", "-i", str(out))
        assert p.stdout == "Loaded image: cli-img:1\n"
        assert ok(berthd, "image", "inspect", "-f", "{{.Id}}", "cli-img:1").stdout.strip() == img_id
        # save to stdout | load from stdin
        data = subprocess.run([BERTH, "-H", berthd.host, "save", "cli-img:1"], capture_output=True, timeout=60).stdout
        assert data[:512].count(b"\0") > 0 and len(data) > 10000
        ok(berthd, "rmi", "cli-img:1")
        p = subprocess.run([BERTH, "-H", berthd.host, "load"], input=data, capture_output=True, timeout=60)
        assert p.returncode == 0 and b"Loaded image: cli-img:1" in p.stdout
        hist = ok(berthd, "history", "cli-img:1").stdout.splitlines()
        assert hist[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    finally:
        berth(berthd, "rmi", "-f", "cli-img:1")


def test_import_and_image_errors(berthd, tmp_path):
    t = tmp_path / "rootfs.tar"
    t.write_bytes(make_busybox_tar())
    p = ok(berthd, "import", "-c", 'CMD ["sh"]', str(t), "cli-imported:v1")
    assert p.stdout.strip().startswith("sha256:")
    try:
        assert ok(berthd, "image", "inspect", "-f", "{{json .Config.Cmd}}", "cli-imported:v1").stdout == '["sh"]\n'
        assert ok(berthd, "run", "--rm", "cli-imported:v1", "echo", "from-import").stdout == "from-import\n"
        p = berth(berthd, "rmi", "no-such-image:9")
        assert p.returncode == 1
        assert p.stderr.startswith("Error response from daemon: No such image: no-such-image:9")
        p = berth(berthd, "image", "inspect", "no-such-image:9")
        assert p.returncode == 1 and "No such image: no-such-image:9" in p.stderr
    finally:
        berth(berthd, "rmi", "-f", "cli-imported:v1")


def test_system_df_info_version(berthd):
    df = ok(berthd, "system", "df").stdout.splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [l.split()[0] for l in df[1:]] == ["Images", "Containers", "Local", "Build"]
    v = ok(berthd, "version").stdout
    assert "API version:" in v and "Server:" in v
    assert ok(berthd, "version", "--format", "{{.Server.ApiVersion}}").stdout.strip().startswith("1.4")
    info = ok(berthd, "info").stdout
    assert "Containers:" in info and "Images:" in info
    assert ok(berthd, "info", "--format", "{{.OSType}}").stdout == "linux\n"


def test_system_prune_removes_stopped_containers(berthd):
    cid = ok(berthd, "create", "busybox", "true").stdout.strip()
    p = ok(berthd, "system", "prune", "-f")
    assert "Deleted Containers:\n" + cid + "\n" in p.stdout
    assert "Total reclaimed space:" in p.stdout
    assert cid[:12] not in ok(berthd, "ps", "-a", "-q").stdout


def test_autostart_on_the_default_socket():
    """No daemon on the default socket: berth starts berthd there and waits
    for it (the default is moved to a temp path with BERTH_DEFAULT_HOST so
    the machine's /run/berth.sock is never touched)."""
    if not os.access(BERTHD, os.X_OK):
        pytest.skip("berthd not built")
    tmp = tempfile.mkdtemp(prefix="berth-autostart-")
    sock = os.path.join(tmp, "b.sock")
    pidfile = os.path.join(tmp, "berthd.pid")
    env = dict(os.environ)
    for k in ("DOCKER_HOST", "BERTH_HOST", "BERTH_DATA_ROOT"):
        env.pop(k, None)
    env["BERTH_DEFAULT_HOST"] = "unix://" + sock
    env["BERTHD_FLAGS"] = "--data-root %s/data --exec-root %s/exec --pidfile %s" % (tmp, tmp, pidfile)
    env["BERTHD_LOG"] = os.path.join(tmp, "berthd.log")
    try:
        assert not os.path.exists(sock)
        p = subprocess.run([BERTH, "ps", "-a"], capture_output=True, text=True, timeout=60, env=env)
        assert p.returncode == 0, p.stderr + open(env["BERTHD_LOG"]).read()
        assert p.stdout.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        assert os.path.exists(sock)
        pid = int(open(pidfile).read().strip())
        # the daemon outlives the CLI that started it and serves the next one
        p = subprocess.run([BERTH, "info", "--format", "{{.OSType}}"], capture_output=True, text=True,
                           timeout=30, env=env)
        assert p.stdout == "linux\n"
        # an explicit host never autostarts
        env2 = dict(env, BERTH_HOST="unix://" + os.path.join(tmp, "other.sock"))
        p = subprocess.run([BERTH, "ps"], capture_output=True, text=True, timeout=30, env=env2)
        assert p.returncode == 1
        assert "Cannot connect to the Berth daemon at unix://%s/other.sock" % tmp in p.stderr
        assert not os.path.exists(os.path.join(tmp, "other.sock"))
    finally:
        try:
            pid = int(open(pidfile).read().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
        subprocess.run(["umount", "-R", "-l", os.path.join(tmp, "exec")], capture_output=True)
        subprocess.run(["rm", "-rf", tmp])
