package main

// Checks run inside the container by this same (static) executable, copied
// into the rootfs as /oci-conformance: it reads the config the runtime was
// given (/oci-conformance.json) and compares it with what the process sees.
// It prints "ok - check" / "not ok - check" lines and "# " diagnostics that
// the host side re-emits under the validation's name.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/syndtr/gocapability/capability"
	"golang.org/x/sys/unix"
)

func init() {
	register("process", func(v *V) {
		b := v.NewBundle()
		g := b.G
		g.SetProcessCwd("/tmp")
		g.SetProcessUID(1000)
		g.SetProcessGID(1000)
		g.AddProcessAdditionalGid(5)
		g.AddProcessAdditionalGid(65534)
		g.AddProcessEnv("BERTH_CONFORMANCE", "a=b c")
		g.SetProcessOOMScoreAdj(123)
		g.SetProcessNoNewPrivileges(true)
		g.AddProcessRlimits("RLIMIT_NOFILE", 4096, 2048)
		g.AddProcessRlimits("RLIMIT_CORE", 1<<20, 4096)
		_ = g.AddProcessCapability("CAP_CHOWN")
		_ = g.DropProcessCapability("CAP_NET_RAW")
		v.runInside(b, "process")
	})
	register("process_root", func(v *V) { v.runInside(v.NewBundle(), "process") })
	register("hostname", func(v *V) {
		b := v.NewBundle()
		b.G.SetHostname("conformance-host")
		v.runInside(b, "hostname")
	})
	register("root_readonly", func(v *V) {
		b := v.NewBundle()
		b.G.SetRootReadonly(true)
		v.runInside(b, "root")
	})
	register("root_writable", func(v *V) { v.runInside(v.NewBundle(), "root") })
	register("mounts", func(v *V) {
		b := v.NewBundle()
		b.Host("/data")
		b.G.AddMount(rspec.Mount{Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "size=1m"}})
		b.G.AddMount(rspec.Mount{Destination: "/mnt/ro", Type: "bind", Source: b.Dir,
			Options: []string{"rbind", "ro"}})
		v.runInside(b, "mounts")
	})
	register("linux_devices", func(v *V) {
		b := v.NewBundle()
		mode := os.FileMode(0o640)
		uid, gid := uint32(1000), uint32(1000)
		b.G.AddDevice(rspec.LinuxDevice{Path: "/dev/test-null", Type: "c", Major: 1, Minor: 3,
			FileMode: &mode, UID: &uid, GID: &gid})
		b.G.AddDevice(rspec.LinuxDevice{Path: "/dev/sub/test-zero", Type: "c", Major: 1, Minor: 5})
		b.G.AddDevice(rspec.LinuxDevice{Path: "/dev/test-loop", Type: "b", Major: 7, Minor: 200})
		maj, min := int64(1), int64(3)
		b.G.AddLinuxResourcesDevice(true, "c", &maj, &min, "rwm")
		v.runInside(b, "devices")
	})
	register("linux_masked_paths", func(v *V) {
		b := v.NewBundle()
		must(os.MkdirAll(filepath.Join(b.Rootfs, "masked-dir"), 0o755))
		must(os.WriteFile(filepath.Join(b.Rootfs, "masked-dir", "secret"), []byte("secret"), 0o644))
		must(os.WriteFile(filepath.Join(b.Rootfs, "masked-file"), []byte("secret"), 0o644))
		b.G.AddLinuxMaskedPaths("/masked-dir")
		b.G.AddLinuxMaskedPaths("/masked-file")
		b.G.AddLinuxMaskedPaths("/masked-nonexistent")
		v.runInside(b, "masked")
	})
	register("linux_readonly_paths", func(v *V) {
		b := v.NewBundle()
		must(os.MkdirAll(filepath.Join(b.Rootfs, "ro-dir"), 0o755))
		must(os.WriteFile(filepath.Join(b.Rootfs, "ro-file"), []byte("x"), 0o644))
		b.G.AddLinuxReadonlyPaths("/ro-dir")
		b.G.AddLinuxReadonlyPaths("/ro-file")
		b.G.AddLinuxReadonlyPaths("/ro-nonexistent")
		v.runInside(b, "readonly")
	})
	register("linux_sysctl", func(v *V) {
		b := v.NewBundle()
		b.G.AddLinuxSysctl("net.ipv4.ip_forward", "1")
		b.G.AddLinuxSysctl("kernel.shmmni", "4000")
		b.G.AddLinuxSysctl("kernel.domainname", "conformance.test")
		v.runInside(b, "sysctl")
	})
	register("linux_uid_mappings", func(v *V) {
		b := v.NewBundle()
		must(b.G.AddOrReplaceLinuxNamespace("user", ""))
		b.G.AddLinuxUIDMapping(100000, 0, 65536)
		b.G.AddLinuxGIDMapping(100000, 0, 65536)
		must(filepath.Walk(b.Rootfs, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				err = os.Lchown(p, 100000, 100000)
			}
			return err
		}))
		v.runInside(b, "idmap")
	})
	register("linux_seccomp", func(v *V) {
		b := v.NewBundle()
		b.Spec().Linux.Seccomp = &rspec.LinuxSeccomp{
			DefaultAction: rspec.ActAllow,
			Architectures: []rspec.Arch{rspec.ArchX86_64, rspec.ArchX86, rspec.ArchX32},
			Syscalls:      []rspec.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: rspec.ActErrno}},
		}
		v.runInside(b, "seccomp")
	})
	for _, p := range []string{"private", "slave", "shared", "unbindable", "rprivate", "rslave", "rshared"} {
		p := p
		register("linux_rootfs_propagation_"+p, func(v *V) {
			b := v.NewBundle()
			must(b.G.SetLinuxRootPropagation(p))
			v.runInside(b, "propagation")
		})
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// runInside runs the container with `/oci-conformance inside GROUP` and
// re-emits its TAP lines.
func (v *V) runInside(b *Bundle, group string) {
	data, err := os.ReadFile(v.self)
	must(err)
	must(os.WriteFile(filepath.Join(b.Rootfs, "oci-conformance"), data, 0o755))
	if b.Spec().Linux != nil && len(b.Spec().Linux.UIDMappings) > 0 {
		_ = os.Lchown(filepath.Join(b.Rootfs, "oci-conformance"), int(b.Spec().Linux.UIDMappings[0].HostID),
			int(b.Spec().Linux.GIDMappings[0].HostID))
	}
	// Through sh: the Go runtime raises its own RLIMIT_NOFILE soft limit
	// at start-up, so the limits the runtime set are read by cat first.
	b.G.SetProcessArgs([]string{"/bin/sh", "-c",
		`OCI_CONFORMANCE_LIMITS="$(cat /proc/self/limits)" exec /oci-conformance inside ` + group})
	b.Save()
	if b.Spec().Linux != nil && len(b.Spec().Linux.UIDMappings) > 0 {
		_ = os.Lchown(filepath.Join(b.Rootfs, "oci-conformance.json"), int(b.Spec().Linux.UIDMappings[0].HostID),
			int(b.Spec().Linux.GIDMappings[0].HostID))
	}
	r := b.Run()
	n := 0
	var pending []string
	flush := func(ok bool, name string) {
		v.tap.result(ok, v.name+"/"+name, strings.Join(pending, "\n"))
		pending = nil
	}
	var lastOk bool
	lastName := ""
	for _, line := range strings.Split(r.Out, "\n") {
		switch {
		case strings.HasPrefix(line, "ok - "), strings.HasPrefix(line, "not ok - "):
			if lastName != "" {
				flush(lastOk, lastName)
			}
			lastOk = strings.HasPrefix(line, "ok - ")
			lastName = line[strings.Index(line, " - ")+3:]
			n++
		case strings.HasPrefix(line, "# "):
			pending = append(pending, line[2:])
		}
	}
	if lastName != "" {
		flush(lastOk, lastName)
	}
	v.Ok(r.Err == nil && n > 0, "run_"+group, "%s", r)
}

// ---- the inside half ----

type inside struct{ failed bool }

func (in *inside) ok(cond bool, name, format string, args ...interface{}) {
	if cond {
		fmt.Printf("ok - %s\n", name)
		return
	}
	in.failed = true
	fmt.Printf("not ok - %s\n", name)
	for _, l := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		fmt.Printf("# %s\n", l)
	}
}

