# Sourced (bash) by start-kamailio.sh, start-baresip.sh and
# ../scripts/install-peers.sh: installs the Debian 12 packages of the peers
# when they are missing.
#
#   peers_ensure_packages kamailio kamailio-presence-modules kamailio-tls-modules sip-tester baresip-core
#
# A package counts as present when what we use from it is on disk (binary or
# module), so a machine that has the peers from elsewhere is left alone.
# Missing ones are installed with one `apt-get install`; when that fails
# (typically: a fresh container without package lists) `apt-get update` runs
# once and the install is retried.  Needs root or passwordless sudo only when
# something is missing.  All apt output goes to stderr.

peers_find_kamailio_modpath() {
  local f
  for f in /usr/lib/*/kamailio/modules/presence.so /usr/lib/kamailio/modules/presence.so; do
    [ -f "$f" ] && { dirname "$f"; return 0; }
  done
  return 1
}

peers_find_baresip_modpath() {
  local f
  for f in /usr/lib/*/baresip/modules/presence.so /usr/lib/baresip/modules/presence.so; do
    [ -f "$f" ] && { dirname "$f"; return 0; }
  done
  if command -v dpkg >/dev/null 2>&1; then
    f="$(dpkg -L baresip-core 2>/dev/null | grep '/presence\.so$' | head -1 || true)"
    [ -n "$f" ] && [ -f "$f" ] && { dirname "$f"; return 0; }
  fi
  return 1
}

peers_package_present() {
  case "$1" in
    kamailio)                  command -v kamailio >/dev/null 2>&1 ;;
    kamailio-presence-modules) peers_find_kamailio_modpath >/dev/null ;;
    kamailio-tls-modules)      [ -f "$(peers_find_kamailio_modpath 2>/dev/null)/tls.so" ] ;;
    sip-tester)                command -v sipp >/dev/null 2>&1 ;;
    baresip-core)              command -v baresip >/dev/null 2>&1 && peers_find_baresip_modpath >/dev/null ;;
    *) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
  esac
}

peers_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    echo "peers: need root or passwordless sudo to run: $*" >&2
    return 1
  fi
}

peers_ensure_packages() {
  local need=() p
  for p in "$@"; do
    peers_package_present "$p" || need+=("$p")
  done
  [ "${#need[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "peers: missing ${need[*]} and no apt-get here (the peers are Debian 12 packages)" >&2
    return 1
  fi
  echo "peers: installing ${need[*]} (Debian packages)" >&2
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0
             install --no-install-recommends "${need[@]}")
  if ! peers_as_root "${apt[@]}" >&2; then
    echo "peers: install failed; running apt-get update once and retrying" >&2
    peers_as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 update >&2 || return 1
    peers_as_root "${apt[@]}" >&2 || return 1
  fi
  for p in "${need[@]}"; do
    peers_package_present "$p" || { echo "peers: $p still missing after apt-get install" >&2; return 1; }
  done
}
