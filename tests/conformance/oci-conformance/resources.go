package main

// Validations of linux.resources (read back with runtime-tools' cgroups
// package, cgroup v1) and of linux.namespaces, checked from the host.

import (
	"fmt"
	"os"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/cgroups"
)

func init() {
	for _, rel := range []bool{false, true} {
		rel := rel
		prefix := "linux_cgroups_"
		if rel {
			prefix = "linux_cgroups_relative_"
		}
		register(prefix+"memory", func(v *V) { cgroupMemory(v, rel) })
		register(prefix+"cpus", func(v *V) { cgroupCPUs(v, rel) })
		register(prefix+"pids", func(v *V) { cgroupPids(v, rel) })
		register(prefix+"blkio", func(v *V) { cgroupBlkio(v, rel) })
		register(prefix+"devices", func(v *V) { cgroupDevices(v, rel) })
	}
	register("linux_ns_nopath", validateNsNoPath)
	register("linux_ns_path", validateNsPath)
	register("linux_ns_itype", validateNsInherit)
}

// createForCgroup creates B (with a relative cgroupsPath when REL) and
// returns the cgroup reader, the pid and the path to read.
func createForCgroup(v *V, b *Bundle, rel bool) (cgroups.Cgroup, int, string, bool) {
	if rel {
		b.G.SetLinuxCgroupsPath("oci-conformance/" + b.ID)
	}
	if r := b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return nil, 0, "", false
	}
	st, r := b.StateOf()
	if !v.Ok(st != nil, "state", "%s", r) {
		return nil, 0, "", false
	}
	cg, err := cgroups.FindCgroup()
	if !v.Ok(err == nil, "find_cgroup", "%v", err) {
		return nil, 0, "", false
	}
	return cg, st.Pid, b.Spec().Linux.CgroupsPath, true
}

func cgroupMemory(v *V, rel bool) {
	b := v.NewBundle()
	limit, reservation, swap := int64(50<<20), int64(30<<20), int64(100<<20)
	swappiness := uint64(40)
	b.G.SetLinuxResourcesMemoryLimit(limit)
	b.G.SetLinuxResourcesMemoryReservation(reservation)
	b.G.SetLinuxResourcesMemorySwap(swap)
	b.G.SetLinuxResourcesMemorySwappiness(swappiness)
	b.G.SetLinuxResourcesMemoryDisableOOMKiller(true)
	cg, pid, path, ok := createForCgroup(v, b, rel)
	if !ok {
		return
	}
	lm, err := cg.GetMemoryData(pid, path)
	if !v.Ok(err == nil, "read_memory", "%v", err) {
		return
	}
	v.Ok(lm.Limit != nil && *lm.Limit == limit, "memory_limit", "limit %v, want %d", deref(lm.Limit), limit)
	v.Ok(lm.Reservation != nil && *lm.Reservation == reservation, "memory_reservation", "reservation %v, want %d",
		deref(lm.Reservation), reservation)
	v.Ok(lm.Swap != nil && *lm.Swap == swap, "memory_swap", "memsw %v, want %d", deref(lm.Swap), swap)
	v.Ok(lm.Swappiness != nil && *lm.Swappiness == swappiness, "memory_swappiness", "swappiness %v, want %d",
		derefu(lm.Swappiness), swappiness)
	v.Ok(lm.DisableOOMKiller != nil && *lm.DisableOOMKiller, "memory_disable_oom_killer", "oom_kill_disable %v",
		lm.DisableOOMKiller)
}

