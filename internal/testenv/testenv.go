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

// Package testenv finds what the test suites need on this machine (the
// control-plane binaries, the module root) and decides what a missing piece
// means: a skip on a developer's machine, a failure in CI (CI=true), so that
// no skipped suite ever counts as passing there.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// K8sVersion is the version of the control plane hack/build-controlplane.sh builds.
const K8sVersion = "1.37.2"

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ControlPlaneAssets returns the directory holding kube-apiserver and etcd:
// KUBEBUILDER_ASSETS if set, else bin/k8s/<version>-<os>-<arch> under the
// module root (where `make controlplane` puts them).
func ControlPlaneAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "k8s", fmt.Sprintf("%s-%s-%s", K8sVersion, runtime.GOOS, runtime.GOARCH))
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s: run `make controlplane` (or set KUBEBUILDER_ASSETS)", bin, dir)
		}
	}
	return dir, nil
}

// Missing handles a dependency a suite cannot run without: it calls fail in
// CI and skip elsewhere, with the reason.
func Missing(err error, skip, fail func(string)) {
	msg := err.Error()
	if InCI() {
		fail("CI=true and a test dependency is missing: " + msg)
		return
	}
	skip("skipped (set CI=true to make this a failure): " + msg)
}
