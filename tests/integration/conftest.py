"""Shared fixtures for Berth's integration tests.

Stable names other test files may import or request (keep them stable):

Module-level helpers (``from conftest import ...`` works because pytest puts
this directory on sys.path; ``oci_util`` holds the same plain helpers):
  RUNTIME              absolute path of the OCI runtime under test:
                       $OCI_RUNTIME if set (e.g. /usr/sbin/runc to validate the
                       tests), else $BERTH_BUILD/src/oci/berth-oci (BERTH_BUILD
                       defaults to /work/main/build-test).
  IS_BERTH             True when RUNTIME is berth-oci (not a reference runtime).
  REPO                 the repository root.
  SPECS_DIR            directory with the OCI runtime-spec JSON schemas.
  default_config(args) a config.json dict like `runc spec` (no terminal).
  Bundle               a bundle dir + private --root; see its docstring.
  ConsoleSocket        a --console-socket listener receiving the pty master.
  leftovers(bundle)    list of things a failed create left behind.
  schema_validator(name) a jsonschema validator for a schema file in SPECS_DIR.

Fixtures:
  runtime              RUNTIME (skips the test if the binary does not exist).
  rootfs_template      session-scoped busybox rootfs (never modify it).
  bundle               a fresh Bundle (rootfs copied from the template),
                       deleted with --force and removed after the test.
  make_bundle          factory for extra bundles: make_bundle() -> Bundle.
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oci_util import (  # noqa: E402,F401  (re-exported, see docstring)
    IS_BERTH,
    REPO,
    RUNTIME,
    SPECS_DIR,
    Bundle,
    ConsoleSocket,
    default_config,
    leftovers,
    make_rootfs,
    schema_validator,
)


@pytest.fixture(scope="session")
def runtime():
    if not os.access(RUNTIME, os.X_OK):
        pytest.skip(f"OCI runtime `{RUNTIME}` not built")
    return RUNTIME


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    d = tmp_path_factory.mktemp("busybox") / "rootfs"
    make_rootfs(str(d))
    return str(d)


@pytest.fixture
def make_bundle(runtime, rootfs_template):
    made = []
    # Not under pytest's 0700 tmp_path: user-namespaced containers (uid 100000)
    # must be able to traverse to the rootfs.
    base = tempfile.mkdtemp(prefix="berth-it-", dir="/tmp")
    os.chmod(base, 0o711)

    def factory(**kw):
        b = Bundle(os.path.join(base, f"b{len(made)}"), rootfs_template, **kw)
        made.append(b)
        return b

    yield factory
    for b in made:
        b.cleanup()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()
