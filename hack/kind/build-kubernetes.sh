#!/usr/bin/env bash
# Builds, from the Go module proxy, the Kubernetes binaries a kind node runs
# or packs into images: kubelet, kubeadm, kube-controller-manager,
# kube-scheduler, kube-proxy and kubectl, at K8S_VERSION (the version of the
# envtest control plane, whose kube-apiserver hack/build-controlplane.sh
# builds). k8s.io/kubernetes points its staging modules at ./staging; each is
# replaced by the published module of the matching v0 version. Results are
# cached in bin/kind-node/kubernetes-<version>/ and reused; the last line of
# stdout is that directory. Cold: about 5 minutes on 2 cores once the
# dependency graph is in the module cache.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[kubernetes] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

dest="${root}/bin/kind-node/kubernetes-${K8S_VERSION}"
commands=(kubelet kubeadm kube-controller-manager kube-scheduler kube-proxy kubectl)
if [[ -f "${dest}/done" ]]; then
  say "using ${dest}"
  echo "${dest}"
  exit 0
fi
mkdir -p "${dest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
log="${dest}/build.log"
: >"${log}"
cd "${work}"
go mod init kind.local/kubernetes >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "${gomod}" | sort -u)"
[[ -n "${staging}" ]] || fail "no staging modules found in ${gomod}"
{
  echo "require k8s.io/kubernetes v${K8S_VERSION}"
  for m in ${staging}; do echo "replace ${m} => ${m} v0.${K8S_VERSION#*.}"; done
} >>go.mod
say "resolving modules (log: ${log})"
go mod tidy -e >>"${log}" 2>&1 || true
{
  echo 'package tools'
  echo 'import ('
  for c in "${commands[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/${c}\""; done
  echo ')'
} >tools.go
go mod tidy >>"${log}" 2>&1 || { tail -n 20 "${log}" >&2; fail "go mod tidy"; }
minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
for c in "${commands[@]}"; do
  say "compiling ${c}"
  start=$SECONDS
  CGO_ENABLED=0 go build -o "${dest}/${c}.tmp" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${minor}" \
    "k8s.io/kubernetes/cmd/${c}" >>"${log}" 2>&1 || { tail -n 20 "${log}" >&2; fail "compiling ${c}"; }
  mv "${dest}/${c}.tmp" "${dest}/${c}"
  say "${c} ready in $((SECONDS - start)) s"
done
touch "${dest}/done"
say "Kubernetes v${K8S_VERSION} binaries in ${dest}"
echo "${dest}"
