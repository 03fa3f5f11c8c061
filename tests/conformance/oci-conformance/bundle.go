package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
)

// Bundle is a bundle directory with its own rootfs copy and --root state dir.
type Bundle struct {
	v      *V
	Dir    string
	Rootfs string
	State  string // the runtime's --root
	ID     string
	G      *generate.Generator
	n      int
}

// Result is the outcome of one runtime command.
type Result struct {
	Argv     []string
	Err      error
	Out, Std string // stdout, stderr
}

func (r Result) String() string {
	return fmt.Sprintf("$ %s\nerror: %v\nstdout: %s\nstderr: %s", strings.Join(r.Argv, " "), r.Err,
		strings.TrimSpace(r.Out), strings.TrimSpace(r.Std))
}

// NewBundle copies the rootfs template and starts from runtime-tools' default
// Linux config (like `runc spec`) running ARGS.
func (v *V) NewBundle(args ...string) *Bundle {
	n := len(v.bundles)
	dir := filepath.Join(v.base, fmt.Sprintf("b%d", n))
	b := &Bundle{v: v, Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), State: filepath.Join(dir, "state"),
		ID: fmt.Sprintf("oci-conf-%s-%d-%d", strings.ReplaceAll(v.name, "_", "-"), os.Getpid(), n)}
	v.bundles = append(v.bundles, b)
	if err := os.MkdirAll(b.State, 0o700); err != nil {
		panic(err)
	}
	// User-namespaced containers must be able to traverse to the rootfs.
	_ = os.Chmod(dir, 0o711)
	if out, err := exec.Command("cp", "-a", v.rootfs, b.Rootfs).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("copying the rootfs: %v: %s", err, out))
	}
	g, err := generate.New("linux")
	if err != nil {
		panic(err)
	}
	g.SetRootPath("rootfs")
	g.SetHostname("oci-conformance")
	g.SetLinuxCgroupsPath("/" + b.ID)
	if len(args) == 0 {
		args = []string{"sleep", "3600"}
	}
	g.SetProcessArgs(args)
	if noSeccomp {
		g.Spec().Linux.Seccomp = nil
	}
	b.G = &g
	return b
}

// Spec is the bundle's config being built.
func (b *Bundle) Spec() *rspec.Spec { return b.G.Spec() }

// Save writes config.json (and a copy inside the rootfs for "inside").
func (b *Bundle) Save() {
	opts := generate.ExportOptions{}
	if err := b.G.SaveToFile(filepath.Join(b.Dir, "config.json"), opts); err != nil {
		panic(err)
	}
	if err := b.G.SaveToFile(filepath.Join(b.Rootfs, "oci-conformance.json"), opts); err != nil {
		panic(err)
	}
}

// Rt runs one runtime command with --root; stdio goes to files so that a
// container inheriting it never blocks us.
func (b *Bundle) Rt(args ...string) Result {
	return b.RtTimeout(30*time.Second, args...)
}

func (b *Bundle) RtTimeout(timeout time.Duration, args ...string) Result {
	b.n++
	argv := append([]string{b.v.runtime, "--root", b.State}, args...)
	outp := filepath.Join(b.Dir, fmt.Sprintf("cmd%d.out", b.n))
	errp := filepath.Join(b.Dir, fmt.Sprintf("cmd%d.err", b.n))
	o, err := os.Create(outp)
	if err != nil {
		panic(err)
	}
	e, err := os.Create(errp)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = o, e
	cmd.Dir = b.Dir
	err = cmd.Run()
	o.Close()
	e.Close()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	outb, _ := os.ReadFile(outp)
	errb, _ := os.ReadFile(errp)
	return Result{Argv: argv, Err: err, Out: string(outb), Std: string(errb)}
}

// Create saves the config and runs `create --bundle DIR ID EXTRA...`.
func (b *Bundle) Create(extra ...string) Result {
	b.Save()
	args := append([]string{"create", "--bundle", b.Dir}, extra...)
	return b.Rt(append(args, b.ID)...)
}

// Run saves the config and runs the container in the foreground.
func (b *Bundle) Run() Result {
	b.Save()
	return b.RtTimeout(60*time.Second, "run", "--bundle", b.Dir, b.ID)
}

func (b *Bundle) Start() Result          { return b.Rt("start", b.ID) }
func (b *Bundle) Kill(sig string) Result { return b.Rt("kill", b.ID, sig) }
func (b *Bundle) Delete(extra ...string) Result {
	return b.Rt(append(append([]string{"delete"}, extra...), b.ID)...)
}

// StateOf returns the parsed `state ID`.
func (b *Bundle) StateOf() (*rspec.State, Result) {
	r := b.Rt("state", b.ID)
	if r.Err != nil {
		return nil, r
	}
	var st rspec.State
	if err := json.Unmarshal([]byte(r.Out), &st); err != nil {
		r.Err = fmt.Errorf("state output is not JSON: %v", err)
		return nil, r
	}
	return &st, r
}

// WaitStatus polls `state` until the status is WANT (or TIMEOUT passes).
func (b *Bundle) WaitStatus(want rspec.ContainerState, timeout time.Duration) (*rspec.State, Result) {
	deadline := time.Now().Add(timeout)
	for {
		st, r := b.StateOf()
		if (st != nil && st.Status == want) || time.Now().After(deadline) {
			return st, r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFile waits until PATH exists and returns its contents.
func WaitFile(path string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return string(data), true
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Host returns a bundle-private host directory bind-mounted at DEST.
func (b *Bundle) Host(dest string) string {
	dir := filepath.Join(b.Dir, "host"+strings.ReplaceAll(dest, "/", "-"))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		panic(err)
	}
	_ = os.Chmod(dir, 0o777)
	b.G.AddMount(rspec.Mount{Destination: dest, Type: "bind", Source: dir, Options: []string{"rbind", "rw"}})
	return dir
}

func (b *Bundle) cleanup() {
	st, _ := b.StateOf()
	if st != nil && st.Pid > 0 {
		_ = syscall.Kill(st.Pid, syscall.SIGKILL)
	}
	b.RtTimeout(10*time.Second, "delete", "--force", b.ID)
}

// Sh is `sh -c SCRIPT`.
func Sh(script string) []string { return []string{"sh", "-c", script} }

// pidAlive reports whether PID exists and is not a zombie.
func pidAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z'
}
