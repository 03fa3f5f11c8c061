"""The image store through the `berth` CLI, and save/load round trips with
Debian's dockerd and podman (each started privately on a temporary root).

Run with /usr/bin/python3 -m pytest; BERTH_BUILD points at the build dir.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build-test"))
BERTH = os.path.join(BUILD, "src", "cli", "berth")


@pytest.fixture
def berth(tmp_path):
    if not os.path.exists(BERTH):
        pytest.skip(f"{BERTH} is not built")
    root = tmp_path / "berth-root"

    def run(*args, check=True, input=None):
        p = subprocess.run([BERTH, "--data-root", str(root), *args], capture_output=True,
                           input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed ({p.returncode}): "
                                 f"{p.stderr.decode(errors='replace')}")
        p.out = p.stdout.decode()
        p.err = p.stderr.decode()
        return p

    run.root = root
    yield run
    shutil.rmtree(root, ignore_errors=True)


def store_files(root, sub):
    d = os.path.join(root, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def assert_consistent(berth):
    p = berth("image", "check")
    assert p.returncode == 0
    assert "image store is consistent" in p.out
    assert store_files(berth.root, "blobs/.tmp") == []


def overlay_run(berth, image, script):
    """Run SCRIPT with /bin/sh in IMAGE's unpacked layers (overlay in a
    private mount namespace + chroot): the loaded image really runs."""
    info = json.loads(berth("image", "inspect", image).out)[0]
    lower = info["GraphDriver"]["Data"]["LowerDir"]
    mnt = tempfile.mkdtemp(prefix="berth-img-run-")
    try:
        if ":" in lower:
            cmd = (f"mount -t overlay overlay -o ro,lowerdir={lower} {mnt} && "
                   f"chroot {mnt} /bin/sh -c '{script}'")
        else:
            cmd = f"chroot {lower} /bin/sh -c '{script}'"
        p = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        return p.stdout.decode()
    finally:
        os.rmdir(mnt)


# ---- peers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerd():
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        pytest.skip("dockerd is not installed")
    base = tempfile.mkdtemp(prefix="berth-dockerd-")
    sock = os.path.join(base, "docker.sock")
    log = open(os.path.join(base, "log"), "wb")
    proc = subprocess.Popen(
        ["dockerd", "--host", f"unix://{sock}", "--data-root", os.path.join(base, "data"),
         "--exec-root", os.path.join(base, "exec"), "--pidfile", os.path.join(base, "pid"),
         "--iptables=false", "--ip6tables=false", "--bridge=none"],
        stdout=log, stderr=log)

    def docker(*args, check=True, timeout=120):
        p = subprocess.run(["docker", "-H", f"unix://{sock}", *args], capture_output=True,
                           timeout=timeout, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {p.stderr.decode()}")
        p.out = p.stdout.decode()
        return p

    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        if os.path.exists(sock) and docker("version", check=False, timeout=10).returncode == 0:
            break
        time.sleep(0.2)
    else:
        proc.poll()
    if proc.returncode is not None or docker("version", check=False, timeout=10).returncode != 0:
        proc.kill()
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip("dockerd could not be started")
    yield docker
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    subprocess.run(["umount", "-R", os.path.join(base, "data")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def podman():
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    base = tempfile.mkdtemp(prefix="berth-podman-")
    conf = os.path.join(base, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=65536:65536"]\n')
    env = {**os.environ, "CONTAINERS_CONF": conf}

    def pm(*args, check=True):
        p = subprocess.run(["podman", "--root", os.path.join(base, "root"), "--runroot",
                            os.path.join(base, "run"), "--storage-driver", "overlay", *args],
                           capture_output=True, timeout=120, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {p.stderr.decode()}")
        p.out = p.stdout.decode()
        return p

    if pm("images", check=False).returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip("podman does not work here")
    yield pm
    pm("rmi", "-a", "-f", check=False)
    subprocess.run(["umount", "-R", os.path.join(base, "root")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


# ---- the CLI on its own ---------------------------------------------------------


def test_busybox_base_image_and_cli(berth):
    image_id = berth("image", "base", "busybox").out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    # The same busybox gives the same image layer (deterministic tar).
    info = json.loads(berth("image", "inspect", "busybox").out)[0]
    assert info["Id"] == image_id
    assert info["RepoTags"] == ["busybox:latest"]
    assert info["Config"]["Cmd"] == ["sh"]
    assert len(info["RootFS"]["Layers"]) == 1

    out = berth("images").out.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert out[1].split()[:3] == ["busybox", "latest", image_id[7:19]]

    berth("tag", "busybox", "localhost:5000/tools/box:v1")
    fmt = berth("images", "--format", "{{.Repository}}:{{.Tag}}").out.split()
    assert sorted(fmt) == ["busybox:latest", "localhost:5000/tools/box:v1"]
    assert berth("images", "-q").out.split() == [image_id[7:19]]
    assert berth("image", "inspect", "-f", "{{.Id}}", "box:v1", check=False).returncode != 0
    assert berth("image", "inspect", "-f", "{{.Id}}", image_id[7:15]).out.strip() == image_id

    p = berth("tag", "busybox", "Bad/Name", check=False)
    assert p.returncode != 0 and "must be lowercase" in p.err

    hist = berth("history", "busybox").out.splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"]
    assert hist[1].startswith(image_id[7:19])

    assert overlay_run(berth, "busybox", "echo hi from $(basename $(readlink /bin/sh))") == \
        "hi from busybox\n"

    # rmi of one of two tags only untags
    p = berth("rmi", "busybox")
    assert p.out.splitlines() == ["Untagged: busybox:latest"]
    p = berth("rmi", "localhost:5000/tools/box:v1")
    assert "Untagged: localhost:5000/tools/box:v1" in p.out
    assert f"Deleted: {image_id}" in p.out
    assert berth("images", "-q").out == ""
    assert store_files(berth.root, "blobs/sha256") == []
    assert store_files(berth.root, "layers") == []
    assert_consistent(berth)


def test_import_with_changes(berth, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in (("etc/motd", b"imported\n"), ("srv/app.txt", b"x" * 5000)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    p = berth("import", "-c", 'CMD ["/bin/app", "--serve"]', "-c", "ENV A=1 B=two",
              "-c", "EXPOSE 8080", "-c", "WORKDIR /srv", "-c", "LABEL org.x=y",
              "-m", "hello", "-", "imported:v2", input=buf.getvalue())
    image_id = p.out.strip()
    info = json.loads(berth("image", "inspect", "imported:v2").out)[0]
    assert info["Id"] == image_id
    cfg = info["Config"]
    assert cfg["Cmd"] == ["/bin/app", "--serve"]
    assert cfg["Env"] == ["A=1", "B=two"]
    assert cfg["ExposedPorts"] == {"8080/tcp": {}}
    assert cfg["WorkingDir"] == "/srv"
    assert cfg["Labels"] == {"org.x": "y"}
    assert info["Comment"] == "hello"
    # the layer is stored uncompressed: its digest is its diffID
    diff_id = info["RootFS"]["Layers"][0]
    assert os.path.exists(os.path.join(berth.root, "blobs/sha256", diff_id[7:]))
    layer_dir = os.path.join(berth.root, "layers", diff_id[7:])
    assert open(os.path.join(layer_dir, "etc/motd")).read() == "imported\n"

    p = berth("import", "-c", "RUN true", "-", "x", input=buf.getvalue(), check=False)
    assert p.returncode != 0 and "`RUN` is not a valid change command" in p.err
    p = berth("import", "-", "x", input=b"not a tarball at all", check=False)
    assert p.returncode != 0
    assert berth("images", "-q").out.split() == [image_id[7:19]]
    assert_consistent(berth)


def test_prune_frees_space(berth, tmp_path):
    berth("image", "base", "busybox", "keep:1")
    layer = tmp_path / "l.tar"
    with tarfile.open(layer, "w") as t:
        data = os.urandom(300000)
        ti = tarfile.TarInfo("big")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    dangling = berth("import", str(layer)).out.strip()
    assert "<none>" in berth("images").out
    df = berth("system", "df").out.splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert df[1].split()[:3] == ["Images", "2", "0"]
    p = berth("image", "prune", "-f")
    assert f"deleted: {dangling}" in p.out
    reclaimed = p.out.strip().splitlines()[-1]
    assert reclaimed.startswith("Total reclaimed space: ")
    assert reclaimed != "Total reclaimed space: 0B"
    assert berth("images", "--format", "{{.Repository}}:{{.Tag}}").out.split() == ["keep:1"]
    p = berth("image", "prune", "-a", "-f")
    assert "untagged: keep:1" in p.out
    assert store_files(berth.root, "blobs/sha256") == []
    assert store_files(berth.root, "layers") == []


# ---- bad input ---------------------------------------------------------------


def _docker_archive(layers, tags=("bad:1",), corrupt_config=False, missing_layer=False):
    cfg = {"architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers",
                      "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}}
    cfg_bytes = json.dumps(cfg).encode()
    cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
    if corrupt_config:
        cfg_bytes += b" "
    names = [f"l{i}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": cfg_name, "RepoTags": list(tags),
                 "Layers": names + (["gone/layer.tar"] if missing_layer else [])}]
    if missing_layer:
        cfg["rootfs"]["diff_ids"].append("sha256:" + "4" * 64)
        cfg_bytes = json.dumps(cfg).encode()
        cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
        manifest[0]["Config"] = cfg_name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [(cfg_name, cfg_bytes), ("manifest.json", json.dumps(manifest).encode())] + \
                list(zip(names, layers)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_bad_archives_are_refused(berth, tmp_path):
    l1 = _layer([("a", b"1" * 100000)])
    l2 = _layer([("b", b"2" * 1000)])
    good = _docker_archive([l1, l2])
    p = berth("load", input=good)
    assert p.out.strip() == "Loaded image: bad:1"
    berth("rmi", "bad:1")
    assert store_files(berth.root, "blobs/sha256") == []

    cases = [
        (good[: len(good) // 2], "truncated"),
        (_docker_archive([l1, l2], corrupt_config=True), "does not match its digest"),
        (_docker_archive([l1], missing_layer=True), "not in the archive"),
        (b"\x1f\x8b" + b"garbage" * 100, "image archive"),
    ]
    # a layer whose bytes are not what the config says
    evil = _docker_archive([l1, l2])
    evil = evil.replace(b"2" * 1000, b"3" * 1000)
    cases.append((evil, "diffID"))
    for data, msg in cases:
        p = berth("load", input=data, check=False)
        assert p.returncode != 0, msg
        assert msg in p.err, (msg, p.err)
        assert store_files(berth.root, "blobs/sha256") == [], msg
        assert store_files(berth.root, "layers") == [], msg
        assert berth("images", "-q").out == ""
        assert_consistent(berth)

    # an OCI layout whose blob does not match its name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", b'{"schemaVersion":2,"manifests":[]}'),
                           ("blobs/sha256/" + "5" * 64, b"corrupt")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    p = berth("load", input=buf.getvalue(), check=False)
    assert p.returncode != 0 and "digest mismatch" in p.err
    assert_consistent(berth)

    # a crash leftover is cleaned by the check
    leftover = os.path.join(berth.root, "blobs/.tmp/blob-crash")
    open(leftover, "w").write("x")
    p = berth("image", "check")
    assert "removed temporary file blob-crash" in p.out
    assert not os.path.exists(leftover)


# ---- peers: dockerd ------------------------------------------------------------


def test_docker_loads_berth_image(berth, dockerd, tmp_path):
    image_id = berth("image", "base", "busybox", "berthbox:1").out.strip()
    for fmt in ("docker", "oci"):
        out = tmp_path / f"berth-{fmt}.tar"
        berth("save", "--format", fmt, "-o", str(out), "berthbox:1")
        p = dockerd("load", "-i", str(out))
        assert "Loaded image: berthbox:1" in p.out
        assert dockerd("image", "inspect", "-f", "{{.Id}}", "berthbox:1").out.strip() == image_id
        p = dockerd("run", "--rm", "--network", "none", "berthbox:1", "echo", "hello-" + fmt)
        assert p.out == f"hello-{fmt}\n"
        dockerd("rmi", "berthbox:1")


def test_berth_loads_docker_save(berth, dockerd, tmp_path):
    berth("image", "base", "busybox", "dbase:1")
    base = tmp_path / "base.tar"
    berth("save", "-o", str(base), "dbase:1")
    dockerd("load", "-i", str(base))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM dbase:1\nRUN echo layer-a > /a\nRUN echo layer-b > /b && rm /etc/nsswitch.conf\n"
        'ENV HELLO=world\nCMD ["cat", "/a"]\n')
    dockerd("build", "--network", "none", "-t", "three:layers", str(ctx), timeout=180)
    docker_id = dockerd("image", "inspect", "-f", "{{.Id}}", "three:layers").out.strip()
    saved = tmp_path / "docker-save.tar"
    dockerd("save", "-o", str(saved), "three:layers", "dbase:1")
    p = berth("load", "-i", str(saved))
    assert "Loaded image: three:layers" in p.out
    info = json.loads(berth("image", "inspect", "three:layers").out)[0]
    assert info["Id"] == docker_id
    assert len(info["RootFS"]["Layers"]) == 3
    assert "HELLO=world" in info["Config"]["Env"]
    # the loaded image runs: its layers stacked with the whiteout honoured
    out = overlay_run(berth, "three:layers",
                      "cat /a /b; test -e /etc/nsswitch.conf && echo present || echo gone")
    assert out == "layer-a\nlayer-b\ngone\n"
    # the base's layer is shared: removing the derived image keeps it
    berth("rmi", "three:layers")
    assert overlay_run(berth, "dbase:1", "echo still") == "still\n"
    assert_consistent(berth)
    # and back to docker
    again = tmp_path / "again.tar"
    berth("load", "-i", str(saved))
    berth("save", "-o", str(again), "three:layers")
    dockerd("rmi", "three:layers")
    dockerd("load", "-i", str(again))
    assert dockerd("run", "--rm", "--network", "none", "three:layers").out == "layer-a\n"
    dockerd("rmi", "three:layers", "dbase:1")


# ---- peers: podman ---------------------------------------------------------------


def test_podman_round_trip(berth, podman, tmp_path):
    image_id = berth("image", "base", "busybox", "pbox:1").out.strip()
    for fmt in ("docker", "oci"):
        out = tmp_path / f"to-podman-{fmt}.tar"
        berth("save", "--format", fmt, "-o", str(out), "pbox:1")
        p = podman("load", "-i", str(out))
        assert "pbox:1" in p.out
        podman("image", "exists", "pbox:1")
        if fmt == "docker":
            assert podman("image", "inspect", "-f", "{{.Id}}", "pbox:1").out.strip() == image_id[7:]
        podman("rmi", "-f", "pbox:1")
    podman("load", "-i", str(tmp_path / "to-podman-docker.tar"))
    berth("rmi", "pbox:1")
    for fmt in ("docker-archive", "oci-archive"):
        back = tmp_path / f"from-podman-{fmt}.tar"
        podman("save", "--format", fmt, "-o", str(back), "pbox:1")
        p = berth("load", "-i", str(back))
        assert "Loaded image: localhost/pbox:1" in p.out, p.out
        info = json.loads(berth("image", "inspect", "localhost/pbox:1").out)[0]
        if fmt == "docker-archive":
            assert info["Id"] == image_id
        assert overlay_run(berth, "localhost/pbox:1", "echo from-podman") == "from-podman\n"
        berth("rmi", "-f", "localhost/pbox:1")
    assert_consistent(berth)