func insideMain() int {
	if len(os.Args) < 3 {
		fmt.Println("not ok - usage\n# usage: oci-conformance inside GROUP")
		return 2
	}
	data, err := os.ReadFile("/oci-conformance.json")
	if err != nil {
		fmt.Printf("not ok - read_config\n# %v\n", err)
		return 1
	}
	var spec rspec.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		fmt.Printf("not ok - read_config\n# %v\n", err)
		return 1
	}
	in := &inside{}
	switch os.Args[2] {
	case "process":
		in.process(&spec)
	case "hostname":
		h, err := os.Hostname()
		in.ok(err == nil && h == spec.Hostname, "hostname", "hostname `%s` (%v), want `%s`", h, err, spec.Hostname)
	case "root":
		in.root(&spec)
	case "mounts":
		in.mounts(&spec)
	case "devices":
		in.devices(&spec)
	case "masked":
		in.masked(&spec)
	case "readonly":
		in.readonly(&spec)
	case "sysctl":
		for k, want := range spec.Linux.Sysctl {
			data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(k, ".", "/"))
			got := strings.TrimSpace(string(data))
			in.ok(err == nil && got == want, "sysctl_"+k, "`%s` = `%s` (%v), want `%s`", k, got, err, want)
		}
	case "idmap":
		in.idmap("/proc/self/uid_map", spec.Linux.UIDMappings, "uid_mappings")
		in.idmap("/proc/self/gid_map", spec.Linux.GIDMappings, "gid_mappings")
		in.ok(os.Getuid() == 0, "uid_root_in_userns", "uid %d", os.Getuid())
	case "seccomp":
		err := os.Mkdir("/tmp/seccomp-test", 0o755)
		in.ok(errors.Is(err, syscall.EPERM), "syscall_errno", "mkdir returned %v, want EPERM", err)
		_, err = os.ReadFile("/oci-conformance.json")
		in.ok(err == nil, "other_syscalls_allowed", "%v", err)
	case "propagation":
		in.propagation(&spec)
	default:
		fmt.Printf("not ok - unknown_group\n# `%s`\n", os.Args[2])
		return 2
	}
	if in.failed {
		return 1
	}
	return 0
}

