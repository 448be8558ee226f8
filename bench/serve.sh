#!/usr/bin/env bash
# bench/serve.sh (`make bench-serve`): `scli serve` against pgbench running the
# same SQL, at the same concurrency, in the same run, on the same private
# PostgreSQL server.
#
# Loads ROWS synthetic events (build/scli-gen) into a throwaway server
# (tests/support/with-postgres.sh), then for CONC concurrent clients:
#   - wrk   -> GET /v1/customers/{id}/hourly for a 1-day range
#   - pgbench -> the statements the server ran for that very request, captured
#     from PostgreSQL's own statement log (so the comparison follows the code)
# and prints requests/s for both and their ratio (goal: >= 0.8). The result
# goes to bench/results/serve-YYYY-MM-DD.md.
#
# Settings (environment): ROWS (3000000), CUSTOMERS (200), DAYS (30),
# CONC (client connections = server threads; default 2 x CPUs), DURATION
# (seconds per measured run, 15), ROUNDS (2), BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROWS=${ROWS:-3000000}
CUSTOMERS=${CUSTOMERS:-200}
DAYS=${DAYS:-30}
CONC=${CONC:-$(($(nproc) * 2))}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-2}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SCLI=$BUILD/scli
GEN=$BUILD/scli-gen

if [ -z "${SCLI_TEST_PG:-}" ]; then
	[ -x "$SCLI" ] && [ -x "$GEN" ] || { echo "bench/serve.sh: build first (make)" >&2; exit 1; }
	if ! command -v wrk >/dev/null; then
		if [ "$(id -u)" -eq 0 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
				{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
		else
			echo "bench/serve.sh: needs wrk (as root: apt-get install wrk)" >&2
			exit 1
		fi
	fi
	command -v pgbench >/dev/null || { echo "bench/serve.sh: needs pgbench (postgresql-contrib / postgresql)" >&2; exit 1; }
	exec tests/support/with-postgres.sh bash "$0" "$@"
fi

work=$(mktemp -d /tmp/scli-bench-serve.XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf '%s\n' "$*" >&2; }

db=bench_serve
DB="$SCLI_TEST_PG dbname=$db"
psql -X -q "$SCLI_TEST_PG dbname=postgres" -c "CREATE DATABASE $db"
"$SCLI" --database "$DB" init-db >/dev/null
say "loading $ROWS events ($CUSTOMERS customers, $DAYS days)..."
t0=$(date +%s)
"$GEN" --rows "$ROWS" --seed 11 --customers "$CUSTOMERS" --days "$DAYS" --start 2021-03-01 |
	"$SCLI" --database "$DB" load --collector csv --config - --quiet --batch-size 50000 >&2
say "loaded in $(($(date +%s) - t0)) s"
psql -X -q "$DB" -c "VACUUM ANALYZE" -c CHECKPOINT

# The busiest customer, one day in the middle of the data.
customer=$(psql -X -At "$DB" -c "SELECT c.customer_id FROM scli_rollup r JOIN scli_customers c USING (customer_key) GROUP BY 1 ORDER BY sum(r.count) DESC LIMIT 1")
from=2021-03-15T00:00:00Z
to=2021-03-16T00:00:00Z
path="/v1/customers/$customer/hourly?from=$from&to=$to"

start_server() { # start_server THREADS: sets base
	: >"$work/serve.log"
	"$SCLI" --database "$DB" serve --listen 127.0.0.1:0 --threads "$1" --quiet 2>"$work/serve.log" &
	server_pid=$!
	base=
	for _ in $(seq 100); do
		base=$(sed -n 's/^scli: serving on \(http:[^ ]*\).*/\1/p' "$work/serve.log")
		[ -n "$base" ] && return 0
		sleep 0.1
	done
	say "server did not start: $(cat "$work/serve.log")"
	exit 1
}
stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid" || true
	server_pid=
}

# --- capture the SQL one request runs, from PostgreSQL's statement log ---------
log=$SCLI_TEST_PG_DIR/server.log
psql -X -q "$DB" -c "ALTER DATABASE $db SET log_statement = 'all'"
start_server 1
# the steady state: the first request on a connection also checks the schema once
curl -sf "$base$path" >/dev/null
sleep 0.3
mark=$(($(wc -c <"$log") + 1))
curl -sf "$base$path" >"$work/answer.json"
sleep 0.3
stop_server
sleep 0.3
end=$(wc -c <"$log")
psql -X -q "$DB" -c "ALTER DATABASE $db RESET log_statement"
# The worker's own statements: after its session set-up (SET TimeZone ...).
tail -c +"$mark" "$log" | head -c "$((end - mark + 1))" | sed -n 's/^.*LOG:  \(statement\|execute [a-z_0-9]*\): //p; s/^.*DETAIL:  parameters: /-- params: /p' |
	awk '/^SET TimeZone/ {n = 0; next} {lines[n++] = $0} END {for (i = 0; i < n; i++) print lines[i]}' >"$work/captured.sql"
params=$(sed -n 's/^-- params: //p' "$work/captured.sql" | tail -n 1)
pgb_args=()
while read -r kv; do # $N = 'value'
	n=${kv%% = *}
	v=${kv#* = \'}
	pgb_args+=(-D "p${n#\$}=${v%\'}")
done < <(printf '%s\n' "$params" | grep -o "\\\$[0-9]* = '[^']*'")
# the statements, with $N as pgbench variables :pN (sent as parameters under -M prepared)
grep -v '^-- params: ' "$work/captured.sql" | sed 's/\$\([0-9][0-9]*\)/:p\1/g; s/$/;/' >"$work/request.sql"
grep 'scli_events' "$work/request.sql" >"$work/count-only.sql" || true
[ -s "$work/request.sql" ] && [ -s "$work/count-only.sql" ] ||
	{ say "could not capture the server's SQL:"; cat "$work/captured.sql" >&2; exit 1; }
say "per request the server runs $(wc -l <"$work/request.sql") statement(s):"
cut -c1-150 "$work/request.sql" >&2

# --- the runs, interleaved --------------------------------------------------------
threads=$((CONC < $(nproc) ? CONC : $(nproc)))
run_wrk() { # prints requests/s
	wrk -t "$threads" -c "$CONC" -d "${1}s" "$base$path" >"$work/wrk.out"
	if grep -q "Non-2xx" "$work/wrk.out"; then cat "$work/wrk.out" >&2; say "wrk saw errors"; exit 1; fi
	sed -n 's/^Requests\/sec: *//p' "$work/wrk.out"
}
run_pgbench() { # run_pgbench SCRIPT SECONDS: prints transactions/s
	pgbench -n -M prepared -c "$CONC" -j "$threads" -T "$2" -f "$1" "${pgb_args[@]}" "$DB" 2>&1 >"$work/pgb.out" |
		grep -v "^pgbench: " >&2 || true
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/pgb.out"
}
start_server "$CONC"
curl -sf "$base$path" | cmp -s - "$work/answer.json" || { say "server answers differ"; exit 1; }
say "warming up..."
run_wrk 3 >/dev/null
run_pgbench "$work/request.sql" 3 >/dev/null
wrk_all=() pgb_all=() cnt_all=()
for r in $(seq "$ROUNDS"); do
	w=$(run_wrk "$DURATION")
	p=$(run_pgbench "$work/request.sql" "$DURATION")
	c=$(run_pgbench "$work/count-only.sql" "$DURATION")
	say "round $r: scli serve $w req/s, pgbench (same statements) $p tps, pgbench (count statement only) $c tps"
	wrk_all+=("$w") pgb_all+=("$p") cnt_all+=("$c")
done
stop_server
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.0f", s / NR}'; }
W=$(mean "${wrk_all[@]}")
P=$(mean "${pgb_all[@]}")
C=$(mean "${cnt_all[@]}")
ratio=$(awk -v a="$W" -v b="$P" 'BEGIN {printf "%.2f", a / b}')
ratio_count=$(awk -v a="$W" -v b="$C" 'BEGIN {printf "%.2f", a / b}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.8 ? "meets" : "misses")}')

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
day=$(date -u +%F)
mkdir -p bench/results
out=bench/results/serve-$day.md
{
	echo "# scli serve vs pgbench — $day"
	echo
	echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU}; PostgreSQL $(psql -X -At "$DB" -c 'SHOW server_version'), private server (tests/support/with-postgres.sh: fsync off, unix socket); server, clients and PostgreSQL on the same machine."
	echo
	echo "Data: $ROWS synthetic events (scli-gen --seed 11 --customers $CUSTOMERS --days $DAYS), loaded and analysed."
	echo "Request: \`GET $path\` (the busiest customer, one day = 24 whole hours from the rollup)."
	echo "Concurrency: $CONC connections for both (wrk -t $threads -c $CONC; pgbench -M prepared -c $CONC -j $threads); \`scli serve --threads $CONC\`."
	echo "$ROUNDS rounds of $DURATION s each, interleaved, after a warm-up; means below."
	echo
	echo "| what | per second |"
	echo "|---|---|"
	echo "| scli serve (wrk, HTTP requests) | $W |"
	echo "| pgbench, the statements one request runs ($(wc -l <"$work/request.sql")) | $P |"
	echo "| pgbench, the count statement alone | $C |"
	echo
	echo "**Ratio serve / pgbench (same statements): $ratio** — $verdict the goal of 0.8."
	echo "Ratio serve / pgbench (count statement alone): $ratio_count."
	echo
	echo "Statements per request, as captured from PostgreSQL's log (\$N as pgbench variables):"
	echo
	echo '```sql'
	cat "$work/request.sql"
	echo '```'
	echo
	echo "Rounds (serve req/s, pgbench same statements tps, pgbench count-only tps):"
	for i in "${!wrk_all[@]}"; do echo "- ${wrk_all[$i]}, ${pgb_all[$i]}, ${cnt_all[$i]}"; done
} >"$out"
echo "scli serve: $W req/s; pgbench (same statements): $P tps; ratio $ratio ($verdict 0.8)"
echo "pgbench (count statement alone): $C tps; ratio $ratio_count"
echo "written to $out"
