"""Issue 3: a Debian image made with debootstrap (minbase; suite and package
list chosen by the user) through `berth image base debian`, as the README
documents it, then run as a container through berthd.

debootstrap downloads from the mirror this machine uses (the one in
/etc/apt/sources.list.d/debian.sources). The result is cached as a
docker-archive under /var/cache/berth-tests/, keyed by suite and package
list, so that repeated runs do not download again; delete the file to
rebuild it. Skipped (with the reason) only when the mirror is unreachable."""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from daemon_fixtures import REPO, berthd_factory  # noqa: F401

SUITE = "bookworm"
INCLUDE = "ca-certificates"
REF = "berth-test/debian:%s" % SUITE
CACHE_DIR = "/var/cache/berth-tests"
SOURCES = "/etc/apt/sources.list.d/debian.sources"


def _find_berth():
    cands = []
    if os.environ.get("BERTH_BUILD"):
        cands.append(os.path.join(os.environ["BERTH_BUILD"], "src/cli/berth"))
    cands += [os.path.join(REPO, "build-test/src/cli/berth"),
              os.path.join(REPO, "build/src/cli/berth")]
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return cands[0]


def mirror():
    """The first URIs: of the deb822 sources file (what berth uses too)."""
    try:
        with open(SOURCES) as f:
            for line in f:
                if line.startswith("URIs:"):
                    return line.split()[1]
    except OSError:
        pass
    return "http://deb.debian.org/debian"


def mirror_reachable(url):
    try:
        with urllib.request.urlopen("%s/dists/%s/Release" % (url.rstrip("/"), SUITE),
                                    timeout=15) as r:
            return r.status == 200, None
    except Exception as e:  # noqa: BLE001 - any failure means "unreachable"
        return False, str(e)


def cache_path():
    key = hashlib.sha256(("%s|%s" % (SUITE, ",".join(sorted(INCLUDE.split(","))))).encode())
    return os.path.join(CACHE_DIR, "debian-%s-%s.tar" % (SUITE, key.hexdigest()[:16]))


def build_with_berth(berth, out):
    """`berth image base debian` into a private store, then `berth image
    save` of it to OUT (atomically). Returns the store's inspect output."""
    store = tempfile.mkdtemp(prefix="berth-debian-")
    try:
        t0 = time.monotonic()
        p = subprocess.run([berth, "--data-root", store, "image", "base", "debian",
                            "--suite", SUITE, "--include", INCLUDE, REF],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        took = time.monotonic() - t0
        p = subprocess.run([berth, "--data-root", store, "image", "inspect", REF],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        inspect_out = p.stdout
        p = subprocess.run([berth, "--data-root", store, "image", "history", "--no-trunc", REF],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        # The image records how it was made: the user's suite and packages.
        assert "debootstrap --variant=minbase" in p.stdout, p.stdout
        assert "--include=%s" % INCLUDE in p.stdout and SUITE in p.stdout, p.stdout
        os.makedirs(CACHE_DIR, exist_ok=True)
        tmp = out + ".tmp-%d" % os.getpid()
        p = subprocess.run([berth, "--data-root", store, "image", "save", "-o", tmp, REF],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        os.rename(tmp, out)
        print("debootstrap image built in %.1fs, cached at %s" % (took, out))
        return inspect_out
    finally:
        subprocess.run(["umount", "-R", "-l", store], capture_output=True)
        shutil.rmtree(store, ignore_errors=True)


@pytest.fixture(scope="module")
def debian_archive():
    berth = _find_berth()
    if not os.access(berth, os.X_OK):
        pytest.skip("berth not built (%s)" % berth)
    out = cache_path()
    if os.path.exists(out):
        return out
    if shutil.which("debootstrap", path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
        pytest.skip("debootstrap is not installed")
    ok, why = mirror_reachable(mirror())
    if not ok:
        pytest.skip("the Debian mirror %s is unreachable: %s" % (mirror(), why))
    build_with_berth(berth, out)
    return out


def test_debian_image_runs_in_berthd(debian_archive, berthd_factory):
    d = berthd_factory(busybox=False)
    p = d.docker("load", "-i", debian_archive, timeout=300)
    assert REF.encode() in p.stdout, p.stdout

    p = d.docker("run", "--rm", REF, "cat", "/etc/debian_version")
    assert p.stdout.decode().strip().startswith("12."), p.stdout

    p = d.docker("run", "--rm", REF, "dpkg-query", "-W", "-f", "${Status} ${Version}\n",
                 "ca-certificates")
    assert p.stdout.decode().startswith("install ok installed "), p.stdout
    p = d.docker("run", "--rm", REF, "dpkg", "-l", "ca-certificates")
    assert any(l.startswith("ii  ca-certificates") for l in p.stdout.decode().splitlines())
    # The package really works: its certificate bundle is there.
    p = d.docker("run", "--rm", REF, "sh", "-c",
                 "grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt")
    assert int(p.stdout) > 50

    # minbase: only required packages plus what was asked for.
    p = d.docker("run", "--rm", REF, "dpkg-query", "-W", "-f", "${Package}\n")
    pkgs = set(p.stdout.decode().split())
    assert {"dpkg", "apt", "ca-certificates"} <= pkgs
    assert "systemd" not in pkgs and "openssh-client" not in pkgs
    assert len(pkgs) < 150, len(pkgs)


def test_debian_image_docker_py(debian_archive, berthd_factory):
    d = berthd_factory(busybox=False)
    c = d.client()
    with open(debian_archive, "rb") as f:
        imgs = c.images.load(f.read())
    assert any(REF in i.tags for i in imgs)
    img = c.images.get(REF)
    assert img.attrs["Os"] == "linux"
    out = c.containers.run(REF, ["sh", "-c", ". /etc/os-release; echo $ID $VERSION_CODENAME"],
                           remove=True)
    assert out == b"debian %s\n" % SUITE.encode()
