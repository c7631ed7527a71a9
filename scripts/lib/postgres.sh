# A throwaway PostgreSQL 15 on 127.0.0.1 for the state backend's tests (sourced by scripts/test and Benchmarks).
# initdb into a temporary directory, a free port, scram-sha-256 for TCP, no system cluster touched; stopped by its
# PID. PostgreSQL refuses to run as root: as root it runs as the `postgres` user of Debian's package, otherwise as
# the invoking user.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

# pg_start DIR: starts the server with its data in DIR/data, a superuser `mixer_sync` whose password is in
# DIR/password (0600, the invoking user's), a database `mixer_sync`, and exports MIXER_SYNC_TEST_POSTGRES_URL,
# MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE and MIXER_SYNC_TEST_POSTGRES_CTL (DIR/ctl: pg_ctl for this server, run
# as its user — `ctl stop -m fast`, `ctl start`, `ctl restart` — for the tests that restart it under a daemon).
pg_start() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    as=(runuser -u postgres --)
    chmod o+x "$dir" "$(dirname "$dir")"  # mktemp's 0700 directories: postgres must reach DIR/run
  fi
  python3 -c 'import secrets; print(secrets.token_hex(24), end="")' > "$dir/password"
  chmod 600 "$dir/password"
  mkdir -p "$dir/run"
  if [ ${#as[@]} -gt 0 ]; then
    chown postgres "$dir/run"
    install -o postgres -m 600 "$dir/password" "$dir/run/pwfile"
  else
    install -m 600 "$dir/password" "$dir/run/pwfile"
  fi
  "${as[@]}" "$PG_BINDIR/initdb" -D "$dir/run/data" -U mixer_sync --pwfile="$dir/run/pwfile" -E UTF8 --no-locale \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 > "$dir/initdb.log" 2>&1 || { tail -20 "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/run/pwfile"
  cat > "$dir/ctl" <<CTL
#!/usr/bin/env bash
# pg_ctl for the throwaway PostgreSQL in $dir (as its user).
exec ${as[*]} "$PG_BINDIR/pg_ctl" -D "$dir/run/data" -l "$dir/run/postgres.log" -w -t 30 \\
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/run" "\$@"
CTL
  chmod 755 "$dir/ctl"
  "$dir/ctl" start > "$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; tail -20 "$dir/run/postgres.log" >&2; return 1; }
  printf '127.0.0.1:%s:*:mixer_sync:%s\n' "$port" "$(cat "$dir/password")" > "$dir/pgpass"
  chmod 600 "$dir/pgpass"
  PGPASSFILE="$dir/pgpass" psql -q -h 127.0.0.1 -p "$port" -U mixer_sync -d postgres -c 'CREATE DATABASE mixer_sync' >/dev/null
  export MIXER_SYNC_TEST_POSTGRES_URL="postgresql://mixer_sync@127.0.0.1:$port/mixer_sync"
  export MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE="$dir/password"
  export MIXER_SYNC_TEST_POSTGRES_CTL="$dir/ctl"
}

# pg_stop DIR: stops the server by its PID (postmaster.pid's first line), fast, whatever state it is in.
pg_stop() {
  local dir=$1 pid
  [ -f "$dir/run/data/postmaster.pid" ] || return 0
  pid=$(head -1 "$dir/run/data/postmaster.pid")
  # It runs as the invoking user, or as `postgres` when that user is root: either way a kill needs no sudo.
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
