#!/usr/bin/python3
"""Berth's runtime benchmark: berth-oci vs crun vs runc on a busybox bundle running `true`.

Run through bench/run.sh, which puts this process in a private mount namespace where
/sys/fs/cgroup/unified is an empty tmpfs (crun refuses the host's hybrid cgroup
layout otherwise); all three runtimes run in that same namespace.

  bench.py BUILD_DIR [--runs N]

One hyperfine invocation measures, for each runtime:
  run     `RT --root R run -b B ID`          (create + start + wait + delete)
  create  `RT create -b B ID`                (prepare: delete leftovers)
  start   `RT start ID`                      (prepare: create)
  delete  `RT delete --force ID`             (prepare: create + start)
Then peak RSS: GNU time's %M (largest ru_maxrss in the runtime's process tree)
over five `RT run`s.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import peers  # noqa: E402


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def smoke(rt, root, bundle):
    """Check that RT really runs a container; return None when it does, else the error."""
    p = subprocess.run([rt, "--root", root, "run", "-b", bundle, "smoke-%d" % os.getpid()],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or p.stdout != "smoke-ok pid=1\n":
        return "exit %d: stdout %r stderr %r" % (p.returncode, p.stdout, p.stderr)
    return None


def diagnose(runtimes, bundle):
    """After a failed hyperfine run: replay each step once and show what failed."""
    for name, path, root in runtimes:
        cid = "diag-" + name
        for args in (["run", "-b", bundle, cid], ["create", "-b", bundle, cid],
                     ["start", cid], ["delete", "--force", cid]):
            p = subprocess.run([path, "--root", root] + args, capture_output=True,
                               text=True, timeout=30)
            if p.returncode != 0:
                print("bench: `%s %s` exited %d: %s" % (name, " ".join(args), p.returncode,
                                                         p.stderr.strip()), file=sys.stderr)


# Peak RSS comes from GNU time (`-f %M`: the largest ru_maxrss in the runtime's
# process tree, as reported by wait4).  Not Python's RUSAGE_CHILDREN: a peak RSS
# survives execve, so anything spawned from Python reports Python's ~10 MiB.
GNU_TIME = "/usr/bin/time"


def peak_rss_kib(argv, n=5):
    """Largest peak RSS (KiB) of ARGV's process tree over N runs, or None."""
    best = 0
    for i in range(n):
        with tempfile.NamedTemporaryFile("r") as out:
            p = subprocess.run([GNU_TIME, "-f", "%M", "-o", out.name] +
                               [a.replace("{i}", str(i)) for a in argv],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=30)
            if p.returncode != 0:
                return None
            best = max(best, int(out.read().split()[-1]))
    return best


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench.py BUILD_DIR [--runs N]")
    build = os.path.abspath(sys.argv[1])
    runs = 100
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])

    candidates = [("berth-oci", os.path.join(build, "src", "oci", "berth-oci")),
                  ("crun", shutil.which("crun")), ("runc", shutil.which("runc"))]
    tmp = tempfile.mkdtemp(prefix="berth-bench-")
    missing = []
    try:
        bundle = peers.make_bundle(os.path.join(tmp, "bundle"),
                                   peers.default_config(["true"]))
        smoke_bundle = os.path.join(tmp, "smoke")
        os.makedirs(smoke_bundle)
        conf = peers.default_config(["sh", "-c", "echo smoke-ok pid=$$"])
        conf["root"]["path"] = os.path.join(bundle, "rootfs")
        with open(os.path.join(smoke_bundle, "config.json"), "w") as f:
            json.dump(conf, f)
        runtimes = []
        for name, path in candidates:
            root = os.path.join(tmp, "state-" + name)
            if not path or not os.access(path, os.X_OK):
                missing.append((name, "not found (%s)" % path))
                continue
            err = smoke(path, root, smoke_bundle)
            if err:
                missing.append((name, err.strip()))
                continue
            runtimes.append((name, path, root))
        for name, why in missing:
            print("bench: %s is not benchmarked: %s" % (name, why), file=sys.stderr)
        if not runtimes:
            sys.exit("bench: no runtime works")

        # -N: no shell between hyperfine and the runtime, so sub-millisecond
        # figures stay meaningful.  Each timed command starts from a clean slate:
        # its --prepare force-deletes the id it is about to use (hyperfine 1.15 has
        # no per-run counter to make ids unique; `run` deletes its container anyway).
        cmd = ["hyperfine", "--style", "basic", "-N", "--warmup", "5", "--runs", str(runs),
               "--export-json", os.path.join(tmp, "hyperfine.json")]
        for name, path, root in runtimes:
            rt = "%s --root %s" % (path, root)
            cid = "bench-" + name
            rm = "%s delete --force %s >/dev/null 2>&1" % (rt, cid)
            create = "%s create -b %s %s" % (rt, bundle, cid)
            steps = [
                ("run", "%s run -b %s %s" % (rt, bundle, cid), "%s; true" % rm),
                ("create", create, "%s; true" % rm),
                ("start", "%s start %s" % (rt, cid), "%s; %s" % (rm, create)),
                ("delete", "%s delete --force %s" % (rt, cid),
                 "%s; %s && %s start %s" % (rm, create, rt, cid)),
            ]
            for step, command, prepare in steps:
                cmd += ["--prepare", "sh -c %s" % sh_quote(prepare),
                        "-n", "%s %s" % (name, step), command]
        if subprocess.run(cmd).returncode != 0:
            diagnose(runtimes, bundle)
            sys.exit("bench: hyperfine failed")
        # Leave nothing behind from the phase benchmarks.
        for name, path, root in runtimes:
            subprocess.run([path, "--root", root, "delete", "--force", "bench-" + name],
                           capture_output=True)

        with open(os.path.join(tmp, "hyperfine.json")) as f:
            results = {r["command"]: r for r in json.load(f)["results"]}

        print("\n== median wall time (ms) ==")
        print("%-10s %9s %9s %9s %9s" % ("runtime", "run", "create", "start", "delete"))
        for name, _, _ in runtimes:
            print("%-10s" % name + "".join(
                " %9.2f" % (results["%s %s" % (name, s)]["median"] * 1e3)
                for s in ("run", "create", "start", "delete")))

        names = [n for n, _, _ in runtimes]
        print("\n== ratios of medians (how many times faster; >1 means the first is faster) ==")
        pairs = [("berth-oci", "crun"), ("berth-oci", "runc"), ("crun", "runc")]
        for a, b in pairs:
            if a in names and b in names:
                print("%-9s vs %-5s" % (a, b) + "".join(
                    "  %s %.2fx" % (s, results["%s %s" % (b, s)]["median"]
                                    / results["%s %s" % (a, s)]["median"])
                    for s in ("run", "create", "start", "delete")))

        print("\n== peak RSS (KiB): largest process of the runtime's tree during 5 `run`s ==")
        print("%-10s %s   (/bin/true: the measurement's floor)"
              % ("floor", peak_rss_kib(["/bin/true"])))
        for name, path, root in runtimes:
            rss = peak_rss_kib([path, "--root", root, "run", "-b", bundle, "rss-{i}"])
            print("%-10s %s" % (name, rss if rss is not None else "failed"))
    finally:
        for name, path, root in [(n, p, os.path.join(tmp, "state-" + n))
                                 for n, p in candidates if p]:
            if os.path.isdir(root):
                for cid in os.listdir(root):
                    subprocess.run([path, "--root", root, "delete", "--force", cid],
                                   capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
