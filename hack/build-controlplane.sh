#!/usr/bin/env bash
# Builds the control-plane binaries that envtest and `make run` need
# (kube-apiserver and etcd) from the Go module proxy, because prebuilt
# binaries cannot be downloaded here. Results are cached in
# bin/k8s/<k8s-version>-<os>-<arch>/ and reused; nothing is rebuilt when
# both binaries are already there. If KUBEBUILDER_ASSETS names a directory
# that already holds both binaries, that directory is used as is.
#
# Prints the asset directory on the last line of stdout, so callers can do
#   export KUBEBUILDER_ASSETS=$(hack/build-controlplane.sh | tail -n1)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[controlplane] %s\n' "$*" >&2; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/kube-apiserver" && -x "${KUBEBUILDER_ASSETS}/etcd" ]]; then
  say "using KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS}"
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

dest="${root}/bin/k8s/${K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)"
mkdir -p "${dest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

build_apiserver() {
  say "building kube-apiserver v${K8S_VERSION} from the Go module proxy (cold: about 4 minutes on 2 cores)"
  local mod="${work}/apiserver"
  mkdir -p "${mod}" && cd "${mod}"
  go mod init controlplane.local/apiserver >/dev/null 2>&1
  # k8s.io/kubernetes points its staging modules at ./staging; replace each
  # with the published module of the matching v0 version.
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local staging
  staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "${gomod}" | sort -u)"
  [[ -n "${staging}" ]] || { say "no staging modules found in ${gomod}"; exit 1; }
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  {
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    for m in ${staging}; do echo "replace ${m} => ${m} v0.${K8S_VERSION#*.}"; done
  } >>go.mod
  say "resolving modules (first time: downloads the dependency graph)"
  go mod tidy -e >/dev/null 2>&1 || true
  echo 'package tools; import _ "k8s.io/kubernetes/cmd/kube-apiserver"' >tools.go
  go mod tidy >&2
  say "compiling kube-apiserver"
  CGO_ENABLED=0 go build -o "${dest}/kube-apiserver.tmp" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${minor}" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "${dest}/kube-apiserver.tmp" "${dest}/kube-apiserver"
  say "kube-apiserver ready: ${dest}/kube-apiserver"
}

build_etcd() {
  say "building etcd v${ETCD_VERSION} from the Go module proxy (cold: about 1-2 minutes)"
  local mod="${work}/etcd"
  mkdir -p "${mod}" && cd "${mod}"
  go mod init controlplane.local/etcd >/dev/null 2>&1
  echo 'package tools; import _ "go.etcd.io/etcd/server/v3"' >tools.go
  go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2
  go mod tidy >&2
  say "compiling etcd"
  CGO_ENABLED=0 go build -o "${dest}/etcd.tmp" -ldflags "-s -w" go.etcd.io/etcd/server/v3
  mv "${dest}/etcd.tmp" "${dest}/etcd"
  say "etcd ready: ${dest}/etcd"
}

[[ -x "${dest}/etcd" ]] || build_etcd
[[ -x "${dest}/kube-apiserver" ]] || build_apiserver
# envtest looks for kubectl beside the other binaries only when asked for it;
# link the one on PATH so tools that expect it there find it.
if [[ ! -e "${dest}/kubectl" ]] && command -v kubectl >/dev/null 2>&1; then
  ln -sf "$(command -v kubectl)" "${dest}/kubectl"
fi
say "control plane binaries in ${dest}"
echo "${dest}"