func (in *inside) process(spec *rspec.Spec) {
	p := spec.Process
	cwd, err := os.Getwd()
	in.ok(err == nil && cwd == p.Cwd, "cwd", "cwd `%s` (%v), want `%s`", cwd, err, p.Cwd)
	in.ok(os.Getuid() == int(p.User.UID) && os.Geteuid() == int(p.User.UID), "uid",
		"uid %d euid %d, want %d", os.Getuid(), os.Geteuid(), p.User.UID)
	in.ok(os.Getgid() == int(p.User.GID) && os.Getegid() == int(p.User.GID), "gid",
		"gid %d egid %d, want %d", os.Getgid(), os.Getegid(), p.User.GID)
	groups, _ := os.Getgroups()
	have := map[int]bool{}
	for _, g := range groups {
		have[g] = true
	}
	okg := len(groups) >= len(p.User.AdditionalGids)
	for _, g := range p.User.AdditionalGids {
		okg = okg && have[int(g)]
	}
	in.ok(okg, "additional_gids", "groups %v, want %v", groups, p.User.AdditionalGids)
	env := map[string]bool{}
	for _, e := range os.Environ() {
		env[e] = true
	}
	for _, e := range p.Env {
		in.ok(env[e], "env_"+strings.SplitN(e, "=", 2)[0], "`%s` missing from %v", e, os.Environ())
	}
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	in.ok(err == nil && (nnp == 1) == p.NoNewPrivileges, "no_new_privileges", "no_new_privs %d (%v), want %v",
		nnp, err, p.NoNewPrivileges)
	data, _ := os.ReadFile("/proc/self/oom_score_adj")
	want := 0
	if p.OOMScoreAdj != nil {
		want = *p.OOMScoreAdj
	}
	got, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if p.OOMScoreAdj != nil {
		in.ok(err == nil && got == want, "oom_score_adj", "oom_score_adj `%s`, want %d", strings.TrimSpace(string(data)), want)
	}
	for _, rl := range p.Rlimits {
		res, ok := rlimitNames[rl.Type]
		if !ok {
			in.ok(false, "rlimit_"+rl.Type, "unknown rlimit")
			continue
		}
		var lim unix.Rlimit
		err := unix.Getrlimit(res, &lim)
		if name := limitsNames[rl.Type]; name != "" && os.Getenv("OCI_CONFORMANCE_LIMITS") != "" {
			lim.Cur, lim.Max, err = limitFromProc(os.Getenv("OCI_CONFORMANCE_LIMITS"), name)
		}
		in.ok(err == nil && lim.Cur == rl.Soft && lim.Max == rl.Hard, "rlimit_"+rl.Type,
			"soft %d hard %d (%v), want %d %d", lim.Cur, lim.Max, err, rl.Soft, rl.Hard)
	}
	if p.Capabilities != nil {
		caps, err := capability.NewPid2(0)
		if err == nil {
			err = caps.Load()
		}
		if !err2ok(in, err, "capabilities_load") {
			return
		}
		sets := []struct {
			name  string
			which capability.CapType
			want  []string
		}{
			{"bounding", capability.BOUNDING, p.Capabilities.Bounding},
			{"effective", capability.EFFECTIVE, p.Capabilities.Effective},
			{"permitted", capability.PERMITTED, p.Capabilities.Permitted},
			{"inheritable", capability.INHERITABLE, p.Capabilities.Inheritable},
			{"ambient", capability.AMBIENT, p.Capabilities.Ambient},
		}
		last := capability.CAP_LAST_CAP
		for _, s := range sets {
			want := map[string]bool{}
			for _, c := range s.want {
				want[strings.ToUpper(c)] = true
			}
			var diffs []string
			for c := capability.Cap(0); c <= last; c++ {
				name := "CAP_" + strings.ToUpper(c.String())
				if caps.Get(s.which, c) != want[name] {
					diffs = append(diffs, fmt.Sprintf("%s: have %v", name, caps.Get(s.which, c)))
				}
			}
			in.ok(len(diffs) == 0, "capabilities_"+s.name, "%s\nwant %v", strings.Join(diffs, "\n"), s.want)
		}
	}
}

