#!/usr/bin/env bash
# Assembles a kind node image with nothing pulled: a Debian root filesystem
# from debootstrap, containerd/runc/CNI/crictl and the Kubernetes binaries
# built from the Go module proxy, this directory's node/ files (entrypoint,
# systemd units, containerd and CNI configuration), and every image kubeadm
# asks for, built here and imported into the node's containerd under the
# names kubeadm expects. The image is tagged by a hash of its inputs and
# reused when present; the last line of stdout is its reference.
#
# Needs root, Docker, Go, gcc (static glibc), debootstrap and libseccomp-dev.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
COREDNS_VERSION="${COREDNS_VERSION:-1.14.6}"
PAUSE_VERSION="3.10.2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
say() { printf '[node-image] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

command -v docker >/dev/null || fail "docker is not on PATH"
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info)"

tools="$("${here}/build-node-tools.sh" | tail -n1)"
kube="$("${here}/build-kubernetes.sh" | tail -n1)"
controlplane="$("${root}/hack/build-controlplane.sh" | tail -n1)"
etcd_version="$("${controlplane}/etcd" --version | sed -n 's/^etcd Version: //p')"
[[ -n "${etcd_version}" ]] || fail "cannot read etcd's version from ${controlplane}/etcd"
node_rootfs="$("${here}/build-rootfs.sh" node \
  systemd,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,e2fsprogs,bash,ca-certificates,procps,socat | tail -n1)"

"${here}/docker-runtime.sh" "${node_rootfs}"

work="${root}/bin/kind-node/work"
mkdir -p "${work}"
log="${root}/bin/kind-node/node-image.log"
: >"${log}"

# The hash names every input, so a change to any of them builds a new image.
inputs="$(
  # directory names carry the versions; paths differ between clones
  echo "$(basename "$(dirname "${tools}")") $(basename "${kube}") $(basename "${controlplane}") etcd-${etcd_version} ${node_rootfs} coredns-${COREDNS_VERSION}"
  cd "${here}" && find node images runc-caps build-node-image.sh -type f -print0 | sort -z | xargs -0 sha256sum
)"
node_image="wallet-operator-kind/node:v${K8S_VERSION}-$(sha256sum <<<"${inputs}" | cut -c1-12)"
if docker image inspect "${node_image}" >/dev/null 2>&1; then
  say "using ${node_image}"
  echo "${node_image}"
  exit 0
fi

coredns="${root}/bin/kind-node/coredns-${COREDNS_VERSION}"
if [[ ! -x "${coredns}/coredns" ]]; then
  say "building CoreDNS v${COREDNS_VERSION} (log: ${log})"
  mkdir -p "${coredns}"
  GOBIN="${coredns}" CGO_ENABLED=0 go install -ldflags "-s -w" "github.com/coredns/coredns@v${COREDNS_VERSION}" >>"${log}" 2>&1 ||
    { tail -n 20 "${log}" >&2; fail "building CoreDNS (log: ${log})"; }
fi
CGO_ENABLED=0 go build -o "${work}/runc-caps" "${here}/runc-caps" >>"${log}" 2>&1 || fail "building runc-caps (log: ${log})"
say "building pause ${PAUSE_VERSION} (static C)"
gcc -static -Os -o "${work}/pause" "${here}/images/pause.c" >>"${log}" 2>&1 || fail "compiling pause.c: needs gcc and libc6-dev (log: ${log})"

# image <reference> <base> <entrypoint-json> <file>...: a one-layer image of
# files copied into /usr/local/bin.
image() {
  local ref="$1" base="$2" entrypoint="$3"
  shift 3
  local ctx="${work}/ctx-${ref//[\/:]/_}"
  rm -rf "${ctx}" && mkdir -p "${ctx}"
  {
    echo "FROM ${base}"
    echo 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    for f in "$@"; do
      cp "${f}" "${ctx}/"
      echo "COPY $(basename "${f}") /usr/local/bin/"
    done
    [[ -n "${entrypoint}" ]] && echo "ENTRYPOINT ${entrypoint}"
  } >"${ctx}/Dockerfile"
  docker build -q -t "${ref}" "${ctx}" >>"${log}" 2>&1 || { tail -n 20 "${log}" >&2; fail "building image ${ref} (log: ${log})"; }
  rm -rf "${ctx}"
}

