package main

// Validations of the runtime's operations (runtime-spec runtime.md), checked
// from the host.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/xeipuuv/gojsonschema"
)

const schemaDir = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"

func init() {
	register("create", validateCreate)
	register("start", validateStart)
	register("state", validateState)
	register("kill", validateKill)
	register("killsig", validateKillsig)
	register("delete", validateDelete)
	register("delete_resources", validateDeleteResources)
	register("pidfile", validatePidfile)
	register("hooks", validateHooks)
	register("hooks_fail", validateHooksFail)
	register("config_schema", validateConfigSchema)
}

// schemaCheck validates DOC (JSON text) against a runtime-spec schema file.
func schemaCheck(schema string, doc string) error {
	sl := gojsonschema.NewReferenceLoader("file://" + filepath.Join(schemaDir, schema))
	res, err := gojsonschema.Validate(sl, gojsonschema.NewStringLoader(doc))
	if err != nil {
		return err
	}
	if !res.Valid() {
		var msgs []string
		for _, e := range res.Errors() {
			msgs = append(msgs, e.String())
		}
		return fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return nil
}

func validateConfigSchema(v *V) {
	b := v.NewBundle()
	data, err := json.Marshal(b.Spec())
	if !v.Ok(err == nil, "marshal", "%v", err) {
		return
	}
	err = schemaCheck("config-schema.json", string(data))
	v.Ok(err == nil, "generated_config_valid", "runtime-tools' default config is not schema-valid: %v", err)
}

func validateCreate(v *V) {
	b := v.NewBundle()
	r := b.Create()
	if !v.Ok(r.Err == nil, "create_with_bundle_path_and_id", "%s", r) {
		return
	}
	st, r := b.StateOf()
	if !v.Ok(st != nil, "state_after_create", "%s", r) {
		return
	}
	v.Ok(st.Status == rspec.StateCreated, "status_created", "status `%s`, want `created`", st.Status)
	v.Ok(st.ID == b.ID, "state_id", "id `%s`, want `%s`", st.ID, b.ID)
	v.Ok(st.Pid > 0 && pidAlive(st.Pid), "state_pid_alive", "pid %d is not a live process", st.Pid)
	bundle, _ := filepath.EvalSymlinks(st.Bundle)
	want, _ := filepath.EvalSymlinks(b.Dir)
	v.Ok(filepath.IsAbs(st.Bundle) && bundle == want, "state_bundle_absolute", "bundle `%s`, want `%s`", st.Bundle, b.Dir)
	err := schemaCheck("state-schema.json", r.Out)
	v.Ok(err == nil, "state_schema", "%v\n%s", err, r.Out)

	// CreateWithUniqueID: a second create with the same id fails and
	// leaves the first container alone.
	r2 := b.Rt("create", "--bundle", b.Dir, b.ID)
	v.Ok(r2.Err != nil, "create_with_unique_id", "a second create of `%s` succeeded\n%s", b.ID, r2)
	st2, _ := b.StateOf()
	v.Ok(st2 != nil && st2.Status == rspec.StateCreated && st2.Pid == st.Pid, "duplicate_create_leaves_state",
		"state after the failed duplicate create: %+v", st2)

	// A bundle without config.json is an error and creates nothing.
	c := v.NewBundle()
	r3 := c.Rt("create", "--bundle", filepath.Join(c.Dir, "nonexistent"), c.ID)
	v.Ok(r3.Err != nil, "create_missing_bundle_fails", "%s", r3)
	_, r4 := c.StateOf()
	v.Ok(r4.Err != nil, "create_missing_bundle_no_container", "state succeeded: %s", r4.Out)

	// Process args are not run until start.
	d := v.NewBundle()
	out := d.Host("/out")
	d.G.SetProcessArgs(Sh("echo ran > /out/marker; sleep 3600"))
	r = d.Create()
	if v.Ok(r.Err == nil, "create_for_start_check", "%s", r) {
		time.Sleep(300 * time.Millisecond)
		_, err := os.Stat(filepath.Join(out, "marker"))
		v.Ok(os.IsNotExist(err), "proc_args_apply_until_start", "the process ran before start (marker: %v)", err)
		r = d.Start()
		if v.Ok(r.Err == nil, "start_after_create", "%s", r) {
			_, ok := WaitFile(filepath.Join(out, "marker"), 5*time.Second)
			v.Ok(ok, "start_runs_process_args", "no marker 5 s after start")
		}
	}
}

func validateStart(v *V) {
	b := v.NewBundle()
	r := b.Create()
	if !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	r = b.Start()
	v.Ok(r.Err == nil, "start_created", "%s", r)
	st, r := b.StateOf()
	v.Ok(st != nil && st.Status == rspec.StateRunning, "status_running", "%s", r)
	r = b.Start()
	v.Ok(r.Err != nil, "start_not_created_gen_error", "start of a running container succeeded\n%s", r)
	st2, _ := b.StateOf()
	v.Ok(st2 != nil && st != nil && st2.Status == rspec.StateRunning && st2.Pid == st.Pid,
		"start_not_created_have_no_effect", "state after the second start: %+v", st2)
	c := v.NewBundle()
	r = c.Start()
	v.Ok(r.Err != nil, "start_nonexistent_gen_error", "%s", r)

	// A process that exits on its own leaves the container stopped.
	d := v.NewBundle("true")
	if r = d.Create(); v.Ok(r.Err == nil, "create_short", "%s", r) {
		r = d.Start()
		v.Ok(r.Err == nil, "start_short", "%s", r)
		st, r := d.WaitStatus(rspec.StateStopped, 5*time.Second)
		v.Ok(st != nil && st.Status == rspec.StateStopped, "status_stopped_after_exit", "%s", r)
		r = d.Start()
		v.Ok(r.Err != nil, "start_stopped_gen_error", "start of a stopped container succeeded\n%s", r)
	}
}

func validateState(v *V) {
	b := v.NewBundle()
	_, r := b.StateOf()
	v.Ok(r.Err != nil, "query_non_exist_gen_error", "state of a nonexistent container succeeded: %s", r.Out)
	r = b.Rt("state")
	v.Ok(r.Err != nil, "query_without_id_gen_error", "state without an id succeeded: %s", r.Out)
	b.G.AddAnnotation("org.berth.conformance", "yes")
	if r = b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	st, r := b.StateOf()
	if !v.Ok(st != nil, "state", "%s", r) {
		return
	}
	v.Ok(st.Version != "", "state_oci_version", "no ociVersion in %s", r.Out)
	v.Ok(st.Annotations["org.berth.conformance"] == "yes", "state_annotations", "annotations %v", st.Annotations)
	if r = b.Start(); v.Ok(r.Err == nil, "start", "%s", r) {
		st, r = b.StateOf()
		v.Ok(st != nil && st.Status == rspec.StateRunning, "state_running", "%s", r)
		v.Ok(schemaCheck("state-schema.json", r.Out) == nil, "state_running_schema", "%s", r.Out)
	}
	if r = b.Kill("KILL"); v.Ok(r.Err == nil, "kill", "%s", r) {
		st, r = b.WaitStatus(rspec.StateStopped, 5*time.Second)
		v.Ok(st != nil && st.Status == rspec.StateStopped, "state_stopped", "%s", r)
		if st != nil {
			v.Ok(schemaCheck("state-schema.json", r.Out) == nil, "state_stopped_schema", "%s", r.Out)
		}
	}
}

func validateKill(v *V) {
	b := v.NewBundle()
	r := b.Kill("KILL")
	v.Ok(r.Err != nil, "kill_nonexistent_gen_error", "%s", r)
	r = b.Rt("kill")
	v.Ok(r.Err != nil, "kill_without_id_gen_error", "%s", r)
	if r = b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	st0, _ := b.StateOf()
	r = b.Kill("KILL")
	v.Ok(r.Err == nil, "kill_created", "%s", r)
	st, r := b.WaitStatus(rspec.StateStopped, 5*time.Second)
	v.Ok(st != nil && st.Status == rspec.StateStopped, "kill_created_stops", "%s", r)
	if st0 != nil {
		deadline := time.Now().Add(5 * time.Second)
		for pidAlive(st0.Pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		v.Ok(!pidAlive(st0.Pid), "kill_created_process_gone", "pid %d still alive", st0.Pid)
	}
	r = b.Kill("KILL")
	v.Ok(r.Err != nil, "kill_non_create_run_gen_error", "kill of a stopped container succeeded\n%s", r)
	st2, _ := b.StateOf()
	v.Ok(st2 != nil && st2.Status == rspec.StateStopped, "kill_non_create_run_have_no_effect", "state %+v", st2)

	c := v.NewBundle()
	if r = c.Create(); v.Ok(r.Err == nil, "create_running", "%s", r) {
		if r = c.Start(); v.Ok(r.Err == nil, "start", "%s", r) {
			r = c.Kill("TERM")
			v.Ok(r.Err == nil, "kill_running_term", "%s", r)
			// sleep as pid 1 ignores TERM: the container keeps running.
			time.Sleep(300 * time.Millisecond)
			st, _ := c.StateOf()
			v.Ok(st != nil && st.Status == rspec.StateRunning, "pid1_ignores_unhandled_term", "state %+v", st)
			r = c.Kill("9")
			v.Ok(r.Err == nil, "kill_numeric_signal", "%s", r)
			st, r = c.WaitStatus(rspec.StateStopped, 5*time.Second)
			v.Ok(st != nil && st.Status == rspec.StateStopped, "kill_running_stops", "%s", r)
		}
	}
}

func validateKillsig(v *V) {
	for _, sig := range []string{"TERM", "SIGUSR1", "HUP", "10"} {
		b := v.NewBundle()
		out := b.Host("/out")
		num := map[string]string{"TERM": "TERM", "SIGUSR1": "USR1", "HUP": "HUP", "10": "USR1"}[sig]
		b.G.SetProcessArgs(Sh(fmt.Sprintf("trap 'echo %s > /out/sig; exit 0' %s; echo 1 > /out/ready; "+
			"while :; do sleep 0.1; done", num, num)))
		if r := b.Create(); !v.Ok(r.Err == nil, "create_"+sig, "%s", r) {
			continue
		}
		if r := b.Start(); !v.Ok(r.Err == nil, "start_"+sig, "%s", r) {
			continue
		}
		if _, ok := WaitFile(filepath.Join(out, "ready"), 5*time.Second); !v.Ok(ok, "ready_"+sig, "the trap was never set") {
			continue
		}
		r := b.Kill(sig)
		v.Ok(r.Err == nil, "kill_"+sig, "%s", r)
		got, ok := WaitFile(filepath.Join(out, "sig"), 5*time.Second)
		v.Ok(ok && strings.TrimSpace(got) == num, "kill_signal_implement_"+sig, "the process got `%s`, want `%s`",
			strings.TrimSpace(got), num)
	}
}

func validateDelete(v *V) {
	b := v.NewBundle()
	r := b.Delete()
	v.Ok(r.Err != nil, "delete_nonexistent_gen_error", "%s", r)
	r = b.Rt("delete")
	v.Ok(r.Err != nil, "delete_without_id_gen_error", "%s", r)
	if r = b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	if r = b.Start(); !v.Ok(r.Err == nil, "start", "%s", r) {
		return
	}
	r = b.Delete()
	v.Ok(r.Err != nil, "delete_non_stop_gen_error", "delete of a running container succeeded\n%s", r)
	st, _ := b.StateOf()
	v.Ok(st != nil && st.Status == rspec.StateRunning, "delete_non_stop_have_no_effect", "state %+v", st)
	b.Kill("KILL")
	st, r = b.WaitStatus(rspec.StateStopped, 5*time.Second)
	v.Ok(st != nil && st.Status == rspec.StateStopped, "stopped", "%s", r)
	r = b.Delete()
	v.Ok(r.Err == nil, "delete_stopped", "%s", r)
	_, r = b.StateOf()
	v.Ok(r.Err != nil, "state_after_delete_gen_error", "state after delete succeeded: %s", r.Out)
	// The id can be used again.
	r = b.Create()
	v.Ok(r.Err == nil, "id_reusable_after_delete", "%s", r)

	c := v.NewBundle()
	if r = c.Create(); v.Ok(r.Err == nil, "create_created", "%s", r) {
		st, _ := c.StateOf()
		r = c.Delete("--force")
		v.Ok(r.Err == nil, "delete_force_created", "%s", r)
		if st != nil {
			time.Sleep(200 * time.Millisecond)
			v.Ok(!pidAlive(st.Pid), "delete_force_kills_process", "pid %d still alive", st.Pid)
		}
	}
}

// cgroupDirs lists the existing cgroup v1 directories for cgroupsPath P.
func cgroupDirs(p string) []string {
	var dirs []string
	m, _ := filepath.Glob("/sys/fs/cgroup/*/" + strings.TrimPrefix(p, "/"))
	for _, d := range m {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func validateDeleteResources(v *V) {
	b := v.NewBundle()
	b.G.SetLinuxResourcesPidsLimit(64)
	b.G.SetLinuxResourcesMemoryLimit(64 << 20)
	if r := b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	cg := b.Spec().Linux.CgroupsPath
	v.Ok(len(cgroupDirs(cg)) > 0, "cgroup_created", "no cgroup directory for `%s`", cg)
	b.Kill("KILL")
	b.WaitStatus(rspec.StateStopped, 5*time.Second)
	if r := b.Delete(); !v.Ok(r.Err == nil, "delete", "%s", r) {
		return
	}
	left := cgroupDirs(cg)
	v.Ok(len(left) == 0, "delete_res_implement_cgroups", "left behind: %v", left)
	_, err := os.Stat(filepath.Join(b.State, b.ID))
	v.Ok(os.IsNotExist(err), "delete_res_implement_state_dir", "state dir still there (%v)", err)
}

func validatePidfile(v *V) {
	b := v.NewBundle()
	pidfile := filepath.Join(b.Dir, "ctr.pid")
	if r := b.Create("--pid-file", pidfile); !v.Ok(r.Err == nil, "create_with_pid_file", "%s", r) {
		return
	}
	data, err := os.ReadFile(pidfile)
	if !v.Ok(err == nil, "pid_file_written", "%v", err) {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	st, r := b.StateOf()
	v.Ok(err == nil && st != nil && pid == st.Pid, "pid_file_matches_state", "pid file `%s`, state %s", data, r.Out)
}

// hookScript writes a host shell script that saves its stdin (the state) in
// OUT and exits with RC.
func hookScript(b *Bundle, name string, rc int) rspec.Hook {
	out := filepath.Join(b.Dir, name+".json")
	path := filepath.Join(b.Dir, name+".sh")
	script := fmt.Sprintf("#!/bin/sh\ncat > %s.tmp\nmv %s.tmp %s\nexit %d\n", out, out, out, rc)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		panic(err)
	}
	return rspec.Hook{Path: path, Args: []string{name + ".sh", "arg1"}}
}

func readHookState(b *Bundle, name string, timeout time.Duration) (*rspec.State, string) {
	data, ok := WaitFile(filepath.Join(b.Dir, name+".json"), timeout)
	if !ok {
		return nil, "the hook did not run"
	}
	var st rspec.State
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return nil, fmt.Sprintf("the hook's stdin is not a state: %v: %s", err, data)
	}
	return &st, data
}

func validateHooks(v *V) {
	b := v.NewBundle()
	b.G.AddPreStartHook(hookScript(b, "prestart", 0))
	b.G.AddPostStartHook(hookScript(b, "poststart", 0))
	b.G.AddPostStopHook(hookScript(b, "poststop", 0))
	if r := b.Create(); !v.Ok(r.Err == nil, "create", "%s", r) {
		return
	}
	if r := b.Start(); !v.Ok(r.Err == nil, "start", "%s", r) {
		return
	}
	st, diag := readHookState(b, "prestart", 3*time.Second)
	v.Ok(st != nil, "prestart_hooks_invoke", "%s", diag)
	if st != nil {
		v.Ok(st.ID == b.ID && st.Pid > 0, "prestart_hook_stdin_state", "state on stdin: %s", diag)
	}
	st, diag = readHookState(b, "poststart", 3*time.Second)
	v.Ok(st != nil, "poststart_hooks_invoke", "%s", diag)
	if st != nil {
		v.Ok(st.ID == b.ID, "poststart_hook_stdin_state", "state on stdin: %s", diag)
	}
	_, err := os.Stat(filepath.Join(b.Dir, "poststop.json"))
	v.Ok(os.IsNotExist(err), "poststop_not_before_delete", "poststop ran before delete")
	b.Kill("KILL")
	b.WaitStatus(rspec.StateStopped, 5*time.Second)
	if r := b.Delete(); v.Ok(r.Err == nil, "delete", "%s", r) {
		st, diag = readHookState(b, "poststop", 3*time.Second)
		v.Ok(st != nil, "poststop_hooks_invoke", "%s", diag)
		if st != nil {
			v.Ok(st.ID == b.ID, "poststop_hook_stdin_state", "state on stdin: %s", diag)
		}
	}
}

func validateHooksFail(v *V) {
	// A failing prestart hook: the operation fails and the process never runs.
	b := v.NewBundle()
	out := b.Host("/out")
	b.G.SetProcessArgs(Sh("echo ran > /out/marker; sleep 3600"))
	b.G.AddPreStartHook(hookScript(b, "prestart", 1))
	r := b.Create()
	if r.Err == nil {
		r = b.Start()
	}
	v.Ok(r.Err != nil, "prestart_hook_fail_gen_error", "create and start both succeeded")
	time.Sleep(300 * time.Millisecond)
	_, err := os.Stat(filepath.Join(out, "marker"))
	v.Ok(os.IsNotExist(err), "prestart_hook_fail_no_process", "the process ran (marker: %v)", err)

	// Failing poststart / poststop hooks only warn.
	c := v.NewBundle()
	c.G.AddPostStopHook(hookScript(c, "poststop", 1))
	if r = c.Create(); v.Ok(r.Err == nil, "create_poststop_fail", "%s", r) {
		c.Kill("KILL")
		c.WaitStatus(rspec.StateStopped, 5*time.Second)
		r = c.Delete()
		v.Ok(r.Err == nil, "poststop_hook_fail_gen_warn", "delete failed\n%s", r)
		_, r = c.StateOf()
		v.Ok(r.Err != nil, "poststop_hook_fail_deleted", "the container is still there: %s", r.Out)
	}
}
