# Sourced by the .ci/real-*.sh scripts that install Debian packages for tests/real:
# `debian_install NAME [apt-get install options] PACKAGE...` refreshes the package lists,
# then installs by name (idempotent) with a policy-rc.d that keeps packages from starting
# their services (the tests start their own on 127.0.0.1); the old policy-rc.d, if any,
# is put back. Exit 75 with one line when the Debian mirror cannot be reached at all
# (the tests then skip with that line); any other failure fails loudly.
UNREACHABLE=75

debian_install() {
    local name=$1 log
    shift
    if ! log=$(apt-get update -qq --error-on=any -o Acquire::Retries=0 -o Acquire::http::Timeout=20 2>&1); then
        if grep -qiE 'could not resolve|temporary failure resolving|could not connect|unable to connect|connection (failed|timed out|refused)|network is unreachable' <<<"$log"; then
            echo "$name: the Debian mirror cannot be reached: $(grep -m1 -iE 'err|fail' <<<"$log" | tr -s ' ')"
            exit "$UNREACHABLE"
        fi
        printf '%s\n' "$log" >&2
        exit 1
    fi
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [[ -e $policy ]]; then saved=$(mktemp) && cp -p "$policy" "$saved"; fi
    trap 'if [[ -n $saved ]]; then mv "$saved" "$policy"; else rm -f "$policy"; fi' EXIT
    printf '#!/bin/sh\n# written by .ci/%s.sh for the install only\nexit 101\n' "$name" >"$policy"
    chmod 755 "$policy"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" >/dev/null
}