func cgroupCPUs(v *V, rel bool) {
	b := v.NewBundle()
	shares, quota, period := uint64(1024), int64(50000), uint64(100000)
	b.G.SetLinuxResourcesCPUShares(shares)
	b.G.SetLinuxResourcesCPUQuota(quota)
	b.G.SetLinuxResourcesCPUPeriod(period)
	b.G.SetLinuxResourcesCPUCpus("0")
	b.G.SetLinuxResourcesCPUMems("0")
	cg, pid, path, ok := createForCgroup(v, b, rel)
	if !ok {
		return
	}
	lc, err := cg.GetCPUData(pid, path)
	if !v.Ok(err == nil, "read_cpu", "%v", err) {
		return
	}
	v.Ok(lc.Shares != nil && *lc.Shares == shares, "cpu_shares", "shares %v, want %d", derefu(lc.Shares), shares)
	v.Ok(lc.Quota != nil && *lc.Quota == quota, "cpu_quota", "quota %v, want %d", deref(lc.Quota), quota)
	v.Ok(lc.Period != nil && *lc.Period == period, "cpu_period", "period %v, want %d", derefu(lc.Period), period)
	v.Ok(lc.Cpus == "0", "cpuset_cpus", "cpus `%s`, want `0`", lc.Cpus)
	v.Ok(lc.Mems == "0", "cpuset_mems", "mems `%s`, want `0`", lc.Mems)
}

func cgroupPids(v *V, rel bool) {
	b := v.NewBundle()
	b.G.SetLinuxResourcesPidsLimit(77)
	cg, pid, path, ok := createForCgroup(v, b, rel)
	if !ok {
		return
	}
	lp, err := cg.GetPidsData(pid, path)
	if !v.Ok(err == nil, "read_pids", "%v", err) {
		return
	}
	v.Ok(lp.Limit == 77, "pids_limit", "pids.max %d, want 77", lp.Limit)
}

// rootDevice returns the major:minor of the device holding /.
func rootDevice() (int64, int64, bool) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return 0, 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == "/" {
			var maj, min int64
			if _, err := fmt.Sscanf(f[2], "%d:%d", &maj, &min); err == nil && maj != 0 {
				if _, err := os.Stat(fmt.Sprintf("/sys/dev/block/%d:%d", maj, min)); err == nil {
					return maj, min, true
				}
			}
		}
	}
	return 0, 0, false
}

func cgroupBlkio(v *V, rel bool) {
	b := v.NewBundle()
	maj, min, haveDev := rootDevice()
	if haveDev {
		b.G.AddLinuxResourcesBlockIOThrottleReadBpsDevice(maj, min, 102400)
		b.G.AddLinuxResourcesBlockIOThrottleWriteIOPSDevice(maj, min, 300)
	}
	cg, pid, path, ok := createForCgroup(v, b, rel)
	if !ok {
		return
	}
	if !v.Ok(haveDev, "block_device", "no block device under / to throttle") {
		return
	}
	// runtime-tools' GetBlockIOData also wants blkio.weight, which a
	// kernel without CFQ lacks: read the throttle files themselves.
	_ = cg
	want := fmt.Sprintf("%d:%d ", maj, min)
	for file, rate := range map[string]uint64{"blkio.throttle.read_bps_device": 102400,
		"blkio.throttle.write_iops_device": 300} {
		data, err := readCgroupFile(pid, "blkio", path, file)
		v.Ok(err == nil && strings.Contains(data, want+fmt.Sprint(rate)), file, "`%s` (%v), want `%s%d`",
			strings.TrimSpace(data), err, want, rate)
	}
}

func cgroupDevices(v *V, rel bool) {
	b := v.NewBundle()
	maj, min := int64(1), int64(3)
	b.G.AddLinuxResourcesDevice(true, "c", &maj, &min, "rw")
	bmaj := int64(7)
	b.G.AddLinuxResourcesDevice(true, "b", &bmaj, nil, "r")
	cg, pid, path, ok := createForCgroup(v, b, rel)
	if !ok {
		return
	}
	devs, err := cg.GetDevicesData(pid, path)
	if !v.Ok(err == nil, "read_devices", "%v", err) {
		return
	}
	has := func(typ string, ma, mi int64, access string) bool {
		for _, d := range devs {
			if d.Allow && d.Type == typ && d.Major != nil && *d.Major == ma && d.Minor != nil &&
				*d.Minor == mi && strings.Contains(d.Access, access) {
				return true
			}
		}
		return false
	}
	v.Ok(has("c", 1, 3, "rw"), "device_allow_c_1_3", "devices: %+v", devs)
	// A wildcard minor, as devices.list shows it.
	list, err := readCgroupFile(pid, "devices", path, "devices.list")
	v.Ok(err == nil && strings.Contains(list, "b 7:* r"), "device_allow_b_7_any", "devices.list (%v):\n%s", err, list)
}

