#!/usr/bin/env bash
# The package tests/real/test_prometheus.py runs: Debian's Prometheus (the server, and
# promtool, which checks docs/prometheus/), installed by .ci/debian-install.sh (exit 75
# when the Debian mirror cannot be reached). The tests start their own server on
# 127.0.0.1 (a free port, a temp dir for its data).
set -euo pipefail
source "$(dirname "$0")/debian-install.sh"
debian_install real-prometheus --no-install-recommends prometheus
command -v prometheus promtool >/dev/null
echo "real-prometheus: $(prometheus --version 2>&1 | head -n 1)"
