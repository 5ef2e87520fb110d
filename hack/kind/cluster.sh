#!/usr/bin/env bash
# Creates the kind cluster of `make kind-cluster` on the node image built
# here, or reuses it when it is already up. Writes its kubeconfig to
# bin/kind/kubeconfig (the last line of stdout) and keeps a pool of
# hostPath PersistentVolumes of the default class "standard" (no provisioner
# image can be pulled), recycling released ones.
#
#   KIND_CLUSTER   cluster name (default wallet-operator)
#   PV_POOL        volumes kept available (default 6)
set -euo pipefail

CLUSTER="${KIND_CLUSTER:-wallet-operator}"
PV_POOL="${PV_POOL:-6}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
say() { printf '[kind-cluster] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

tools="$("${here}/build-node-tools.sh" | tail -n1)"
kind="${tools}/kind"
node_image="$("${here}/build-node-image.sh" | tail -n1)"
mkdir -p "${root}/bin/kind"
kubeconfig="${root}/bin/kind/kubeconfig"
node="${CLUSTER}-control-plane"
k() { kubectl --kubeconfig "${kubeconfig}" "$@"; }

if "${kind}" get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
  running="$(docker inspect -f '{{.Config.Image}}' "${node}" 2>/dev/null || true)"
  up="$(docker inspect -f '{{.State.Running}}' "${node}" 2>/dev/null || true)"
  if [[ "${running}" != "${node_image}" ]]; then
    say "cluster ${CLUSTER} runs ${running:-an unknown image}, not ${node_image}: recreating it"
    "${kind}" delete cluster --name "${CLUSTER}" >&2
  elif [[ "${up}" != true ]]; then
    # a stopped node (the machine or Docker restarted) does not come back
    # reliably: a new one takes about a minute
    say "the node container ${node} is not running: recreating cluster ${CLUSTER}"
    "${kind}" delete cluster --name "${CLUSTER}" >&2
  else
    say "reusing cluster ${CLUSTER}"
  fi
fi
if ! "${kind}" get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
  controlplane="$("${root}/hack/build-controlplane.sh" | tail -n1)"
  etcd_tag="$("${controlplane}/etcd" --version | sed -n 's/^etcd Version: //p')-0"
  config="${root}/bin/kind/cluster.yaml"
  sed "s/ETCD_IMAGE_TAG/${etcd_tag}/" "${here}/cluster.yaml" >"${config}"
  say "creating cluster ${CLUSTER} from ${node_image} (about a minute)"
  start=$SECONDS
  if ! "${kind}" create cluster --name "${CLUSTER}" --image "${node_image}" --config "${config}" \
      --kubeconfig "${kubeconfig}" --wait 0s --retain >&2; then
    logs="${root}/bin/kind/logs"
    rm -rf "${logs}"
    "${kind}" export logs --name "${CLUSTER}" "${logs}" >/dev/null 2>&1 || true
    fail "kind create cluster ${CLUSTER}: node logs in ${logs}; the node container ${node} is kept for inspection (delete: ${kind} delete cluster --name ${CLUSTER})"
  fi
  say "cluster created in $((SECONDS - start)) s"
fi
"${kind}" get kubeconfig --name "${CLUSTER}" >"${kubeconfig}"

say "waiting for the node to be Ready"
k wait node --all --for=condition=Ready --timeout=180s >&2 ||
  fail "node ${node} not Ready after 180 s: docker exec ${node} journalctl -u kubelet; kubectl --kubeconfig ${kubeconfig} describe node"
say "waiting for CoreDNS"
k -n kube-system rollout status deploy/coredns --timeout=180s >&2 ||
  fail "CoreDNS not available: kubectl --kubeconfig ${kubeconfig} -n kube-system describe pods -l k8s-app=kube-dns"

# The pool: hostPath volumes under /var/local-pv on the node (the node's /var
# is a Docker volume, so they live as long as the cluster). A released volume
# is emptied and offered again.
for i in $(seq 1 "${PV_POOL}"); do
  name="kind-pv-${i}"
  phase="$(k get pv "${name}" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  case "${phase}" in
  Available | Bound) continue ;;
  Released | Failed)
    say "recycling ${name}"
    docker exec "${node}" sh -c "rm -rf /var/local-pv/${name} && mkdir -m 0777 -p /var/local-pv/${name}"
    k patch pv "${name}" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
    ;;
  *)
    docker exec "${node}" mkdir -m 0777 -p "/var/local-pv/${name}"
    k apply -f - >/dev/null <<PV
apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${name}
  labels: {app.kubernetes.io/managed-by: wallet-operator-kind}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  hostPath: {path: /var/local-pv/${name}, type: Directory}
PV
    ;;
  esac
done
say "cluster ${CLUSTER} ready (kubeconfig: ${kubeconfig})"
echo "${kubeconfig}"
