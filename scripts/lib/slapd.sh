# Shell functions for throwaway slapd instances on 127.0.0.1 (sourced by scripts/test, scripts/demo, Benchmarks).
# Each instance lives in one directory: slapd.d/ (cn=config), data/ (mdb), tls/, slapd.pid, and a socket.

SLAPD_BIN=${SLAPD_BIN:-$(command -v slapd || echo /usr/sbin/slapd)}
SLAPD_SUFFIX=${SLAPD_SUFFIX:-dc=example,dc=com}

# free_port: prints a TCP port nobody listens on now (asks the kernel for an ephemeral one).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# make_test_ca DIR: a test CA, a server certificate for localhost/127.0.0.1, and an unrelated "wrong" CA.
make_test_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
    -subj "/CN=mixer-sync test CA" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=localhost" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 3650 -extfile "$dir/server.ext" >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/wrong-ca.key" -out "$dir/wrong-ca.pem" -days 3650 \
    -subj "/CN=some other CA" >/dev/null 2>&1
  # Bad certificates for the reliability tests (reliability row 8, docs/testing.md): one signed by the CA that expired yesterday
  # (issued three days ago through libfaketime), a self-signed one for the right host, and one signed by the CA
  # for another host.
  if command -v faketime >/dev/null; then
    faketime -f '-3d' openssl req -newkey rsa:2048 -nodes -keyout "$dir/expired.key" -out "$dir/expired.csr" \
      -subj "/CN=localhost" >/dev/null 2>&1
    faketime -f '-3d' openssl x509 -req -in "$dir/expired.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -out "$dir/expired.pem" -days 2 -extfile "$dir/server.ext" >/dev/null 2>&1
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/selfsigned.key" -out "$dir/selfsigned.pem" -days 3650 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/otherhost.key" -out "$dir/otherhost.csr" \
    -subj "/CN=other.example" >/dev/null 2>&1
  printf 'subjectAltName=DNS:other.example\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$dir/otherhost.ext"
  openssl x509 -req -in "$dir/otherhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/otherhost.pem" -days 3650 -extfile "$dir/otherhost.ext" >/dev/null 2>&1
  chmod 600 "$dir"/*.key
}

# slapd_make_instance DIR [TLSDIR] [CHECKPOINT]: writes cn=config for an mdb database with syncprov, memberof,
# refint and ppolicy, a small test schema, limits for the two service accounts, and TLS when TLSDIR is given.
# CHECKPOINT is syncprov's "ops minutes" (default "100 10"): how often the contextCSN reaches the disk.
slapd_make_instance() {
  local dir=$1 tls=${2:-} checkpoint=${3:-100 10}
  mkdir -p "$dir/slapd.d" "$dir/data"
  local tlsattrs=""
  if [ -n "$tls" ]; then
    tlsattrs="olcTLSCACertificateFile: $tls/ca.pem
olcTLSCertificateFile: $tls/server.pem
olcTLSCertificateKeyFile: $tls/server.key"
  fi
  cat > "$dir/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
$tlsattrs

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov
olcModuleLoad: memberof
olcModuleLoad: refint
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file:///etc/ldap/schema/nis.ldif

dn: cn=mixertest,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: mixertest
olcAttributeTypes: ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' DESC '389-DS account lock (test copy)' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'userAccountControl' DESC 'AD account flags (test copy)' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.4203.666.11.99.2 NAME 'accountExpires' DESC 'AD FILETIME expiry (test copy)' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.4203.666.11.99.3 NAME 'mixerTestAccount' AUXILIARY MAY ( nsAccountLock \$ userAccountControl \$ accountExpires ) )

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_SUFFIX
olcRootDN: cn=admin,$SLAPD_SUFFIX
olcRootPW: admin-test-password
olcDbDirectory: $dir/data
olcDbMaxSize: 4294967296
olcDbIndex: objectClass eq
olcDbIndex: entryUUID,entryCSN eq
olcDbIndex: uid,mail,cn eq
olcDbIndex: member,uniqueMember,memberUid eq
olcSizeLimit: 500
olcLimits: {0}dn.exact="cn=limited,ou=services,$SLAPD_SUFFIX" size=1500
olcLimits: {1}dn.exact="cn=mixer-sync,ou=services,$SLAPD_SUFFIX" size.soft=unlimited size.hard=unlimited size.pr=unlimited size.prtotal=unlimited
olcLimits: {2}dn.subtree="cn=peercred,cn=external,cn=auth" size=unlimited
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: $checkpoint
olcSpSessionlog: 1000

dn: olcOverlay={1}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {1}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={2}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {2}refint
olcRefintAttribute: member
olcRefintAttribute: uniqueMember

dn: olcOverlay={3}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {3}ppolicy
olcPPolicyDefault: cn=default,ou=policies,$SLAPD_SUFFIX
LDIF
  slapadd -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd-config.log" 2>&1 || {
    cat "$dir/slapadd-config.log" >&2; return 1; }
}

# slapd_load DIR LDIF: loads data offline (fast; the memberof overlay does not run under slapadd).
slapd_load() {
  local dir=$1 ldif=$2
  slapadd -q -n1 -F "$dir/slapd.d" -l "$ldif" >"$dir/slapadd-data.log" 2>&1 || {
    tail -20 "$dir/slapadd-data.log" >&2; return 1; }
}

# slapd_start DIR URLS: starts slapd on the given listeners and waits until it answers.
slapd_start() {
  local dir=$1 urls=$2
  "$SLAPD_BIN" -F "$dir/slapd.d" -h "$urls" -s 0 >"$dir/slapd.log" 2>&1 || { cat "$dir/slapd.log" >&2; return 1; }
  local first=${urls%% *}
  for _ in $(seq 1 100); do
    if ldapsearch -x -H "$first" -b "" -s base '(objectClass=*)' namingContexts >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "slapd in $dir did not answer on $first" >&2
  return 1
}

# slapd_stop DIR: stops the instance by the PID in its pid file, and waits for it to go.
slapd_stop() {
  local dir=$1
  [ -f "$dir/slapd.pid" ] || return 0
  local pid
  pid=$(cat "$dir/slapd.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/slapd.pid"
}
