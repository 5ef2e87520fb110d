#!/usr/bin/env bash
# Builds promtool (Prometheus's rule checker and unit tester) from the Go
# module proxy, for the alert-rule tests: prebuilt binaries cannot be
# downloaded here. Cached in bin/tools/promtool-<version>; prints its path on
# the last line of stdout:
#   PROMTOOL=$(hack/build-promtool.sh | tail -n1)
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-0.316.0}" # the Go module's version (Prometheus 3.16)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[promtool] %s\n' "$*" >&2; }

bin="${root}/bin/tools/promtool-${PROMETHEUS_VERSION}"
if [[ -x "${bin}" ]]; then
  echo "${bin}"
  exit 0
fi
mkdir -p "$(dirname "${bin}")"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cd "${work}"
# A module of its own: Prometheus's dependency graph stays out of ours.
go mod init tools.local/promtool >/dev/null 2>&1
echo 'package tools; import _ "github.com/prometheus/prometheus/cmd/promtool"' >tools.go
say "resolving github.com/prometheus/prometheus v${PROMETHEUS_VERSION} (first time: downloads its dependency graph)"
go get "github.com/prometheus/prometheus@v${PROMETHEUS_VERSION}" >&2
go mod tidy >&2
say "compiling promtool (cold: a few minutes on 2 cores)"
CGO_ENABLED=0 go build -o "${bin}.tmp" -ldflags "-s -w" github.com/prometheus/prometheus/cmd/promtool
mv "${bin}.tmp" "${bin}"
say "promtool ready: ${bin}"
echo "${bin}"
