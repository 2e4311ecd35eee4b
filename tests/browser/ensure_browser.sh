#!/bin/sh
# Installs what the browser tests need: Debian's chromium (apt-get) and
# playwright-core (npm, into tests/browser/node_modules, from package-lock.json).
# Idempotent: does nothing when both are present.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "installing nodejs and npm"
        if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
    fi
    echo "installing playwright-core into $here/node_modules"
    # ci: exactly the locked version, and the lock file is never rewritten
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
