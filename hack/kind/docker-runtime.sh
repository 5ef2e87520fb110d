#!/usr/bin/env bash
# kind runs its nodes as privileged containers, which ask for every
# capability. Where the Docker engine itself lacks one (its bounding set,
# as in a sandbox), runc refuses them all: "unable to apply caps". Then this
# script installs hack/kind/runc-caps, a runc front that drops the
# capabilities the engine cannot grant, as Docker's default runtime
# (/etc/docker/daemon.json, reloaded with SIGHUP, no restart). Elsewhere it
# changes nothing. Usage: docker-runtime.sh <image to probe with>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
probe_image="$1"
say() { printf '[docker-runtime] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

if out="$(docker run --rm --privileged --entrypoint /bin/true "${probe_image}" 2>&1)"; then
  exit 0
fi
grep -q "unable to apply caps" <<<"${out}" || fail "a privileged container does not start: ${out}"
say "this Docker engine cannot grant every capability to a privileged container"
[[ "$(id -u)" == 0 ]] || fail "installing a Docker runtime needs root"
bin=/usr/local/libexec/wallet-operator/runc-caps
mkdir -p "$(dirname "${bin}")"
CGO_ENABLED=0 go build -o "${bin}.tmp" "${here}/runc-caps" || fail "building runc-caps"
mv "${bin}.tmp" "${bin}"
config=/etc/docker/daemon.json
say "making ${bin} Docker's default runtime (${config}, reloaded with SIGHUP)"
python3 - "${config}" "${bin}" <<'PY'
import json, os, sys
path, binary = sys.argv[1], sys.argv[2]
d = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
d.setdefault("runtimes", {})["runc-caps"] = {"path": binary}
d["default-runtime"] = "runc-caps"
json.dump(d, open(path, "w"), indent=2)
PY
pid="$(pidof dockerd)" || fail "no dockerd process to reload"
kill -HUP ${pid}
for _ in $(seq 20); do
  docker info 2>/dev/null | grep -q "Default Runtime: runc-caps" && break
  sleep 0.5
done
out="$(docker run --rm --privileged --entrypoint /bin/true "${probe_image}" 2>&1)" ||
  fail "a privileged container still does not start with runc-caps: ${out}"
say "privileged containers start"
