#!/usr/bin/env bash
# The package tests/real/test_prometheus.py runs: Debian's Prometheus (the server, and
# promtool, which checks docs/prometheus/). Installed by name every time (idempotent);
# policy-rc.d keeps the package from starting its service during the install: the tests
# start their own on 127.0.0.1 (a free port, a temp dir for its data).
# Exit 75 with one line when the Debian mirror cannot be reached at all (the tests then
# skip with that line); any other failure fails loudly.
set -euo pipefail
PACKAGES=(prometheus)
UNREACHABLE=75

if ! log=$(apt-get update -qq --error-on=any -o Acquire::Retries=0 -o Acquire::http::Timeout=20 2>&1); then
    if grep -qiE 'could not resolve|temporary failure resolving|could not connect|unable to connect|connection (failed|timed out|refused)|network is unreachable' <<<"$log"; then
        echo "real-prometheus: the Debian mirror cannot be reached: $(grep -m1 -iE 'err|fail' <<<"$log" | tr -s ' ')"
        exit "$UNREACHABLE"
    fi
    printf '%s\n' "$log" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
saved=""
if [[ -e $policy ]]; then saved=$(mktemp) && cp -p "$policy" "$saved"; fi
restore() { if [[ -n $saved ]]; then mv "$saved" "$policy"; else rm -f "$policy"; fi; }
trap restore EXIT
printf '#!/bin/sh\n# written by .ci/real-prometheus.sh for the install only\nexit 101\n' >"$policy"
chmod 755 "$policy"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${PACKAGES[@]}" >/dev/null
command -v prometheus promtool >/dev/null
echo "real-prometheus: $(prometheus --version 2>&1 | head -n 1)"