say "building the images kubeadm runs"
images=(
  "registry.k8s.io/kube-apiserver:v${K8S_VERSION}"
  "registry.k8s.io/kube-controller-manager:v${K8S_VERSION}"
  "registry.k8s.io/kube-scheduler:v${K8S_VERSION}"
  "registry.k8s.io/kube-proxy:v${K8S_VERSION}"
  "registry.k8s.io/etcd:${etcd_version}-0"
  "registry.k8s.io/coredns/coredns:v${COREDNS_VERSION}"
  "registry.k8s.io/pause:${PAUSE_VERSION}"
)
image "${images[0]}" scratch "" "${controlplane}/kube-apiserver"
image "${images[1]}" scratch "" "${kube}/kube-controller-manager"
image "${images[2]}" scratch "" "${kube}/kube-scheduler"
# kube-proxy programs iptables, so it needs the Debian tools.
image "${images[3]}" "${node_rootfs}" "" "${kube}/kube-proxy"
image "${images[4]}" scratch "" "${controlplane}/etcd"
image "${images[5]}" scratch '["/usr/local/bin/coredns"]' "${coredns}/coredns"
image "${images[6]}" scratch '["/usr/local/bin/pause"]' "${work}/pause"
docker save "${images[@]}" -o "${work}/images.tar" >>"${log}" 2>&1 || fail "docker save (log: ${log})"

say "assembling the node filesystem"
ctx="${work}/ctx-node"
rm -rf "${ctx}" && mkdir -p "${ctx}/bin"
cp -a "${here}/node" "${ctx}/files"
cp "${tools}"/{containerd,ctr,containerd-shim-runc-v2,runc,crictl,bridge,loopback,ptp,host-local,portmap} "${ctx}/bin/"
cp "${kube}"/{kubelet,kubeadm,kubectl} "${ctx}/bin/"
cp "${work}/runc-caps" "${ctx}/bin/"
cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${node_rootfs}
COPY files/ /
COPY bin/containerd bin/ctr bin/containerd-shim-runc-v2 bin/crictl /usr/local/bin/
COPY bin/runc bin/runc-caps /usr/local/sbin/
COPY bin/bridge bin/loopback bin/ptp bin/host-local bin/portmap /opt/cni/bin/
COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
RUN echo "v${K8S_VERSION}" >/kind/version \\
 && ln -sf /lib/systemd/systemd /sbin/init \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup* \\
 && echo "ReadKMsg=no" >>/etc/systemd/journald.conf \\
 && systemctl enable containerd.service kubelet.service \\
 && systemctl mask systemd-binfmt.service getty.target \\
 && mkdir -p /etc/kubernetes/manifests /var/lib/kubelet
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
docker build -t "${node_image}-noimages" "${ctx}" >>"${log}" 2>&1 || { tail -n 30 "${log}" >&2; fail "building the node filesystem (log: ${log})"; }
rm -rf "${ctx}"

say "importing ${#images[@]} images into the node's containerd"
cid="$(docker run -d --privileged --entrypoint /bin/sleep -v "${work}/images.tar:/images.tar:ro" "${node_image}-noimages" infinity)"
trap 'docker rm -f "${cid}" >/dev/null 2>&1 || true' EXIT
docker exec "${cid}" bash -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &
  for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
  ctr -n k8s.io images import --all-platforms --no-unpack --digests /images.tar
  pkill containerd; for i in $(seq 50); do pgrep containerd >/dev/null || break; sleep 0.2; done
  rm -f /var/log/containerd-build.log' >>"${log}" 2>&1 || { tail -n 20 "${log}" >&2; fail "importing images (log: ${log})"; }
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  "${cid}" "${node_image}" >>"${log}" 2>&1 || fail "docker commit (log: ${log})"
docker rm -f "${cid}" >/dev/null
trap - EXIT
docker rmi "${node_image}-noimages" >/dev/null 2>&1 || true
rm -f "${work}/images.tar"
# Node images of earlier inputs weigh a gigabyte each: drop those no
# container uses (docker refuses the others).
for old in $(docker images --format '{{.Repository}}:{{.Tag}}' wallet-operator-kind/node); do
  [[ "${old}" == "${node_image}" ]] || docker rmi "${old}" >/dev/null 2>&1 || true
done
say "node image ${node_image} ($(docker image inspect -f '{{.Size}}' "${node_image}" | awk '{printf "%d MB", $1/1e6}'))"
echo "${node_image}"
