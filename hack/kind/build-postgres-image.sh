#!/usr/bin/env bash
# Builds the PostgreSQL image the kind cluster runs the ledger on, from
# Debian's postgresql-15 package (no image can be pulled). Tagged by a hash of
# its inputs and reused; the last line of stdout is its reference.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
say() { printf '[postgres-image] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

base="$("${here}/build-rootfs.sh" postgres postgresql-15,ca-certificates | tail -n1)"
image="wallet-operator-kind/postgres:15-$( (echo "${base}"; cat "${here}/postgres/entrypoint.sh") | sha256sum | cut -c1-12)"
if docker image inspect "${image}" >/dev/null 2>&1; then
  say "using ${image}"
  echo "${image}"
  exit 0
fi
ctx="${root}/bin/kind-node/work/ctx-postgres"
rm -rf "${ctx}" && mkdir -p "${ctx}"
cp "${here}/postgres/entrypoint.sh" "${ctx}/"
cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${base}
COPY entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
USER postgres
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
DOCKERFILE
say "building ${image}"
docker build -q -t "${image}" "${ctx}" >/dev/null || fail "docker build ${image}"
rm -rf "${ctx}"
echo "${image}"
