# PostgreSQL for sink/sqlsink's integration tests and benchmarks.
#
# Sourced by .ci/run (which defines apt_install and at_exit). Starts a
# throwaway cluster in a temp dir, listening on 127.0.0.1 only on a free
# port, with a random password, and exports:
#
#   USERSYNC_TEST_POSTGRES_DSN  a pgx DSN for the database "usersync"
#
# PostgreSQL refuses to run as root: as root, the cluster runs as the
# "postgres" user the Debian package creates.

apt_install postgresql postgresql-client

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then echo "postgres.sh: no /usr/lib/postgresql/*/bin after installing postgresql" >&2; return 1; fi
pg_dir=$(mktemp -d /tmp/usersync-pg.XXXXXX)
pg_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  pg_user=postgres
  id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home "$pg_user"
  chown "$pg_user" "$pg_dir"
fi
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }

pg_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
(umask 077; echo "$pg_password" > "$pg_dir/pwfile")
[ "$(id -u)" = 0 ] && chown "$pg_user" "$pg_dir/pwfile"
pg_as "$pg_bin/initdb" -D "$pg_dir/data" -U usersync --pwfile="$pg_dir/pwfile" \
  -A scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$pg_dir/initdb.log" 2>&1 ||
  { cat "$pg_dir/initdb.log" >&2; return 1; }
rm -f "$pg_dir/pwfile"

# A port nobody listens on; pg_ctl fails if another process takes it first,
# so try a few.
pg_port=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  p=$((20000 + RANDOM % 20000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
  if pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $p -c unix_socket_directories=$pg_dir -c max_connections=200" >/dev/null; then
    pg_port=$p
    break
  fi
done
if [ -z "$pg_port" ]; then cat "$pg_dir/server.log" >&2; return 1; fi
at_exit "pg_as '$pg_bin/pg_ctl' -D '$pg_dir/data' -m fast -w stop >/dev/null; rm -rf '$pg_dir'"

PGPASSWORD="$pg_password" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U usersync usersync
export USERSYNC_TEST_POSTGRES_DSN="postgres://usersync:$pg_password@127.0.0.1:$pg_port/usersync?sslmode=disable"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
