#!/usr/bin/env bash
# make bench, bench-ledger, bench-controllers, bench-reports: runs the
# benchmarks docs/benchmarks.md reports, RUNS times each (default 3), one
# after the other, with the reference figures of the same sitting (the raw
# kube-apiserver write rate is printed by controller-load; pg_test_fsync here).
# Run it on a quiet machine: anything else running moves the figures.
#
#   hack/bench.sh ledger|controllers|reports|all
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"
say() { printf '\n[bench] %s\n' "$*" >&2; }
what="${1:-all}"
if [[ -n "$(docker ps -q --filter label=io.x-k8s.kind.cluster 2>/dev/null)" ]]; then
  say "a kind cluster is running and takes CPU from these figures: docker pause its node, or make kind-delete"
fi

ledger() {
  say "reference: pg_test_fsync (5 s per test)"
  fsync="$(ls /usr/lib/postgresql/*/bin/pg_test_fsync 2>/dev/null | tail -n1)"
  if [[ -n "${fsync}" ]]; then
    (cd "$(mktemp -d)" && "${fsync}" -s 5 | grep -E "^[[:space:]]+(fdatasync|open_datasync)")
  else
    say "pg_test_fsync not found (Debian's postgresql package): no disk reference"
  fi
  go build -o bin/ledger-load ./hack/ledger-load
  for i in $(seq "${RUNS}"); do
    say "ledger-load, run ${i} of ${RUNS}"
    echo "| backend | writers | wallets | batch | postings | postings/s | ack p50 | ack p99 | bytes/posting | balance read p50 | balance read p99 |"
    bin/ledger-load -backend sqlite
    bin/ledger-load -backend sqlite -wallets 1
    bin/ledger-load -backend postgres
    bin/ledger-load -backend postgres -wallets 1
  done
  say "consumption report over 1,000,000 entries"
  bin/ledger-load -backend sqlite -report-entries 1000000
  bin/ledger-load -backend postgres -report-entries 1000000
  say "go test -bench (SQLite, in process)"
  go test ./internal/ledger/sqlite/ -run '^$' -bench . -benchtime 2s -count "${RUNS}"
}

controllers() {
  make --no-print-directory build
  for i in $(seq "${RUNS}"); do
    say "controller-load, run ${i} of ${RUNS} (10,000 WalletTransactions, two rounds)"
    go run ./hack/controller-load
  done
}

reports() {
  make --no-print-directory build
  for i in $(seq "${RUNS}"); do
    say "reports-load, run ${i} of ${RUNS}"
    go run ./hack/reports-load
  done
}

case "${what}" in
ledger) ledger ;;
controllers) controllers ;;
reports) reports ;;
all) ledger; controllers; reports ;;
*) echo "usage: $0 ledger|controllers|reports|all" >&2; exit 2 ;;
esac
