"""Plain helpers for the OCI runtime integration tests (see conftest.py)."""

import array
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import peers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH_BUILD = os.environ.get("BERTH_BUILD") or os.path.join(REPO, "build-test")
RUNTIME = os.environ.get("OCI_RUNTIME") or os.path.join(BERTH_BUILD, "src", "oci", "berth-oci")
IS_BERTH = os.path.basename(RUNTIME).startswith("berth")

_LOCAL_SCHEMAS = os.path.join(REPO, "src", "runtime", "schemas")
SPECS_DIR = _LOCAL_SCHEMAS if os.path.isdir(_LOCAL_SCHEMAS) else "/work/shared/specs/oci-runtime-spec"
SPEC_TESTS_DIR = "/work/shared/specs/oci-runtime-spec/test"

DEFAULT_CAPS = peers.DEFAULT_CAPS


def make_rootfs(path):
    """Build a busybox rootfs at PATH with scripts/mk-busybox-rootfs.sh."""
    subprocess.run(["sh", os.path.join(REPO, "scripts", "mk-busybox-rootfs.sh"), path],
                   check=True, capture_output=True)


def default_config(args=None, cgroups_path=None):
    """A config.json dict similar to `runc spec`, without a terminal: peers'
    config with a writable root and the hostname the tests expect."""
    cfg = peers.default_config(list(args or ["sh"]), hostname="berth-test")
    cfg["root"]["readonly"] = False
    if cgroups_path:
        cfg["linux"]["cgroupsPath"] = cgroups_path
    return cfg


class Result:
    """Outcome of one runtime command: rc, out, err (text)."""

    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return (f"Result(argv={self.argv!r}, rc={self.rc}, out={self.out[-2000:]!r}, "
                f"err={self.err[-2000:]!r})")


