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

package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// PrometheusVersion is the version of the Prometheus module
// hack/build-promtool.sh builds promtool from.
const PrometheusVersion = "0.316.0"

// Promtool returns the path of promtool: $PROMTOOL if set, else
// bin/tools/promtool-<version> under the module root (`make promtool`).
func Promtool() (string, error) {
	if p := os.Getenv("PROMTOOL"); p != "" {
		return exec.LookPath(p)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "tools", "promtool-"+PrometheusVersion)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("promtool not found at %s: run `make promtool` (or set PROMTOOL)", p)
	}
	return p, nil
}
