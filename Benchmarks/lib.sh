# Helpers the benchmark scripts share (sourced).

# bench_release_build PRODUCT...: installs what is missing (scripts/setup), builds the products in release and
# sets BIN to the folder that holds them.
bench_release_build() {
  bash scripts/setup >/dev/null
  echo "== release build"
  local product
  for product in "$@"; do swift build -c release --product "$product" 2>&1 | tail -1; done
  BIN=$(swift build -c release --show-bin-path)
}

# bench_directory_config PORT: the [directory] part of a config for the generated directory on 127.0.0.1:PORT.
bench_directory_config() {
  cat <<TOML
[directory]
url = "ldap://127.0.0.1:$1"
bind_dn = "cn=mixer-sync,ou=services,dc=example,dc=com"
bind_password_file = "bind-password"
page_size = 1000
timeout = "60s"

[[directory.users]]
name = "staff"
base = "ou=people,dc=example,dc=com"
filter = "(objectClass=inetOrgPerson)"

[directory.groups]
base = "ou=groups,dc=example,dc=com"
TOML
}

# bench_ldapsearch_script BIN CONFIG OUT: writes to OUT a script running exactly the searches mixer-sync reports
# for CONFIG (from `test-query --json`), and prints what they read.
bench_ldapsearch_script() {
  "$1" test-query --json --config "$2" > "$3.query.json"
  python3 - "$3.query.json" "$3" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))
assert q["complete"], q
with open(sys.argv[2], "w") as f:
    f.write("set -e\n")
    for s in q["searches"]:
        f.write(s + " > /dev/null\n")
print(f"mixer-sync read {q['entries']} people in {q['pages']} pages; ldapsearch runs the same {len(q['searches'])} searches")
PY
}

# sandbox_cookie PORT: signs in to the sandbox as the service account and prints the session cookie header value.
sandbox_cookie() {
  local session
  session=$(curl -s "http://127.0.0.1:$1/auth/v1/token?grant_type=password" -H 'apikey: sandbox-anon-key' \
    -d '{"email":"mixer-sync@example.com","password":"sandbox-password"}')
  printf 'sb-sandbox-auth-token=base64-%s' "$(printf '%s' "$session" | base64 -w0 | tr '+/' '-_' | tr -d '=')"
}

# bench_slapd WORK USERS: USERS generated people (no special cases) in a throwaway slapd under WORK/slapd; sets PORT.
bench_slapd() {
  python3 scripts/lib/gen-directory.py --users "$2" --no-specials > "$1/data.ldif"
  slapd_make_instance "$1/slapd"
  slapd_load "$1/slapd" "$1/data.ldif"
  PORT=$(free_port)
  slapd_start "$1/slapd" "ldap://127.0.0.1:$PORT/"
}

# bench_sandbox BIN WORK SANDBOX-ARGS...: starts mixerai-sandbox on WORK/seed.json; sets SANDBOX_PID and SPORT.
bench_sandbox() {
  local bin=$1 work=$2; shift 2
  rm -f "$work/sandbox.port"
  "$bin/mixerai-sandbox" --port 0 --state "$work/sandbox" --seed "$work/seed.json" --port-file "$work/sandbox.port" \
    "$@" > "$work/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  for _ in $(seq 1 1200); do [ -s "$work/sandbox.port" ] && break; sleep 0.1; done
  SPORT=$(cat "$work/sandbox.port")
}

# bench_mixerai_config SPORT: the [mixerai] part of a config for the sandbox on 127.0.0.1:SPORT.
bench_mixerai_config() {
  cat <<TOML
[mixerai]
url = "http://127.0.0.1:$1"
supabase_url = "http://127.0.0.1:$1"
supabase_anon_key = "sandbox-anon-key"
supabase_project_ref = "sandbox"
service_email = "mixer-sync@example.com"
service_password_file = "mixerai-password"
TOML
}

# bench_secrets WORK: the secret files the generated configs name (the bind password, MixerAI's service password,
# slapd's admin password for ldapmodify, GoTrue's service-role key), mode 0600.
bench_secrets() {
  printf 'mixer-sync-test-password' > "$1/bind-password"
  printf 'sandbox-password\n' > "$1/mixerai-password"
  printf 'admin-test-password' > "$1/admin-password"
  printf 'sandbox-service-role-key\n' > "$1/service-role-key"
  chmod 600 "$1/bind-password" "$1/mixerai-password" "$1/admin-password" "$1/service-role-key"
}

# bench_supabase_config SPORT: the [supabase] part of a config for the sandbox's GoTrue on 127.0.0.1:SPORT.
bench_supabase_config() {
  cat <<TOML

[supabase]
url = "http://127.0.0.1:$1"
service_role_key_file = "service-role-key"
TOML
}
