#!/usr/bin/env bash
# Setup step for the interop tests: installs the Debian 12 packages of the
# third-party SIP peers when they are missing (idempotent; nothing happens
# when everything is there).
#
#   bash scripts/install-peers.sh
#
#   kamailio, kamailio-presence-modules   presence server (peers/start-kamailio.sh)
#   kamailio-tls-modules                  its TLS listener (profile tls, test/interop/kamailio-tls.test.ts)
#   baresip-core                          UA-side presence notifier (peers/start-baresip.sh)
#   sip-tester                            SIPp: probes, publishers, watchers (peers/sipp/)
#
# Runs `apt-get install` (DEBIAN_FRONTEND=noninteractive), and `apt-get update`
# once first when the install fails.  Needs root or passwordless sudo only when
# something is missing.  See peers/packages.sh.
set -euo pipefail
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../peers" && pwd)"
. "$PEERS_DIR/packages.sh"
peers_ensure_packages kamailio kamailio-presence-modules kamailio-tls-modules sip-tester baresip-core
echo "install-peers: kamailio $(kamailio -v 2>/dev/null | sed -n 's/^version: kamailio \([^ ]*\).*/\1/p'), $(sipp -v 2>/dev/null | sed -n 's/^ *\(SIPp v[^ -]*\).*/\1/p' | head -1), baresip-core present" >&2
