// Command oci-conformance checks an OCI runtime against the runtime-spec,
// driving it through its command line (create, start, state, kill, delete,
// run) and checking the result from the host and from inside the container.
//
// It is Berth's own checker, built offline in GOPATH mode on the library
// packages of Debian's golang-github-opencontainers-runtime-tools-dev
// (generate for the configs, cgroups to read back cgroup v1 limits,
// specerror for the requirement each check stands for) and on the
// runtime-spec JSON schemas of golang-github-opencontainers-specs-dev.
// Debian's package ships neither the upstream validation/ programs nor
// runtimetest, so the validations here are named after upstream's but
// written for Berth.
//
// Usage (as root):
//
//	RUNTIME=/usr/sbin/runc oci-conformance -rootfs DIR [-only a,b] [-list]
//	oci-conformance inside      (run by the runtime inside a container)
//
// Output is TAP: one line per check, named "validation/check", and the
// diagnostics of a failure as "# " lines under it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A validation runs a group of checks against one or more containers.
type validation struct {
	name string
	run  func(v *V)
}

var validations []validation

// noSeccomp drops the default seccomp profile of generate.New.
var noSeccomp bool

func register(name string, run func(v *V)) {
	validations = append(validations, validation{name, run})
}

// TAP writes the test stream.
type TAP struct {
	n int
}

func (t *TAP) result(ok bool, name string, diag string) {
	t.n++
	status := "ok"
	if !ok {
		status = "not ok"
	}
	fmt.Printf("%s %d - %s\n", status, t.n, name)
	if diag != "" {
		for _, l := range strings.Split(strings.TrimRight(diag, "\n"), "\n") {
			fmt.Printf("# %s\n", l)
		}
	}
}

// V is the context of one validation.
type V struct {
	name    string
	runtime string
	rootfs  string // the template rootfs, never modified
	self    string // this executable, copied into rootfs for "inside"
	tap     *TAP
	base    string // a private temporary directory
	bundles []*Bundle
}

// Ok records one check.
func (v *V) Ok(ok bool, check string, format string, args ...interface{}) bool {
	diag := ""
	if !ok {
		diag = fmt.Sprintf(format, args...)
	}
	v.tap.result(ok, v.name+"/"+check, diag)
	return ok
}

// Fatal records a failed check whose failure stops the validation.
func (v *V) Fatal(check string, format string, args ...interface{}) {
	v.Ok(false, check, format, args...)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "inside" {
		os.Exit(insideMain())
	}
	rootfs := flag.String("rootfs", "", "busybox rootfs template (required)")
	only := flag.String("only", "", "comma-separated validations to run")
	list := flag.Bool("list", false, "list the validations and exit")
	flag.BoolVar(&noSeccomp, "no-default-seccomp", false,
		"drop runtime-tools' default seccomp profile from the configs (diagnosis)")
	flag.Parse()

	if *list {
		for _, val := range validations {
			fmt.Println(val.name)
		}
		return
	}
	runtime := os.Getenv("RUNTIME")
	if runtime == "" || *rootfs == "" {
		fmt.Fprintln(os.Stderr, "usage: RUNTIME=PATH oci-conformance -rootfs DIR [-only a,b]")
		os.Exit(2)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "oci-conformance: %v\n", err)
		os.Exit(2)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	sort.SliceStable(validations, func(i, j int) bool { return validations[i].name < validations[j].name })

	tap := &TAP{}
	fmt.Println("TAP version 13")
	for _, val := range validations {
		if len(want) > 0 && !want[val.name] {
			continue
		}
		base, err := os.MkdirTemp("/tmp", "oci-conf-")
		if err != nil {
			tap.result(false, val.name+"/setup", err.Error())
			continue
		}
		// User-namespaced containers must be able to traverse to the rootfs.
		_ = os.Chmod(base, 0o711)
		v := &V{name: val.name, runtime: runtime, rootfs: *rootfs, self: self, tap: tap, base: base}
		func() {
			defer func() {
				if r := recover(); r != nil {
					v.Fatal("panic", "%v", r)
				}
			}()
			val.run(v)
		}()
		for _, b := range v.bundles {
			b.cleanup()
		}
		_ = os.RemoveAll(base)
	}
	// The parents of the relative cgroupsPaths, once empty.
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/oci-conformance")
	for _, p := range parents {
		_ = os.Remove(p)
	}
	fmt.Printf("1..%d\n", tap.n)
}

// absPath joins a bundle-relative path.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
