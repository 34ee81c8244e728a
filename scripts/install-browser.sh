#!/usr/bin/env bash
# Setup step for the browser test of the status page (test/browser/): installs
# Debian's Chromium when it is missing (idempotent; nothing happens when
# /usr/bin/chromium is there). playwright-core, an npm dev dependency, drives
# it through `executablePath`: no browser is downloaded by a test tool.
#
#   bash scripts/install-browser.sh
#
# Same rules as scripts/install-peers.sh (peers/packages.sh): `apt-get install`
# with DEBIAN_FRONTEND=noninteractive, `apt-get update` once when that fails,
# root or passwordless sudo only when something is missing.
set -euo pipefail
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../peers" && pwd)"
. "$PEERS_DIR/packages.sh"
peers_ensure_packages chromium
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: no version')" >&2
