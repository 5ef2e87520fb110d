#!/bin/sh
# PostgreSQL for the kind cluster's ledger (hack/kind/postgres.yaml): creates
# the cluster on first start from POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB, then runs the server in the foreground.
set -eu
bin=/usr/lib/postgresql/15/bin
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=${POSTGRES_USER}}"
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  echo "initializing ${PGDATA}"
  pw="$(mktemp)"
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"${pw}"
  "${bin}/initdb" -D "${PGDATA}" -U "${POSTGRES_USER}" --pwfile="${pw}" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "${pw}"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"${PGDATA}/pg_hba.conf"
  if [ "${POSTGRES_DB}" != postgres ]; then
    echo "CREATE DATABASE \"${POSTGRES_DB}\" OWNER \"${POSTGRES_USER}\"" |
      "${bin}/postgres" --single -D "${PGDATA}" -j postgres >/dev/null
  fi
fi
exec "${bin}/postgres" -D "${PGDATA}" -c listen_addresses='*' -c unix_socket_directories=/tmp
