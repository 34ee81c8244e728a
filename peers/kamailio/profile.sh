# Sourced by ../start-kamailio.sh and ../stop-kamailio.sh (bash): maps
# KAMAILIO_PROFILE to a cfg file, a default port, a run dir, the db_text
# tables to create and the rows to seed into them.
#
#   profile     cfg                               port  tables seeded
#   presence    kamailio-presence.cfg             5070  -
#   reginfo     kamailio-reginfo.cfg              5072  -
#   dialoginfo  kamailio-dialoginfo.cfg           5074  -
#   rls         kamailio-rls.cfg                  5076  xcap: rls-services.xml (owner bob),
#                                                       resource-lists.xml (owner bob)
#   auth        kamailio-auth.cfg                 5078  subscriber: bob/secret, alice/alicepw
#   tls         kamailio-presence.cfg + WITH_TLS  5084  - (and tls on 5085: TLS_PORT,
#                                                       KAMAILIO_TLS_CERT/KEY required)
#
# Sets PROFILE CFG PORT RUN_DIR PROFILE_TABLES and defines profile_seed DBDIR.
# $HERE must be the peers directory.

PROFILE="${KAMAILIO_PROFILE:-presence}"
case "$PROFILE" in
  presence)   _default_port=5070 ;;
  reginfo)    _default_port=5072 ;;
  dialoginfo) _default_port=5074 ;;
  rls)        _default_port=5076 ;;
  auth)       _default_port=5078 ;;
  tls)        _default_port=5084 ;;
  *) echo "unknown KAMAILIO_PROFILE '$PROFILE' (presence|reginfo|dialoginfo|rls|auth|tls)" >&2; exit 2 ;;
esac
if [ "$PROFILE" = tls ]; then _cfg_name=presence; else _cfg_name="$PROFILE"; fi
CFG="${KAMAILIO_CFG:-$HERE/kamailio/kamailio-$_cfg_name.cfg}"
PORT="${KAMAILIO_PORT:-$_default_port}"
RUN_DIR="${KAMAILIO_RUN_DIR:-/tmp/presence-b2b-peers/kamailio-$PROFILE-$PORT}"

# db_text tables copied empty from /usr/share/kamailio/dbtext/kamailio/
case "$PROFILE" in
  presence|tls) PROFILE_TABLES="version presentity active_watchers watchers xcap" ;;
  reginfo)    PROFILE_TABLES="version presentity active_watchers watchers xcap pua location" ;;
  dialoginfo) PROFILE_TABLES="version presentity active_watchers watchers xcap pua location dialog dialog_vars" ;;
  rls)        PROFILE_TABLES="version presentity active_watchers watchers xcap pua rls_watchers rls_presentity" ;;
  auth)       PROFILE_TABLES="version presentity active_watchers watchers xcap subscriber" ;;
esac

# one db_text string value from a file: \ : TAB and newlines escaped
dbtext_escape_file() {
  sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' -e 's/\t/\\t/g' -e 's/\r$//' "$1" |
    awk 'NR > 1 { printf "%s", "\\n" } { printf "%s", $0 }'
}
dbtext_escape_str() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g'
}

profile_seed() {
  local db="$1"
  case "$PROFILE" in
    rls)
      # xcap: id(auto) username domain doc doc_type etag source doc_uri port
      # doc_type: 4 = resource-lists, 8 = rls-services (xcap_client constants)
      {
        printf '1:bob:example.com:%s:8:rls-etag-1:1:%s:0\n' \
          "$(dbtext_escape_file "$HERE/kamailio/rls-services.xml")" \
          "$(dbtext_escape_str '/xcap-root/rls-services/users/sip:bob@example.com/index')"
        printf '2:bob:example.com:%s:4:rl-etag-1:1:%s:0\n' \
          "$(dbtext_escape_file "$HERE/kamailio/resource-lists.xml")" \
          "$(dbtext_escape_str '/xcap-root/resource-lists/users/sip:bob@example.com/index')"
      } >> "$db/xcap"
      ;;
    auth)
      # subscriber: id(auto) username domain password ha1 ha1b
      # (the cfg uses the plain password column, calculate_ha1=yes; ha1 is
      # filled in too: MD5(user:realm:password), ha1b = MD5(user@realm:realm:password))
      local u pw i=1
      for u in bob:secret alice:alicepw; do
        pw="${u#*:}"; u="${u%%:*}"
        printf '%d:%s:example.com:%s:%s:%s\n' "$i" "$u" "$pw" \
          "$(printf '%s' "$u:example.com:$pw" | md5sum | cut -d' ' -f1)" \
          "$(printf '%s' "$u@example.com:example.com:$pw" | md5sum | cut -d' ' -f1)"
        i=$((i + 1))
      done >> "$db/subscriber"
      ;;
  esac
}

# Extra -A defines of a profile (one per line), and the package it needs.
profile_defines() {
  case "$PROFILE" in
    tls)
      if [ -z "${KAMAILIO_TLS_CERT:-}" ] || [ -z "${KAMAILIO_TLS_KEY:-}" ]; then
        echo "profile tls needs KAMAILIO_TLS_CERT and KAMAILIO_TLS_KEY (PEM files)" >&2
        return 1
      fi
      printf '%s\n' WITH_TLS "TLS_PORT=${KAMAILIO_TLS_PORT:-$((PORT + 1))}" \
        "TLS_CERT=\"$KAMAILIO_TLS_CERT\"" "TLS_KEY=\"$KAMAILIO_TLS_KEY\""
      ;;
  esac
}
