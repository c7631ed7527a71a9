# Helpers the benchmark scripts share (sourced).

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
