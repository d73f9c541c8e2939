#!/usr/bin/env bash
# The PostgreSQL server the store tests also run on (tests/pg.py): Debian's postgresql,
# installed by .ci/debian-install.sh when no initdb is there yet (exit 75 when the Debian
# mirror cannot be reached). The tests start their own server (initdb in a temp dir, as
# the postgres user, a unix socket and 127.0.0.1 on a free port).
set -euo pipefail
source "$(dirname "$0")/debian-install.sh"
initdb() { compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1; }
if [[ -z $(initdb) ]]; then
    debian_install postgresql --no-install-recommends postgresql
fi
if [[ -z $(initdb) ]] || ! id postgres >/dev/null 2>&1; then
    echo "postgresql: installed, but no initdb or no postgres user" >&2
    exit 1
fi
echo "postgresql: $("$(initdb)" --version)"
