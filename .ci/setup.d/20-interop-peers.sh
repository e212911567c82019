#!/usr/bin/env bash
# Interop peers: Node + the pinned ts-mls tree in interop/tsmls (from its package-lock.json).
# mls-rs comes with the Python test extra (setup.cfg), so nothing to do for it here.
# Idempotent: does nothing when node is present and node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs and npm from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm </dev/null
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "node $(node --version) is too old: ts-mls 1.6.4 needs node >= 20" >&2
    exit 1
fi

dir=interop/tsmls
driver_ok() {
    # The driver answers "hello" only if ts-mls and every peer package it loads resolve.
    # Suite 87 (X-Wing, ML-DSA-87) needs the optional post-quantum packages too.
    printf '%s\n' '{"id":1,"cmd":"hello"}' '{"id":2,"cmd":"bench","suite":6,"n":1}' \
        '{"id":3,"cmd":"bench","suite":87,"n":1}' \
        | (cd "$dir" && timeout 120 node driver.mjs) 2>/dev/null | grep -c '"cycles"' \
        | grep -qx 2
}

stamp="$dir/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] || ! driver_ok; then
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    driver_ok || { echo "the ts-mls driver does not run after npm ci" >&2; exit 1; }
fi
echo "ts-mls peer ready: node $(node --version), ts-mls $(node -p "require('./$dir/node_modules/ts-mls/package.json').version")"
