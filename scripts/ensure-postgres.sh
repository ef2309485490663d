#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl) exist for the PostgreSQL store tests.
# Installs Debian's `postgresql` with apt-get when missing, only as root with apt available;
# otherwise says why and exits 0 (the PostgreSQL tests then skip with that reason).
set -uo pipefail

have_binaries() {
    if [ -n "${DOCREF_NLP_PG_BIN:-}" ] && [ -x "${DOCREF_NLP_PG_BIN}/initdb" ]; then
        return 0
    fi
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}

if have_binaries; then
    echo "ensure-postgres: PostgreSQL binaries present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-postgres: initdb/pg_ctl not found and not root: not installing (PostgreSQL tests will skip)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: initdb/pg_ctl not found and no apt-get: not installing (PostgreSQL tests will skip)"
    exit 0
fi
echo "ensure-postgres: installing postgresql with apt-get"
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y --no-install-recommends postgresql >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends postgresql >/dev/null; }; then
    # Debian's package starts a cluster service; the tests run their own throwaway server.
    if have_binaries; then
        echo "ensure-postgres: installed"
    else
        echo "ensure-postgres: installed, but initdb is still missing (PostgreSQL tests will skip)"
    fi
else
    echo "ensure-postgres: apt-get install postgresql failed (PostgreSQL tests will skip)"
fi
exit 0
