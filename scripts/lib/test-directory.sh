# Starts the test directory used by scripts/test (sourced; needs scripts/lib/slapd.sh).
# Sets and exports the MIXER_SYNC_TEST_* variables the integration tests read.

start_test_directory() {
  local work=$1 users=${2:-2500}
  make_test_ca "$work/tls"
  python3 "$ROOT/scripts/lib/gen-directory.py" --users "$users" > "$work/data.ldif"
  slapd_make_instance "$work/main" "$work/tls"
  slapd_load "$work/main" "$work/data.ldif"
  # A second instance, not started: a test starts it, then kills it in the middle of a read.
  slapd_make_instance "$work/victim"
  slapd_load "$work/victim" "$work/data.ldif"
  # A third, also started by its test: the change feed's test kills and restarts it under the daemon. Its
  # contextCSN is checkpointed after every write, so a crash does not take the state a cookie names.
  slapd_make_instance "$work/restart" "" "1 1"
  slapd_load "$work/restart" "$work/data.ldif"
  # A fourth, started now, whose StartTLS certificate expired yesterday (the reliability tests' bad TLS).
  mkdir -p "$work/tls-expired"
  cp "$work/tls/ca.pem" "$work/tls-expired/ca.pem"
  cp "$work/tls/expired.pem" "$work/tls-expired/server.pem"
  cp "$work/tls/expired.key" "$work/tls-expired/server.key"
  slapd_make_instance "$work/badtls" "$work/tls-expired"
  slapd_load "$work/badtls" "$work/data.ldif"

  local ldap_port ldaps_port
  ldap_port=$(free_port)
  ldaps_port=$(free_port)
  local ldapi_url="ldapi://$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$work/ldapi")/"
  slapd_start "$work/main" "ldap://127.0.0.1:$ldap_port/ ldaps://127.0.0.1:$ldaps_port/ $ldapi_url"
  local badtls_port badtls_ldapi
  badtls_port=$(free_port)
  badtls_ldapi="ldapi://$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$work/badtls-ldapi")/"
  slapd_start "$work/badtls" "ldap://127.0.0.1:$badtls_port/ $badtls_ldapi"

  printf 'mixer-sync-test-password\n' > "$work/bind-password"
  printf 'limited-test-password\n' > "$work/limited-password"
  printf 'not-the-password\n' > "$work/wrong-password"
  printf 'admin-test-password' > "$work/admin-password"   # the rootdn: end-to-end tests write their own subtrees
  chmod 600 "$work"/*-password

  export MIXER_SYNC_TEST_DIR="$work"
  export MIXER_SYNC_TEST_LDAP_URL="ldap://127.0.0.1:$ldap_port"
  export MIXER_SYNC_TEST_LDAPS_URL="ldaps://127.0.0.1:$ldaps_port"
  export MIXER_SYNC_TEST_LDAPI_URL="$ldapi_url"
  export MIXER_SYNC_TEST_CA="$work/tls/ca.pem"
  export MIXER_SYNC_TEST_WRONG_CA="$work/tls/wrong-ca.pem"
  export MIXER_SYNC_TEST_VICTIM="$work/victim"
  export MIXER_SYNC_TEST_RESTART="$work/restart"
  export MIXER_SYNC_TEST_BADTLS_URL="ldap://127.0.0.1:$badtls_port"
  export MIXER_SYNC_TEST_BADTLS_LDAPI="$badtls_ldapi"   # cn=config over SASL EXTERNAL: the test swaps certificates
  export MIXER_SYNC_TEST_USERS="$users"
  export MIXER_SYNC_TEST_SLAPD="$SLAPD_BIN"
}

stop_test_directory() {
  local work=$1
  slapd_stop "$work/main"
  slapd_stop "$work/victim"
  slapd_stop "$work/restart"
  slapd_stop "$work/badtls"
}
