# The Debian package's life on this machine (sourced by scripts/test; needs root or sudo): install, use the
# installed files, upgrade with an edited conffile, remove (configuration and state kept), purge (all gone).
# Every check is a `pkg_check` or `pkg_refute` line: under `set -e` a command after `!` or inside an `&&` list can never
# stop the script, so a check written that way could never fail.

# pkg_check WHAT CMD...: fails the package test (naming WHAT) unless CMD succeeds.
pkg_check() {
  local what=$1
  shift
  "$@" || { echo "package test: failed: $what" >&2; return 1; }
}

# pkg_refute WHAT CMD...: fails the package test (naming WHAT) if CMD succeeds.
pkg_refute() {
  local what=$1
  shift
  if "$@"; then echo "package test: failed: $what" >&2; return 1; fi
}

package_test() (
  set -euo pipefail
  local deb=$1 work=$2
  local S=()
  [ "$(id -u)" -eq 0 ] || S=(sudo)
  if dpkg-query -W -f='${Status}' mixer-sync 2>/dev/null | grep -q "install ok installed"; then
    echo "package test: mixer-sync is already installed on this machine; run scripts/test where it is not" >&2
    return 1
  fi
  local apt=("${S[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Use-Pty=0)
  echo "-- install $deb"
  "${apt[@]}" install "$deb" >/dev/null
  /usr/bin/mixer-sync --version
  pkg_check "the configuration is 640 root:mixer-sync" test "$(stat -c '%a %U:%G' /etc/mixer-sync/mixer-sync.toml)" = "640 root:mixer-sync"
  pkg_check "/etc/mixer-sync is 750 root:mixer-sync" test "$(stat -c '%a %U:%G' /etc/mixer-sync)" = "750 root:mixer-sync"
  pkg_check "the mixer-sync user exists" sh -c 'getent passwd mixer-sync >/dev/null'
  for f in /usr/share/man/man1/mixer-sync.1.gz /usr/share/bash-completion/completions/mixer-sync \
           /usr/share/zsh/vendor-completions/_mixer-sync /usr/share/fish/vendor_completions.d/mixer-sync.fish \
           /usr/share/doc/mixer-sync/copyright /lib/systemd/system/mixer-sync.service; do
    [ -s "$f" ] || { echo "package test: $f missing" >&2; return 1; }
  done
  zcat /usr/share/man/man1/mixer-sync.1.gz | grep -q "apply" || { echo "package test: the man page lacks the commands" >&2; return 1; }
  pkg_check "the bash completion names the commands" grep -q "plan" /usr/share/bash-completion/completions/mixer-sync
  # As an administrator would: the two passwords beside the example configuration, then check-config.
  printf 'bind-secret' | "${S[@]}" install -m 0600 /dev/stdin /etc/mixer-sync/ldap-bind-password
  printf 'mixerai-secret' | "${S[@]}" install -m 0600 /dev/stdin /etc/mixer-sync/mixerai-password
  "${S[@]}" /usr/bin/mixer-sync check-config --config /etc/mixer-sync/mixer-sync.toml || return 1
  systemd-analyze verify /lib/systemd/system/mixer-sync.service /lib/systemd/system/mixer-sync-audit.service \
    /lib/systemd/system/mixer-sync-audit.timer
  systemd-analyze security --offline=yes --threshold=15 /lib/systemd/system/mixer-sync.service | tail -1

  echo "-- upgrade to a newer version with an edited conffile and state in place"
  local up="$work/upgrade"
  rm -rf "$up" && mkdir -p "$up"
  dpkg-deb -R "$deb" "$up/root"
  sed -i 's/^Version: \(.*\)$/Version: \1+1/' "$up/root/DEBIAN/control"
  fakeroot dpkg-deb --build --root-owner-group "$up/root" "$up/new.deb" >/dev/null
  echo "# edited by the administrator" | "${S[@]}" tee -a /etc/mixer-sync/mixer-sync.toml >/dev/null
  "${S[@]}" mkdir -p /var/lib/mixer-sync/reports
  "${S[@]}" touch /var/lib/mixer-sync/reports/kept.json
  "${apt[@]}" -o Dpkg::Options::=--force-confold install "$up/new.deb" >/dev/null
  pkg_check "the upgrade installed the new version" sh -c "dpkg-query -W -f='\${Version}' mixer-sync | grep -q '+1\$'"
  pkg_check "the administrator's edit survives the upgrade" grep -q "edited by the administrator" /etc/mixer-sync/mixer-sync.toml
  pkg_check "the configuration is still 640 root:mixer-sync" test "$(stat -c '%a %U:%G' /etc/mixer-sync/mixer-sync.toml)" = "640 root:mixer-sync"

  echo "-- remove: the binary goes, the configuration, state and reports stay"
  "${apt[@]}" remove mixer-sync >/dev/null
  pkg_refute "the binary is gone after remove" test -e /usr/bin/mixer-sync
  pkg_check "the configuration stays after remove" test -f /etc/mixer-sync/mixer-sync.toml
  pkg_check "the reports stay after remove" test -f /var/lib/mixer-sync/reports/kept.json

  echo "-- purge: nothing is left"
  "${apt[@]}" purge mixer-sync >/dev/null
  local left
  left=$(ls -d /etc/mixer-sync /var/lib/mixer-sync /var/log/mixer-sync /usr/share/doc/mixer-sync \
            /lib/systemd/system/mixer-sync.service 2>/dev/null || true)
  [ -z "$left" ] || { echo "package test: left after purge: $left" >&2; return 1; }
  pkg_refute "the mixer-sync user is gone after purge" sh -c 'getent passwd mixer-sync >/dev/null'
  pkg_refute "the mixer-sync group is gone after purge" sh -c 'getent group mixer-sync >/dev/null'
  pkg_refute "no dpkg-statoverride is left after purge" sh -c 'dpkg-statoverride --list | grep -q mixer-sync'
  pkg_refute "dpkg knows the package no more after purge" sh -c "dpkg-query -W -f='\${Status}' mixer-sync 2>/dev/null | grep -q ' installed\$\|config-files'"
  echo "package test: install, upgrade, remove and purge passed"
)

# render_check HTML OUTDIR: renders a report page in headless Chromium to a PNG and dumps its DOM; checks that the
# page rendered (the PNG is not one colour), that it is titled, and that the held-gate banner is there.
render_check() (
  set -euo pipefail
  local html=$1 out=$2
  mkdir -p "$out"
  local chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
                --user-data-dir="$out/profile" --window-size=1200,1500)
  timeout 120 "${chrome[@]}" --screenshot="$out/report.png" "file://$html" >/dev/null 2>&1
  timeout 120 "${chrome[@]}" --dump-dom "file://$html" > "$out/dom.html" 2>/dev/null
  grep -q "<title>mixer-sync report" "$out/dom.html" || { echo "render check: no title in the DOM" >&2; return 1; }
  grep -q 'id="held-banner"' "$out/dom.html" || { echo "render check: no held-gate banner in the DOM" >&2; return 1; }
  python3 - "$out/report.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height = struct.unpack(">II", body[:8])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
distinct = len(set(raw[::7]))
assert width >= 800 and height >= 800, (width, height)
assert distinct > 8, f"the page looks blank ({distinct} distinct byte values)"
print(f"render check: {width}x{height} PNG, {distinct} distinct byte values; title and held-gate banner in the DOM")
PY
)
