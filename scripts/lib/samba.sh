# A throwaway Samba Active Directory domain controller on 127.0.0.1 for the AD tests (sourced; needs root or
# sudo: samba runs as root). Provisioning takes ~5 s; it listens on 127.0.0.1:389 (Samba's port is fixed).

SAMBA_ADMIN_PASSWORD='Adm1n-Test-Pass!'

# samba_start DIR USERS: provisions EXAMPLE.TEST in DIR, starts samba, loads USERS users, an all-staff group of
# all of them (more than 1,500 members: ranged retrieval), a group nesting it, disabled and expired accounts; sets
# and exports the MIXER_SYNC_TEST_AD_* variables.
samba_start() {
  local dir=$1 users=$2
  local S=()
  [ "$(id -u)" -eq 0 ] || S=(sudo)
  "${S[@]}" rm -rf "$dir/dc"
  mkdir -p "$dir"
  "${S[@]}" samba-tool domain provision --realm=EXAMPLE.TEST --domain=EXAMPLE --server-role=dc --dns-backend=NONE \
    --targetdir="$dir/dc" --host-ip=127.0.0.1 --option="interfaces = 127.0.0.1" --option="bind interfaces only = yes" \
    --option="server services = ldap" --adminpass="$SAMBA_ADMIN_PASSWORD" > "$dir/provision.log" 2>&1 || {
      tail -20 "$dir/provision.log" >&2; return 1; }
  # Provisioning drops this; simple binds on plain LDAP to loopback are what the tests use.
  "${S[@]}" sed -i 's/^\[global\]/[global]\n\tldap server require strong auth = no/' "$dir/dc/etc/smb.conf"
  "${S[@]}" samba -s "$dir/dc/etc/smb.conf" --foreground --no-process-group -M single > "$dir/samba.log" 2>&1 &
  echo $! > "$dir/samba.pid"
  printf '%s' "$SAMBA_ADMIN_PASSWORD" > "$dir/ad-password"
  chmod 600 "$dir/ad-password"
  local up=""
  for _ in $(seq 1 150); do
    if ldapsearch -x -H ldap://127.0.0.1 -D "Administrator@example.test" -y "$dir/ad-password" -b "DC=example,DC=test" \
         -s base '(objectClass=*)' dn >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
  done
  [ -n "$up" ] || { echo "samba did not answer on ldap://127.0.0.1" >&2; tail -20 "$dir/samba.log" >&2; return 1; }
  python3 - "$users" > "$dir/ad.ldif" <<'PY'
import sys
base, n = "DC=example,DC=test", int(sys.argv[1])
print(f"dn: OU=People,{base}\nobjectClass: organizationalUnit\nou: People\n")
print(f"dn: OU=Groups,{base}\nobjectClass: organizationalUnit\nou: Groups\n")
for i in range(1, n + 1):
    u = f"ad{i:05d}"
    uac = 546 if i % 500 == 0 else 544                                   # 0x2: disabled
    expires = "accountExpires: 116444736000000000\n" if i % 700 == 0 else ""  # 1970-01-01: expired
    print(f"dn: CN={u},OU=People,{base}\nobjectClass: user\nsAMAccountName: {u}\nuserPrincipalName: {u}@example.test\n"
          f"mail: {u}@example.test\ngivenName: Ad\nsn: User{i}\ndisplayName: Ad User {i}\ntitle: Engineer\n"
          f"company: Example Ltd\ndepartment: R&D\nuserAccountControl: {uac}\n{expires}")
members = "".join(f"member: CN=ad{i:05d},OU=People,{base}\n" for i in range(1, n + 1))
print(f"dn: CN=all-staff,OU=Groups,{base}\nobjectClass: group\nsAMAccountName: all-staff\n{members}")
print(f"dn: CN=editors,OU=Groups,{base}\nobjectClass: group\nsAMAccountName: editors\nmember: CN=all-staff,OU=Groups,{base}\n")
PY
  ldapadd -x -H ldap://127.0.0.1 -D "Administrator@example.test" -y "$dir/ad-password" -f "$dir/ad.ldif" > "$dir/ad-load.log" 2>&1 || {
    tail -5 "$dir/ad-load.log" >&2; return 1; }
  export MIXER_SYNC_TEST_AD_URL="ldap://127.0.0.1"
  export MIXER_SYNC_TEST_AD_PASSWORD_FILE="$dir/ad-password"
  export MIXER_SYNC_TEST_AD_USERS="$users"
}

# samba_stop DIR: stops the DC by its PID and removes its files (they are root's).
samba_stop() {
  local dir=$1
  local S=()
  [ "$(id -u)" -eq 0 ] || S=(sudo)
  if [ -f "$dir/samba.pid" ]; then
    "${S[@]}" kill "$(cat "$dir/samba.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do "${S[@]}" kill -0 "$(cat "$dir/samba.pid")" 2>/dev/null || break; sleep 0.1; done
    "${S[@]}" kill -9 "$(cat "$dir/samba.pid")" 2>/dev/null || true
    rm -f "$dir/samba.pid"
  fi
  "${S[@]}" rm -rf "$dir/dc"
}
