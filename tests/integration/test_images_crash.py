"""A `berth load` / `berth import` killed at any point leaves a store that
`berth image check` accepts (repairing what the crash left), and the same
load then succeeds and gives a complete image.

Run with /usr/bin/python3 -m pytest; BERTH_BUILD points at the build dir.
"""

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build-test"))
BERTH = os.path.join(BUILD, "src", "cli", "berth")

DELAYS_MS = [0, 1, 2, 4, 7, 10, 15, 20, 30, 45, 60, 80, 110, 150, 200, 300, 450]


def _layer(seed, nfiles=40, size=60000):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(nfiles):
            data = hashlib.sha256(f"{seed}-{i}".encode()).digest() * (size // 32)
            ti = tarfile.TarInfo(f"d{seed}/f{i}")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _archive(layers, tag):
    cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers",
                      "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}}
    cfg_bytes = json.dumps(cfg).encode()
    cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
    names = [f"l{i}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": cfg_name, "RepoTags": [tag], "Layers": names}]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [(cfg_name, cfg_bytes), ("manifest.json", json.dumps(manifest).encode())] + \
                list(zip(names, layers)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def root(tmp_path):
    if not os.path.exists(BERTH):
        pytest.skip(f"{BERTH} is not built")
    r = tmp_path / "berth-root"
    yield r
    shutil.rmtree(r, ignore_errors=True)


def berth(root, *args, input_path=None, check=True):
    stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
    try:
        p = subprocess.run([BERTH, "--data-root", str(root), *args], stdin=stdin,
                           capture_output=True, timeout=120)
    finally:
        if input_path:
            stdin.close()
    if check and p.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)} failed ({p.returncode}): "
                             f"{p.stderr.decode(errors='replace')}")
    return p


def killed_at(root, delay_ms, args, input_path):
    with open(input_path, "rb") as f:
        proc = subprocess.Popen([BERTH, "--data-root", str(root), *args], stdin=f,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay_ms / 1000)
        proc.send_signal(signal.SIGKILL)
        return proc.wait()


def check_after_crash(root, what):
    p = berth(root, "image", "check", check=False)
    assert p.returncode == 0, (what, p.stdout.decode(), p.stderr.decode())
    p = berth(root, "image", "check", check=False)
    assert p.returncode == 0 and b"image store is consistent" in p.stdout, \
        (what, p.stdout.decode(), p.stderr.decode())


def _run_crash_loop(root, tmp_path, args, data, tag, nlayers):
    src = tmp_path / "input.tar"
    src.write_bytes(data)
    for delay in DELAYS_MS:
        rc = killed_at(root, delay, args, src)
        check_after_crash(root, f"killed after {delay} ms (rc {rc})")
        berth(root, *args, input_path=src)
        check_after_crash(root, f"load after a kill at {delay} ms")
        info = json.loads(berth(root, "image", "inspect", tag).stdout)[0]
        assert len(info["RootFS"]["Layers"]) == nlayers
        # the image is complete: it saves back out
        berth(root, "save", "-o", str(tmp_path / "out.tar"), tag)
        berth(root, "rmi", tag)
        check_after_crash(root, f"rmi after a kill at {delay} ms")


def test_load_killed_at_any_point(root, tmp_path):
    layers = [_layer(i) for i in range(4)]
    _run_crash_loop(root, tmp_path, ["load"], _archive(layers, "crash:1"), "crash:1", 4)


def test_import_killed_at_any_point(root, tmp_path):
    _run_crash_loop(root, tmp_path, ["import", "-", "crashimp:1"], _layer(7, nfiles=120),
                    "crashimp:1", 1)
