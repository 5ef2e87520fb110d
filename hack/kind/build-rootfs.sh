#!/usr/bin/env bash
# Builds a Debian root filesystem with debootstrap and imports it into Docker
# as an image, since no base image can be pulled here. Usage:
#   build-rootfs.sh <image-name> <package,package,...>
# The image is tagged by a hash of the suite and package list and reused when
# present; the last line of stdout is the image reference.
set -euo pipefail

SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
name="$1"
packages="$2"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[rootfs %s] %s\n' "${name}" "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

tag="$(printf '%s %s %s' "${SUITE}" "${MIRROR}" "${packages}" | sha256sum | cut -c1-12)"
image="wallet-operator-kind/${name}:${SUITE}-${tag}"
if docker image inspect "${image}" >/dev/null 2>&1; then
  say "using ${image}"
  echo "${image}"
  exit 0
fi
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install -y debootstrap"
[[ "$(id -u)" == 0 ]] || fail "debootstrap needs root"

work="${root}/bin/kind-node/rootfs-${name}"
log="${root}/bin/kind-node/rootfs-${name}.log"
rm -rf "${work}"
mkdir -p "${work}"
say "debootstrap ${SUITE} with ${packages} (log: ${log}; about 2 minutes)"
start=$SECONDS
if ! debootstrap --variant=minbase --include="${packages}" "${SUITE}" "${work}" "${MIRROR}" >"${log}" 2>&1; then
  tail -n 20 "${log}" >&2
  fail "debootstrap (log: ${log})"
fi
# Package caches and lists are of no use in an image that never runs apt.
rm -rf "${work}"/var/cache/apt/archives/*.deb "${work}"/var/lib/apt/lists/* \
  "${work}"/usr/share/doc "${work}"/usr/share/man "${work}"/usr/share/locale
say "importing into Docker as ${image}"
tar -C "${work}" -c . | docker import - "${image}" >>"${log}" 2>&1 || fail "docker import (log: ${log})"
rm -rf "${work}"
say "built ${image} in $((SECONDS - start)) s"
echo "${image}"
