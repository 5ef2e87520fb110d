#!/usr/bin/env bash
# Runs the end-to-end specs against a kind cluster with the operator deployed
# from its container image. Needs a Docker engine and kind on PATH; where
# there is none (as on our build machines), `make test` runs the same specs
# against a local control plane instead.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="${KIND_CLUSTER:-wallet-operator-e2e}"
IMG="${IMG:-wallet-operator:e2e}"

command -v kind >/dev/null || { echo "kind not found on PATH" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "no Docker engine answers" >&2; exit 1; }

kind get clusters | grep -qx "${CLUSTER}" || kind create cluster --name "${CLUSTER}"
kubeconfig="$(mktemp)"
trap 'rm -f "${kubeconfig}"' EXIT
kind get kubeconfig --name "${CLUSTER}" >"${kubeconfig}"

# config/default takes the reports API's serving certificate from cert-manager.
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.19.1}"
KUBECONFIG="${kubeconfig}" kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
KUBECONFIG="${kubeconfig}" kubectl -n cert-manager rollout status deploy/cert-manager-webhook --timeout=180s

docker build -t "${IMG}" .
kind load docker-image --name "${CLUSTER}" "${IMG}"
KUBECONFIG="${kubeconfig}" make deploy IMG="${IMG}"
KUBECONFIG="${kubeconfig}" kubectl -n wallet-operator-system rollout status deploy/wallet-operator-controller-manager --timeout=180s
KUBECONFIG="${kubeconfig}" kubectl wait apiservice/v1alpha1.reports.walletop.io --for=condition=Available --timeout=180s

E2E_KUBECONFIG="${kubeconfig}" go test ./test/e2e/ -count=1 -v
