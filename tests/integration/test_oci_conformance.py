"""OCI runtime conformance: tests/conformance/oci-conformance against berth-oci.

The checker is a Go program of ours built offline (GOPATH mode) on the
library packages of Debian's golang-github-opencontainers-runtime-tools-dev
(generate, cgroups, specerror) and the runtime-spec schemas of
golang-github-opencontainers-specs-dev. Debian's package ships neither
upstream's validation/ programs nor runtimetest, so the validations mirror
upstream's names (create, kill, delete, hooks, linux_cgroups_*, linux_ns_*,
linux_masked_paths, ...) but are our own code. It prints TAP, one line per
check named "validation/check".

Asserted: every check listed in tests/conformance/expected-pass.txt (those
that pass with runc here, see tests/conformance/update-expected.sh) passes
with berth-oci; a failure is reported with its TAP diagnostics.

Go and the packages come from `scripts/install-deps.sh --conformance`, run by
the test when they are missing; the test is skipped only when they cannot be
installed. The binary is cached under $BERTH_BUILD/conformance, keyed by the
package versions and the checker's sources. BERTH_SKIP_CONFORMANCE=1 opts out.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess

import pytest

from oci_util import BERTH_BUILD, IS_BERTH, REPO, RUNTIME

CONF_DIR = os.path.join(REPO, "tests", "conformance")
EXPECTED = os.path.join(CONF_DIR, "expected-pass.txt")
PACKAGES = ["golang-go", "golang-github-opencontainers-runtime-tools-dev",
            "golang-github-opencontainers-specs-dev", "golang-gocapability-dev",
            "golang-github-xeipuuv-gojsonschema-dev", "golang-golang-x-sys-dev"]
TAP_RE = re.compile(r"^(ok|not ok) \d+ - (\S+)")
TIMEOUT = 240


def package_versions():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}=${Version}\n"] + PACKAGES,
                         capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else None


def ensure_toolchain():
    if os.environ.get("BERTH_SKIP_CONFORMANCE") == "1":
        pytest.skip("BERTH_SKIP_CONFORMANCE=1")
    if package_versions() is None or not shutil.which("go"):
        r = subprocess.run(["sh", os.path.join(REPO, "scripts", "install-deps.sh"),
                            "--conformance"], capture_output=True, text=True, timeout=900)
        if r.returncode != 0 or package_versions() is None or not shutil.which("go"):
            pytest.skip("cannot install the Go toolchain and runtime-tools packages "
                        f"(scripts/install-deps.sh --conformance): {r.stderr[-1000:]}")


def build_checker():
    """Build (or reuse) the checker; the cache key covers the Debian package
    versions and the checker's own sources."""
    h = hashlib.sha256(package_versions().encode())
    for path in sorted(glob.glob(os.path.join(CONF_DIR, "oci-conformance", "*.go"))
                       + [os.path.join(CONF_DIR, "build.sh")]):
        with open(path, "rb") as f:
            h.update(path.encode() + b"\0" + f.read())
    cache = os.path.join(BERTH_BUILD, "conformance")
    out = os.path.join(cache, "oci-conformance-" + h.hexdigest()[:16])
    if not os.access(out, os.X_OK):
        os.makedirs(cache, exist_ok=True)
        for old in glob.glob(os.path.join(cache, "oci-conformance-*")):
            os.unlink(old)
        r = subprocess.run(["sh", os.path.join(CONF_DIR, "build.sh"), out + ".tmp"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"building the conformance checker failed:\n{r.stderr}"
        os.rename(out + ".tmp", out)
    return out


def parse_tap(text):
    """{check: (passed, [diagnostic lines])}"""
    results, last = {}, None
    for line in text.splitlines():
        m = TAP_RE.match(line)
        if m:
            last = m.group(2)
            results[last] = (m.group(1) == "ok", [])
        elif line.startswith("# ") and last:
            results[last][1].append(line[2:])
    return results


def read_expected():
    with open(EXPECTED) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_parse_tap():
    text = ("TAP version 13\nok 1 - a/x\nnot ok 2 - b/y\n# why\n# more\nok 3 - c/z\n1..3\n")
    assert parse_tap(text) == {"a/x": (True, []), "b/y": (False, ["why", "more"]),
                               "c/z": (True, [])}


def test_expected_list_is_sane():
    expected = read_expected()
    assert len(expected) > 300
    assert len(set(expected)) == len(expected)
    # The checks that runc passes cover each area.
    for area in ("create/", "start/", "kill/", "delete/", "hooks/", "process/",
                 "linux_cgroups_memory/", "linux_ns_path/", "linux_masked_paths/"):
        assert any(e.startswith(area) for e in expected), area


@pytest.fixture(scope="module")
def checker():
    ensure_toolchain()
    return build_checker()


@pytest.fixture(scope="module")
def busybox_rootfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("conformance") / "rootfs"
    subprocess.run(["sh", os.path.join(REPO, "scripts", "mk-busybox-rootfs.sh"), str(d)],
                   check=True, capture_output=True)
    return str(d)


def test_checker_lists_validations(checker):
    out = subprocess.run([checker, "-list"], capture_output=True, text=True, check=True).stdout
    names = set(out.split())
    expected_validations = {e.split("/")[0] for e in read_expected()}
    assert expected_validations <= names, expected_validations - names


def test_checker_catches_a_broken_runtime(checker, busybox_rootfs, tmp_path):
    """A "runtime" that fails every command must fail the checks: the
    checker cannot pass vacuously."""
    fake = tmp_path / "false-runtime"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(0o755)
    r = subprocess.run([checker, "-rootfs", busybox_rootfs, "-only", "create,hostname"],
                       env=dict(os.environ, RUNTIME=str(fake)), capture_output=True,
                       text=True, timeout=60)
    results = parse_tap(r.stdout)
    assert results["create/create_with_bundle_path_and_id"][0] is False
    assert results["hostname/run_hostname"][0] is False
    assert any("broken" in d for d in results["hostname/run_hostname"][1])


def test_oci_conformance(checker, busybox_rootfs):
    if not os.access(RUNTIME, os.X_OK):
        pytest.skip(f"OCI runtime `{RUNTIME}` not built")
    r = subprocess.run([checker, "-rootfs", busybox_rootfs],
                       env=dict(os.environ, RUNTIME=RUNTIME), capture_output=True, text=True,
                       timeout=TIMEOUT)
    results = parse_tap(r.stdout)
    assert results, f"no TAP output:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    failures = []
    for check in read_expected():
        if check not in results:
            failures.append(f"{check}: not run")
        elif not results[check][0]:
            diag = "\n    ".join(results[check][1][:20])
            failures.append(f"{check}:\n    {diag}")
    who = "berth-oci" if IS_BERTH else RUNTIME
    assert not failures, (f"{len(failures)} checks that pass with runc fail with {who}:\n"
                          + "\n".join(failures))
