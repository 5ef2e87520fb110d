/*
Copyright 2026 The wallet-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command runc-caps stands in front of runc on hosts whose own capability
// bounding set lacks some capabilities (a sandboxed Docker engine): a
// privileged container asks for every capability, and runc fails with
// "unable to apply caps". Before `runc create` or `runc run` it removes
// from the bundle's config.json (before `runc exec`, from its --process
// file) each capability this process cannot hold, then execs the real runc
// with the same arguments. It serves both Docker
// (kind's node containers are privileged) and the containerd inside a kind
// node (privileged pods such as kube-proxy), see hack/kind/docker-runtime.sh.
//
// The real runc is $RUNC_CAPS_RUNC, else the first of /usr/local/sbin/runc,
// /usr/sbin/runc and /usr/bin/runc that exists.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capabilities by number, as the kernel numbers them (linux/capability.h).
var capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

func main() {
	if err := strip(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "runc-caps:", err)
		os.Exit(1)
	}
	runc := realRunc()
	if runc == "" {
		fmt.Fprintln(os.Stderr, "runc-caps: no runc found (set RUNC_CAPS_RUNC)")
		os.Exit(1)
	}
	err := syscall.Exec(runc, append([]string{runc}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "runc-caps: exec", runc+":", err)
	os.Exit(1)
}

func realRunc() string {
	if p := os.Getenv("RUNC_CAPS_RUNC"); p != "" {
		return p
	}
	self, _ := os.Executable()
	for _, p := range []string{"/usr/local/sbin/runc", "/usr/sbin/runc", "/usr/bin/runc"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && p != self {
			return p
		}
	}
	return ""
}

// strip edits the bundle of a create or run command, or the process file of
// an exec command.
func strip(args []string) error {
	command, bundle, processFile := "", ".", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--bundle" || a == "-b":
			if i+1 < len(args) {
				bundle = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		case command == "exec" && (a == "--process" || a == "-p"):
			if i+1 < len(args) {
				processFile = args[i+1]
				i++
			}
		case command == "exec" && strings.HasPrefix(a, "--process="):
			processFile = strings.TrimPrefix(a, "--process=")
		case command == "" && !strings.HasPrefix(a, "-"):
			command = a
		case command == "" && (a == "--root" || a == "--log" || a == "--log-format" || a == "--criu"):
			i++ // a global flag's value
		}
	}
	path, inSpec := "", true
	switch {
	case command == "create" || command == "run":
		path = filepath.Join(bundle, "config.json")
	case command == "exec" && processFile != "":
		path, inSpec = processFile, false
	default:
		return nil
	}
	held, err := boundingSet()
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if inSpec {
		process, _ = doc["process"].(map[string]any)
	}
	caps, _ := process["capabilities"].(map[string]any)
	if caps == nil {
		return nil
	}
	changed := false
	for set, list := range caps {
		names, _ := list.([]any)
		kept := make([]any, 0, len(names))
		for _, n := range names {
			if s, _ := n.(string); held[s] || !known(s) {
				kept = append(kept, n)
			}
		}
		if len(kept) != len(names) {
			caps[set], changed = kept, true
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

func known(name string) bool {
	for _, c := range capabilities {
		if c == name {
			return true
		}
	}
	return false
}

// boundingSet reads CapBnd of this process.
func boundingSet() (map[string]bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return nil, err
			}
			held := map[string]bool{}
			for i, c := range capabilities {
				if mask&(1<<uint(i)) != 0 {
					held[c] = true
				}
			}
			return held, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in /proc/self/status")
}