// readCgroupFile reads FILE of the v1 SUBSYSTEM cgroup of PID, checking
// that it is the one cgroupsPath PATH names.
func readCgroupFile(pid int, subsystem, path, file string) (string, error) {
	sub, err := cgroups.GetSubsystemPath(pid, subsystem)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(sub, strings.TrimPrefix(path, "/")) {
		return "", fmt.Errorf("pid %d is in %s cgroup `%s`, not `%s`", pid, subsystem, sub, path)
	}
	data, err := os.ReadFile("/sys/fs/cgroup/" + subsystem + sub + "/" + file)
	return string(data), err
}

func deref(p *int64) interface{} {
	if p == nil {
		return "unset"
	}
	return *p
}

func derefu(p *uint64) interface{} {
	if p == nil {
		return "unset"
	}
	return *p
}

var nsFiles = map[rspec.LinuxNamespaceType]string{
	rspec.PIDNamespace: "pid", rspec.NetworkNamespace: "net", rspec.MountNamespace: "mnt",
	rspec.IPCNamespace: "ipc", rspec.UTSNamespace: "uts", rspec.CgroupNamespace: "cgroup",
}

func nsOf(pid int, file string) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, file))
	return l
}

// validateNsNoPath: every namespace without a path is new.
func validateNsNoPath(v *V) {
	b := v.NewBundle()
	must(b.G.AddOrReplaceLinuxNamespace("cgroup", ""))
	if r := b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	st, r := b.StateOf()
	if !v.Ok(st != nil, "state", "%s", r) {
		return
	}
	for _, file := range nsFiles {
		in, host := nsOf(st.Pid, file), nsOf(os.Getpid(), file)
		v.Ok(in != "" && in != host, "new_"+file, "container %s = `%s`, host `%s`", file, in, host)
	}
}

// validateNsInherit: namespaces absent from the config are the runtime's.
func validateNsInherit(v *V) {
	b := v.NewBundle()
	must(b.G.RemoveLinuxNamespace("network"))
	must(b.G.RemoveLinuxNamespace("ipc"))
	must(b.G.RemoveLinuxNamespace("uts"))
	b.G.RemoveHostname()
	if r := b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	st, r := b.StateOf()
	if !v.Ok(st != nil, "state", "%s", r) {
		return
	}
	for _, file := range []string{"net", "ipc", "uts"} {
		in, host := nsOf(st.Pid, file), nsOf(os.Getpid(), file)
		v.Ok(in != "" && in == host, "inherit_"+file, "container %s = `%s`, host `%s`", file, in, host)
	}
}

// validateNsPath: a namespace with a path is joined.
func validateNsPath(v *V) {
	a := v.NewBundle()
	if r := a.Create(); !v.Ok(r.Err == nil, "create_first", "%s", r) {
		return
	}
	sa, r := a.StateOf()
	if !v.Ok(sa != nil, "state_first", "%s", r) {
		return
	}
	b := v.NewBundle()
	for _, typ := range []string{"network", "ipc", "uts"} {
		must(b.G.AddOrReplaceLinuxNamespace(typ, fmt.Sprintf("/proc/%d/ns/%s",
			sa.Pid, nsFiles[rspec.LinuxNamespaceType(typ)])))
	}
	b.G.RemoveHostname()
	if r := b.Create(); !v.Ok(r.Err == nil, "create_joining", "%s", r) {
		return
	}
	sb, r := b.StateOf()
	if !v.Ok(sb != nil, "state_joining", "%s", r) {
		return
	}
	for _, file := range []string{"net", "ipc", "uts"} {
		want, got := nsOf(sa.Pid, file), nsOf(sb.Pid, file)
		v.Ok(got != "" && got == want, "join_"+file, "joined %s = `%s`, want `%s`", file, got, want)
	}
	v.Ok(nsOf(sb.Pid, "pid") != nsOf(sa.Pid, "pid"), "pid_not_shared", "both pid namespaces are `%s`", nsOf(sa.Pid, "pid"))
}
