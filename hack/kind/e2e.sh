#!/usr/bin/env bash
# make test-e2e-kind: creates (or reuses) the kind cluster built here, loads
# the operator's image built from this tree, deploys config/default with only
# the image changed, waits for the Deployment and the reports APIService, and
# runs test/e2e against it (E2E_KUBECONFIG), kind-only specs included. Then
# it moves the operator to config/overlays/postgres (two replicas, PostgreSQL
# in the cluster) and runs the specs labelled postgres.
#
#   KIND_CLUSTER        cluster name (default wallet-operator)
#   KIND_DELETE=true    delete the cluster at the end (default: kept, reused)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
export KIND_CLUSTER="${KIND_CLUSTER:-wallet-operator}"
operator_ns=wallet-operator-system
say() { printf '[e2e-kind] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
step() { say "step: $*"; }
cd "${root}"
total=$SECONDS

step "cluster"
kubeconfig="$("${here}/cluster.sh" | tail -n1)"
export KUBECONFIG="${kubeconfig}"
kind="$("${here}/build-node-tools.sh" 2>/dev/null | tail -n1)/kind"
if [[ "${KIND_DELETE:-false}" == true ]]; then
  trap '"${kind}" delete cluster --name "${KIND_CLUSTER}" >&2' EXIT
fi

# A reused cluster starts from an empty ledger: the specs' idempotency keys
# would otherwise meet the entries of the last run.
if kubectl get namespace "${operator_ns}" >/dev/null 2>&1; then
  step "removing the last run's wallets, test namespaces and ledger"
  kubectl delete wallettransactions,wallets --all -A --timeout=120s >&2 || {
    say "Wallets kept by their finalizer: removing it (the ledger goes too)"
    for w in $(kubectl get wallets -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {end}'); do
      kubectl patch wallet -n "${w%/*}" "${w#*/}" --type merge -p '{"metadata":{"finalizers":null}}' >&2 || true
    done
  }
  # An APIService whose backend is gone stalls every namespace deletion
  # (discovery fails), so it goes before the namespaces.
  kubectl delete apiservice v1alpha1.reports.walletop.io --ignore-not-found >&2
  namespaces="$(kubectl get namespaces -o name | grep -E '^namespace/(e2e-|team-a$|wallet-ledger-db$)' || true)"
  kubectl delete --wait=true --timeout=180s ${namespaces} "namespace/${operator_ns}" >&2 ||
    fail "deleting the last run's namespaces (kubectl get namespaces)"
  kubeconfig="$("${here}/cluster.sh" | tail -n1)" # offers the released volumes again
fi

step "operator image"
make --no-print-directory docker-build IMG=wallet-operator:kind-build >&2 || fail "make docker-build"
# A tag per content, so a reused cluster runs the new build.
img="wallet-operator:kind-$(docker image inspect -f '{{.Id}}' wallet-operator:kind-build | cut -d: -f2 | cut -c1-12)"
docker tag wallet-operator:kind-build "${img}"
say "loading ${img} into the cluster"
"${kind}" load docker-image --name "${KIND_CLUSTER}" "${img}" >&2 || fail "kind load docker-image ${img}"

diagnose() {
  kubectl -n "${operator_ns}" get pods -o wide >&2 || true
  kubectl -n "${operator_ns}" describe pods -l app.kubernetes.io/component=controller-manager 2>&1 | tail -n 40 >&2 || true
  kubectl -n "${operator_ns}" logs -l app.kubernetes.io/component=controller-manager --tail=40 >&2 || true
}
# deploy <kustomize dir>: applies it with the image replaced and waits for
# the Deployment and the APIService.
deploy() {
  local start=$SECONDS
  kubectl kustomize "$1" | sed "s|image: ghcr.io/walletop/wallet-operator:latest|image: ${img}|" |
    kubectl apply --server-side --force-conflicts -f - >&2 || fail "kubectl apply -k $1"
  if ! kubectl -n "${operator_ns}" rollout status deploy/wallet-operator-controller-manager --timeout=240s >&2; then
    diagnose
    fail "the Deployment of $1 is not Available (above: its Pods, events and log; the cluster is kept: KUBECONFIG=${kubeconfig})"
  fi
  if ! kubectl wait apiservice/v1alpha1.reports.walletop.io --for=condition=Available --timeout=180s >&2; then
    kubectl get apiservice v1alpha1.reports.walletop.io -o yaml >&2 || true
    diagnose
    fail "the APIService v1alpha1.reports.walletop.io is not Available (the cluster is kept: KUBECONFIG=${kubeconfig})"
  fi
  say "$1 deployed: Deployment and reports API Available $((SECONDS - start)) s after the apply"
}

step "deploy config/default with image ${img}"
kubectl -n "${operator_ns}" delete pdb wallet-operator-controller-manager --ignore-not-found >&2 2>/dev/null || true
deploy config/default

step "test/e2e against config/default (SQLite ledger on a PersistentVolume)"
start=$SECONDS
E2E_KUBECONFIG="${kubeconfig}" go test ./test/e2e/ -count=1 -timeout 45m -v -ginkgo.v -ginkgo.label-filter='!postgres' >&2 ||
  fail "test/e2e on kind (the cluster is kept: KUBECONFIG=${kubeconfig}; operator log: kubectl -n ${operator_ns} logs deploy/wallet-operator-controller-manager)"
say "test/e2e passed on config/default in $((SECONDS - start)) s"

step "PostgreSQL in the cluster"
pg_image="$("${here}/build-postgres-image.sh" | tail -n1)"
"${kind}" load docker-image --name "${KIND_CLUSTER}" "${pg_image}" >&2 || fail "kind load docker-image ${pg_image}"
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
sed -e "s|image: IMAGE|image: ${pg_image}|" -e "s|password: PASSWORD|password: ${password}|" "${here}/postgres.yaml" |
  kubectl apply -f - >&2 || fail "applying hack/kind/postgres.yaml"
kubectl -n wallet-ledger-db rollout status deploy/postgres --timeout=180s >&2 || {
  kubectl -n wallet-ledger-db describe pods >&2
  kubectl -n wallet-ledger-db logs deploy/postgres --tail=40 >&2 || true
  fail "PostgreSQL is not Available (the cluster is kept: KUBECONFIG=${kubeconfig})"
}
dsn="postgres://wallet:${password}@postgres.wallet-ledger-db.svc:5432/wallet?sslmode=disable"
kubectl -n "${operator_ns}" create secret generic wallet-operator-ledger --from-literal=dsn="${dsn}" \
  --dry-run=client -o yaml | kubectl apply -f - >&2

step "deploy config/overlays/postgres (two replicas)"
# The SQLite Deployment goes first: a rolling update would start a second
# replica on the SQLite volume, which its lock refuses. (The SQLite ledger
# is not migrated; the operator re-applies the remaining objects.)
kubectl -n "${operator_ns}" delete deploy/wallet-operator-controller-manager --wait=true >&2
deploy config/overlays/postgres
start=$SECONDS
E2E_KUBECONFIG="${kubeconfig}" E2E_POSTGRES_DSN="${dsn}" go test ./test/e2e/ -count=1 -timeout 30m -v -ginkgo.v -ginkgo.label-filter=postgres >&2 ||
  fail "test/e2e (postgres) on kind (the cluster is kept: KUBECONFIG=${kubeconfig})"
say "test/e2e passed on config/overlays/postgres in $((SECONDS - start)) s"
say "all passed in $((SECONDS - total)) s"