func err2ok(in *inside, err error, name string) bool {
	in.ok(err == nil, name, "%v", err)
	return err == nil
}

var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// The names of /proc/self/limits rows.
var limitsNames = map[string]string{
	"RLIMIT_NOFILE": "Max open files", "RLIMIT_CORE": "Max core file size",
	"RLIMIT_NPROC": "Max processes", "RLIMIT_STACK": "Max stack size",
}

// limitFromProc reads a row of /proc/self/limits (given as TEXT).
func limitFromProc(text, name string) (uint64, uint64, error) {
	parse := func(s string) (uint64, error) {
		if s == "unlimited" {
			return unix.RLIM_INFINITY, nil
		}
		return strconv.ParseUint(s, 10, 64)
	}
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+" ") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(l, name))
		if len(f) < 2 {
			break
		}
		soft, err := parse(f[0])
		if err != nil {
			return 0, 0, err
		}
		hard, err := parse(f[1])
		return soft, hard, err
	}
	return 0, 0, fmt.Errorf("no `%s` row in /proc/self/limits", name)
}

func (in *inside) root(spec *rspec.Spec) {
	f, err := os.Create("/root-write-test")
	if f != nil {
		f.Close()
		os.Remove("/root-write-test")
	}
	if spec.Root.Readonly {
		in.ok(errors.Is(err, syscall.EROFS), "root_readonly", "creating a file in / gave %v, want EROFS", err)
	} else {
		in.ok(err == nil, "root_writable", "%v", err)
	}
	// Whatever the root, the mounts under it stay writable.
	err = os.WriteFile("/dev/shm/x", []byte("x"), 0o644)
	in.ok(err == nil, "dev_shm_writable", "%v", err)
}

type mountEntry struct {
	target, fstype, source string
	opts                   map[string]bool
	optional               string
}

func mountinfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mountEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := 0
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || sep+2 >= len(fields) {
			continue
		}
		m := mountEntry{target: unescape(fields[4]), fstype: fields[sep+1], source: fields[sep+2],
			opts: map[string]bool{}, optional: strings.Join(fields[6:sep], " ")}
		for _, o := range strings.Split(fields[5], ",") {
			m.opts[o] = true
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// lastMount returns the topmost mount at TARGET.
func lastMount(ms []mountEntry, target string) *mountEntry {
	var found *mountEntry
	for i := range ms {
		if ms[i].target == target {
			found = &ms[i]
		}
	}
	return found
}

func (in *inside) mounts(spec *rspec.Spec) {
	ms, err := mountinfo()
	if !err2ok(in, err, "mountinfo") {
		return
	}
	for _, m := range spec.Mounts {
		e := lastMount(ms, m.Destination)
		name := "mount_" + strings.ReplaceAll(strings.Trim(m.Destination, "/"), "/", "_")
		if !in.okm(e != nil, name, "no mount at `%s`", m.Destination) {
			continue
		}
		if m.Type != "bind" && m.Type != "" {
			in.ok(e.fstype == m.Type, name+"_type", "type `%s`, want `%s`", e.fstype, m.Type)
		}
		for _, o := range m.Options {
			if o == "ro" || o == "nosuid" || o == "nodev" || o == "noexec" {
				in.ok(e.opts[o], name+"_"+o, "options %v lack `%s`", keys(e.opts), o)
			}
		}
	}
	// Mount order: /dev/pts is mounted on top of the /dev tmpfs.
	var devIdx, ptsIdx int = -1, -1
	for i, m := range ms {
		if m.target == "/dev" {
			devIdx = i
		}
		if m.target == "/dev/pts" {
			ptsIdx = i
		}
	}
	in.ok(devIdx >= 0 && ptsIdx > devIdx, "mounts_in_order", "/dev at %d, /dev/pts at %d", devIdx, ptsIdx)
	err = os.WriteFile("/data/x", []byte("x"), 0o644)
	in.ok(err == nil, "bind_rw_writable", "%v", err)
	err = os.WriteFile("/mnt/ro/x", []byte("x"), 0o644)
	in.ok(errors.Is(err, syscall.EROFS), "bind_ro_readonly", "writing gave %v, want EROFS", err)
}

func (in *inside) okm(cond bool, name, format string, args ...interface{}) bool {
	in.ok(cond, name, format, args...)
	return cond
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func (in *inside) devices(spec *rspec.Spec) {
	defaults := []rspec.LinuxDevice{
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
		{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
		{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
		{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
		{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
		{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
	}
	for _, d := range append(defaults, spec.Linux.Devices...) {
		name := "device_" + strings.ReplaceAll(strings.TrimPrefix(d.Path, "/dev/"), "/", "_")
		var st unix.Stat_t
		err := unix.Lstat(d.Path, &st)
		if !in.okm(err == nil, name, "`%s`: %v", d.Path, err) {
			continue
		}
		typ := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p"}[st.Mode&unix.S_IFMT]
		in.ok(typ == d.Type || (d.Type == "u" && typ == "c"), name+"_type", "type `%s`, want `%s`", typ, d.Type)
		maj, min := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
		in.ok(int64(maj) == d.Major && int64(min) == d.Minor, name+"_number", "%d:%d, want %d:%d", maj, min, d.Major, d.Minor)
		if d.FileMode != nil {
			in.ok(os.FileMode(st.Mode&0o777) == d.FileMode.Perm(), name+"_mode", "mode %o, want %o", st.Mode&0o777, d.FileMode.Perm())
		}
		if d.UID != nil {
			in.ok(st.Uid == *d.UID, name+"_uid", "uid %d, want %d", st.Uid, *d.UID)
		}
		if d.GID != nil {
			in.ok(st.Gid == *d.GID, name+"_gid", "gid %d, want %d", st.Gid, *d.GID)
		}
	}
	// The device cgroup lets the allowed /dev/test-null through and
	// denies a device that exists but is not allowed.
	f, err := os.OpenFile("/dev/test-null", os.O_WRONLY, 0)
	if f != nil {
		f.Close()
	}
	in.ok(err == nil, "device_cgroup_allowed", "%v", err)
	// A device node made inside (CAP_MKNOD, "m" is allowed) but absent
	// from linux.resources.devices cannot be opened.
	err = unix.Mknod("/dev/test-denied", unix.S_IFBLK|0o600, int(unix.Mkdev(7, 201)))
	if in.okm(err == nil, "device_mknod", "%v", err) {
		f, err = os.OpenFile("/dev/test-denied", os.O_RDONLY, 0)
		if f != nil {
			f.Close()
		}
		in.ok(errors.Is(err, syscall.EPERM), "device_cgroup_denied", "opening b 7:201 gave %v, want EPERM", err)
	}
	for link, target := range map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"} {
		got, err := os.Readlink(link)
		in.ok(err == nil && got == target, "default_symlink_"+strings.TrimPrefix(link, "/dev/"),
			"`%s` -> `%s` (%v), want `%s`", link, got, err, target)
	}
	got, err := os.Readlink("/dev/ptmx")
	in.ok(err == nil && got == "pts/ptmx", "dev_ptmx_symlink", "/dev/ptmx -> `%s` (%v)", got, err)
}

func (in *inside) masked(spec *rspec.Spec) {
	for _, p := range spec.Linux.MaskedPaths {
		name := "masked_" + strings.ReplaceAll(strings.Trim(p, "/"), "/", "_")
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			in.ok(true, name, "")
			continue
		}
		if !in.okm(err == nil, name+"_stat", "stat `%s`: %v", p, err) {
			continue
		}
		if fi.IsDir() {
			ents, err := os.ReadDir(p)
			in.ok(err == nil && len(ents) == 0, name, "`%s` lists %d entries (%v)", p, len(ents), err)
		} else {
			f, err := os.Open(p)
			var data []byte
			if err == nil {
				data, err = io.ReadAll(io.LimitReader(f, 1024))
				f.Close()
			}
			in.ok(err == nil && len(data) == 0 || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM),
				name, "`%s` reads %d bytes (%v)", p, len(data), err)
		}
	}
}

func (in *inside) readonly(spec *rspec.Spec) {
	for _, p := range spec.Linux.ReadonlyPaths {
		name := "readonly_" + strings.ReplaceAll(strings.Trim(p, "/"), "/", "_")
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			in.ok(true, name, "")
			continue
		}
		if !in.okm(err == nil, name+"_stat", "stat `%s`: %v", p, err) {
			continue
		}
		if fi.IsDir() {
			if strings.HasPrefix(p, "/proc/") {
				ms, _ := mountinfo()
				e := lastMount(ms, p)
				in.ok(e != nil && e.opts["ro"], name, "`%s` is not a read-only mount: %+v", p, e)
				continue
			}
			err = os.WriteFile(filepath.Join(p, "x"), []byte("x"), 0o644)
		} else {
			var f *os.File
			f, err = os.OpenFile(p, os.O_WRONLY, 0)
			if f != nil {
				f.Close()
			}
		}
		in.ok(errors.Is(err, syscall.EROFS), name, "writing `%s` gave %v, want EROFS", p, err)
	}
}

func (in *inside) idmap(file string, want []rspec.LinuxIDMapping, name string) {
	data, err := os.ReadFile(file)
	if !err2ok(in, err, name+"_read") {
		return
	}
	var got []rspec.LinuxIDMapping
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m rspec.LinuxIDMapping
		if _, err := fmt.Sscan(l, &m.ContainerID, &m.HostID, &m.Size); err == nil {
			got = append(got, m)
		}
	}
	okm := len(got) == len(want)
	for i := 0; okm && i < len(got); i++ {
		okm = got[i] == want[i]
	}
	in.ok(okm, name, "%s: %v, want %v", file, got, want)
}

func (in *inside) propagation(spec *rspec.Spec) {
	ms, err := mountinfo()
	if !err2ok(in, err, "mountinfo") {
		return
	}
	e := lastMount(ms, "/")
	if !in.okm(e != nil, "root_mount", "no mount at /") {
		return
	}
	p := strings.TrimPrefix(spec.Linux.RootfsPropagation, "r")
	var ok bool
	switch p {
	case "shared":
		ok = strings.Contains(e.optional, "shared:")
	case "slave":
		ok = strings.Contains(e.optional, "master:") && !strings.Contains(e.optional, "shared:")
	case "private":
		ok = e.optional == ""
	case "unbindable":
		ok = strings.Contains(e.optional, "unbindable")
	}
	in.ok(ok, "rootfs_propagation", "/ has optional fields `%s`, want %s", e.optional, spec.Linux.RootfsPropagation)
}
