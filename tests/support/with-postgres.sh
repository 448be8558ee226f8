#!/usr/bin/env bash
# with-postgres.sh COMMAND [ARGS...]
#
# Runs COMMAND beside a private, throwaway PostgreSQL server: initdb into a
# temporary directory (as the `postgres` user when run as root), listening only
# on a unix socket in that directory. Exports for COMMAND:
#   SCLI_TEST_PG      libpq key=value string for the superuser (no dbname: tests add their own)
#   SCLI_TEST_PG_DIR  the server's directory (data/, socket, log)
#   SCLI_TEST_PG_BIN  the server binaries (pg_ctl, ...), for tests that stop/start it
#   SCLI_TEST_PG_PWUSER / SCLI_TEST_PG_PASSWORD  a role that must log in with a password
# The server runs with fsync, synchronous_commit and full_page_writes off (fast
# tests), unless SCLI_PG_DURABLE=1: then those stay at PostgreSQL's defaults
# (on), as users run it — the benchmarks use that.
# The server is stopped and the directory removed when COMMAND ends, also on
# failure or interruption. Exits with COMMAND's status.
set -euo pipefail

bin=${PGBIN:-}
if [ -z "$bin" ]; then
	for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin=$d; done
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
	echo "with-postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/scli-pg.XXXXXX)
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$dir"
	as_pg=(runuser -u postgres --)
fi

stop() {
	"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
# A role that must authenticate with a password, for the authentication tests.
pw_user=scli_pw
pw_pass="pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$dir/hba" <<HBA
local all $pw_user scram-sha-256
local all all trust
HBA
"${as_pg[@]}" cp "$dir/hba" "$dir/data/pg_hba.conf"
# Settings go in the config file so a test can stop and restart the server as is.
cat >"$dir/conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
CONF
if [ "${SCLI_PG_DURABLE:-0}" != 1 ]; then
	printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" >>"$dir/conf"
fi
"${as_pg[@]}" sh -c "cat '$dir/conf' >>'$dir/data/postgresql.conf'"
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
	{ cat "$dir/server.log" >&2; exit 1; }

export SCLI_TEST_PG="host=$dir port=5432 user=postgres"
export SCLI_TEST_PG_DIR="$dir" SCLI_TEST_PG_BIN="$bin"
export SCLI_TEST_PG_PWUSER="$pw_user" SCLI_TEST_PG_PASSWORD="$pw_pass"
export SCLI_TEST_PG_AS="${as_pg[*]}"
psql -X -q -v ON_ERROR_STOP=1 "$SCLI_TEST_PG dbname=postgres" \
	-c "CREATE ROLE $pw_user LOGIN SUPERUSER PASSWORD '$pw_pass'" >/dev/null

set +e
"$@"
rc=$?
set -e
exit $rc