class Bundle:
    """A bundle directory with its own rootfs copy, config and --root state dir.

    Attributes: dir, rootfs, root (the --root state dir), id (unique container
    id), cgroups_path ("/berth-it-<id>"), config (dict written by
    write_config() and by every lifecycle call).

    Methods (each returns a Result unless said otherwise; the runtime's own
    stdio and, for create/run, the container's stdio go to files so that a
    detached container never blocks us):
      rt(*args)           any runtime command with --root (and --log if log=).
      run(args=None)      `run` in the foreground; Result.out = container stdout.
      create(*extra)      `create --bundle`; container stdio -> ctr_output().
      start(), kill(sig, all=False), delete(force=False), pause(), resume(),
      ps(), exec(args, *extra), update(*extra)
      state()             parsed `state` JSON (raises on failure).
      wait_stopped(t)     poll `state` until stopped; returns the final state.
      ctr_output()        (stdout, stderr) written so far by a created container.
      cleanup()           delete --force, kill leftovers, unmount, rm -rf.
    """

    def __init__(self, path, rootfs_template, args=None, runtime=None):
        self.dir = path
        self.rootfs = os.path.join(path, "rootfs")
        self.root = os.path.join(path, "state")
        self.runtime = runtime or RUNTIME
        self.id = "bit-" + uuid.uuid4().hex[:12]
        self.cgroups_path = "/berth-it-" + self.id
        os.makedirs(path, exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        subprocess.run(["cp", "-a", rootfs_template, self.rootfs], check=True)
        self.config = default_config(args, self.cgroups_path)
        self._n = 0

    # -- plumbing ---------------------------------------------------------
    def write_config(self):
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2)

    @property
    def args(self):
        return self.config["process"]["args"]

    @args.setter
    def args(self, value):
        self.config["process"]["args"] = list(value)

    def sh(self, script):
        """Set the process to `sh -c SCRIPT`."""
        self.args = ["sh", "-c", script]

    def rt(self, *args, timeout=15, log=None, global_args=(), stdin=None, pass_fds=(),
           env=None):
        self._n += 1
        outp = os.path.join(self.dir, f"cmd{self._n}.out")
        errp = os.path.join(self.dir, f"cmd{self._n}.err")
        argv = [self.runtime, "--root", self.root]
        if log:
            argv += ["--log", log, "--log-format", "json"]
        argv += list(global_args) + [str(a) for a in args]
        with open(outp, "wb") as o, open(errp, "wb") as e:
            try:
                p = subprocess.run(argv, stdout=o, stderr=e, stdin=stdin if stdin is not None
                                   else subprocess.DEVNULL, timeout=timeout,
                                   pass_fds=pass_fds, env=env)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        self._last_out, self._last_err = outp, errp
        with open(outp, errors="replace") as o, open(errp, errors="replace") as e:
            return Result(argv, rc, o.read(), e.read())

    # -- lifecycle --------------------------------------------------------
    def run(self, args=None, *extra, **kw):
        if args is not None:
            self.args = args
        self.write_config()
        return self.rt("run", "--bundle", self.dir, *extra, self.id, **kw)

    def create(self, *extra, **kw):
        self.write_config()
        r = self.rt("create", "--bundle", self.dir, *extra, self.id, **kw)
        self._ctr_out, self._ctr_err = self._last_out, self._last_err
        return r

    def ctr_output(self):
        with open(self._ctr_out, errors="replace") as o, open(self._ctr_err, errors="replace") as e:
            return o.read(), e.read()

    def start(self, **kw):
        return self.rt("start", self.id, **kw)

    def state(self):
        r = self.rt("state", self.id)
        assert r.ok, r
        return json.loads(r.out)

    def kill(self, sig="KILL", *extra):
        return self.rt("kill", *extra, self.id, sig)

    def delete(self, force=False):
        return self.rt("delete", *(["--force"] if force else []), self.id)

    def pause(self):
        return self.rt("pause", self.id)

    def resume(self):
        return self.rt("resume", self.id)

    def ps(self, *extra):
        return self.rt("ps", *extra, self.id)

    def exec(self, args, *extra, **kw):
        return self.rt("exec", *extra, self.id, *args, **kw)

    def update(self, *extra):
        return self.rt("update", *extra, self.id)

    def wait_stopped(self, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            st = self.state()
            if st["status"] == "stopped" or time.monotonic() > end:
                return st
            time.sleep(0.02)

    def run_detached(self, script):
        """create+start a `sh -c SCRIPT` container; asserts both succeed."""
        self.sh(script)
        r = self.create()
        assert r.ok, r
        r = self.start()
        assert r.ok, r

    def cgroup_dirs(self):
        """Existing /sys/fs/cgroup/<ctrl>/<cgroupsPath> directories."""
        rel = self.cgroups_path.lstrip("/")
        return [d for d in glob.glob(f"/sys/fs/cgroup/*/{rel}") if os.path.isdir(d)]

    # -- cleanup ----------------------------------------------------------
    def cleanup(self):
        try:
            self.rt("delete", "--force", self.id, timeout=15)
        except Exception:
            pass
        for pid in processes_in(self.rootfs):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for mp in reversed(mounts_under(self.dir)):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        for d in sorted(self.cgroup_dirs(), key=len, reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)


def mounts_under(path):
    """Mount points at or below PATH in this mount namespace."""
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def processes_in(rootfs):
    """PIDs whose root or cwd is ROOTFS or below it."""
    rootfs = os.path.realpath(rootfs)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        for link in ("root", "cwd"):
            try:
                t = os.readlink(f"/proc/{d}/{link}")
            except OSError:
                continue
            if t == rootfs or t.startswith(rootfs + "/"):
                pids.append(int(d))
                break
    return pids


def leftovers(bundle):
    """What a failed `create`/`run` left behind: state dir, cgroups, mounts, processes."""
    found = []
    sd = os.path.join(bundle.root, bundle.id)
    if os.path.exists(sd):
        found.append(f"state dir {sd}")
    found += [f"cgroup {d}" for d in bundle.cgroup_dirs()]
    found += [f"mount {m}" for m in mounts_under(bundle.dir)]
    found += [f"process {p}" for p in processes_in(bundle.rootfs)]
    return found


class ConsoleSocket:
    """Listens on a unix socket for --console-socket; receive() returns the pty master fd."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.master = -1

    def receive(self):
        conn, _ = self.sock.accept()
        with conn:
            fds = array.array("i")
            msg, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
        assert len(fds) >= 1, f"no fd received over the console socket (msg {msg!r})"
        self.master = fds[0]
        for extra in fds[1:]:
            os.close(extra)
        return self.master

    def read_until(self, needle, timeout=10.0):
        """Read from the pty master until NEEDLE (bytes) shows up; returns all read."""
        import select
        buf = b""
        end = time.monotonic() + timeout
        while needle not in buf and time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        return buf

    def close(self):
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        self.sock.close()


def schema_validator(name):
    """jsonschema validator for SPECS_DIR/NAME, resolving sibling $refs."""
    import jsonschema
    path = os.path.join(SPECS_DIR, name)
    with open(path) as f:
        schema = json.load(f)
    resolver = jsonschema.RefResolver(base_uri="file://" + SPECS_DIR + "/", referrer=schema)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, resolver=resolver)


def status_field(text, field):
    """Value of FIELD in a /proc/<pid>/status dump."""
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(field)


CAP_NAMES = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
             "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
             "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
             "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
             "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
             "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
             "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]


def cap_mask(names):
    """Bit mask of capability NAMES ("CAP_CHOWN", ...) as /proc/self/status prints it."""
    m = 0
    for n in names:
        m |= 1 << CAP_NAMES.index(n.removeprefix("CAP_"))
    return m
