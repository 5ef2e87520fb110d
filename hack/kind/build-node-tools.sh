#!/usr/bin/env bash
# Builds, from the Go module proxy, the tools a kind cluster needs besides
# Kubernetes itself: kind, and the node's containerd, runc (with seccomp),
# CNI plugins and crictl. Nothing is downloaded prebuilt: these machines
# reach no release site. Results are cached by version in
# bin/kind-node/tools-<versions>/bin and reused; the last line of stdout is
# that directory.
#
# Needs Go, gcc and libseccomp-dev (runc links libseccomp): apt-get install
# -y libseccomp-dev.
set -euo pipefail

KIND_VERSION="${KIND_VERSION:-v0.33.0}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.3.4}"
RUNC_VERSION="${RUNC_VERSION:-v1.4.3}"
CNI_PLUGINS_VERSION="${CNI_PLUGINS_VERSION:-v1.9.1}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.36.0}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[kind-tools] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

dest="${root}/bin/kind-node/tools-kind${KIND_VERSION}-containerd${CONTAINERD_VERSION}-runc${RUNC_VERSION}-cni${CNI_PLUGINS_VERSION}-crictl${CRICTL_VERSION}"
if [[ -f "${dest}/done" ]]; then
  say "using ${dest}/bin"
  echo "${dest}/bin"
  exit 0
fi
mkdir -p "${dest}/bin"
log="${dest}/build.log"
: >"${log}"

build() { # what, cgo, packages...
  local what="$1" cgo="$2"
  shift 2
  say "building ${what} (log: ${log})"
  local start=$SECONDS
  if ! GOBIN="${dest}/bin" CGO_ENABLED="${cgo}" go install "$@" >>"${log}" 2>&1; then
    tail -n 20 "${log}" >&2
    fail "${what}: go install $*"
  fi
  say "built ${what} in $((SECONDS - start)) s"
}

command -v go >/dev/null || fail "go is not on PATH"
if ! echo '#include <seccomp.h>' | gcc -E - >/dev/null 2>&1; then
  fail "runc needs libseccomp's headers: apt-get install -y libseccomp-dev"
fi
build "kind ${KIND_VERSION}" 0 "sigs.k8s.io/kind@${KIND_VERSION}"
build "containerd ${CONTAINERD_VERSION}" 0 \
  "github.com/containerd/containerd/v2/cmd/containerd@${CONTAINERD_VERSION}" \
  "github.com/containerd/containerd/v2/cmd/ctr@${CONTAINERD_VERSION}" \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@${CONTAINERD_VERSION}"
build "runc ${RUNC_VERSION}" 1 -tags seccomp "github.com/opencontainers/runc@${RUNC_VERSION}"
cni=()
for p in main/bridge main/loopback main/ptp ipam/host-local meta/portmap; do
  cni+=("github.com/containernetworking/plugins/plugins/${p}@${CNI_PLUGINS_VERSION}")
done
build "CNI plugins ${CNI_PLUGINS_VERSION}" 0 "${cni[@]}"
build "crictl ${CRICTL_VERSION}" 0 "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}"
touch "${dest}/done"
say "tools in ${dest}/bin"
echo "${dest}/bin"
