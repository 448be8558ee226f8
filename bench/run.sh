#!/usr/bin/env bash
# bench/run.sh quick|full — scli against its peers, measured side by side in one run.
#
#   quick  100k events, 3 runs each (a smoke run; CI may run it without judging the numbers)
#   full   1M and 10M events, 3 runs each (long: the 10M loads take many minutes each)
#
# Overrides: SIZES="1000000 3000000" (events per size), RUNS=N (runs per figure, median kept),
# BUILD=dir (where scli and scli-gen are; default build). Prints every figure and ratio and
# writes them to bench/results/YYYY-MM-DD-<mode>.md (a "medium" or custom run: -<mode>-custom).
#
# What is measured, per size (same generated file for every peer):
#   1. PostgreSQL first load: scli load (and with --connections 1), vs psql \copy into an UNLOGGED table with no index
#      (the ceiling) and vs the straightforward plain-SQL path (COPY into a staging table,
#      INSERT … ON CONFLICT DO NOTHING, rollup upsert; the baseline).
#   2. PostgreSQL re-load of the same file (all duplicates; --force, as the ledger skips it).
#   3. SQLite: scli load vs sqlite3 .import into a plain table.
#   5. Peak RSS of scli load (SQLite and PostgreSQL, CSV and a JSON array).
# and once, on the largest size loaded into PostgreSQL:
#   4. scli count, one heavy customer, 1 day and 30 days: process wall time (hyperfine),
#      server-side time (EXPLAIN ANALYZE of the statement scli runs), and DuckDB scanning the
#      CSV on the fly (npm @duckdb/node-api, installed into a scratch folder under /tmp).
#
# The PostgreSQL server is private and throwaway (tests/support/with-postgres.sh: fsync off,
# otherwise PostgreSQL defaults), started here and stopped when the run ends.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=${1:-quick}
case "$mode" in
quick) default_sizes="100000" ;;
full) default_sizes="1000000 10000000" ;;
*)
	echo "usage: bench/run.sh quick|full" >&2
	exit 2
	;;
esac

# --- dependencies (installed when missing; apt-get needs root) ---------------
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v psql >/dev/null || need_apt+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: missing ${need_apt[*]}; run as root or install them" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# --- a private PostgreSQL server for the whole run ----------------------------
if [ -z "${SCLI_BENCH_PG:-}" ]; then
	SCLI_BENCH_PG=1 exec "$root/tests/support/with-postgres.sh" bash "$0" "$@"
fi
: "${SCLI_TEST_PG:?}"

BUILD=${BUILD:-$root/build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
SCLI=$BUILD/scli
GEN=$BUILD/scli-gen
[ -x "$SCLI" ] && [ -x "$GEN" ] || {
	echo "bench: build first (make build): no $SCLI or $GEN" >&2
	exit 1
}
SIZES=${SIZES:-$default_sizes}
RUNS=${RUNS:-3}
[ "$SIZES" = "$default_sizes" ] || mode="$mode-custom"

WORK=$(mktemp -d /tmp/scli-bench.XXXXXX)
# with-postgres runs as postgres when we are root: the server must read the data files
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

DUCK=/tmp/scli-bench-duckdb
if [ ! -d "$DUCK/node_modules/@duckdb/node-api" ]; then
	if command -v npm >/dev/null; then
		mkdir -p "$DUCK"
		(cd "$DUCK" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
			npm install --silent --no-audit --no-fund @duckdb/node-api >/dev/null 2>&1) ||
			echo "bench: npm install @duckdb/node-api failed; DuckDB figures skipped" >&2
	else
		echo "bench: no npm; DuckDB figures skipped" >&2
	fi
fi

log() { printf '%s\n' "$*" >&2; }
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# median of numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# seconds of wall time of a command (its output discarded)
secs() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}
fmt() { printf '%.3f' "$1"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

fresh_pg() {
	psql_q "$SCLI_TEST_PG dbname=postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
	echo "$SCLI_TEST_PG dbname=$1"
}

# scli_first_loads DB CSV [FLAGS...]: median seconds of RUNS first loads, each into a fresh DB
scli_first_loads() {
	local db=$1 file=$2 u t=()
	shift 2
	for _ in $(seq "$RUNS"); do
		u=$(fresh_pg "$db")
		"$SCLI" --database "$u" init-db >/dev/null
		t+=("$(secs "$SCLI" --database "$u" load --collector csv --config "$file" --quiet "$@")")
	done
	median "${t[@]}"
}

# The plain-SQL baseline: the straightforward idempotent path, with scli's version-2 tables.
BASELINE_SCHEMA="
CREATE TABLE ev (customer_id text COLLATE \"C\" NOT NULL, transaction_id text COLLATE \"C\" NOT NULL,
  event_type text NOT NULL, ts timestamptz NOT NULL, PRIMARY KEY (customer_id, transaction_id));
CREATE INDEX ON ev (customer_id, ts);
CREATE TABLE hourly (customer_id text COLLATE \"C\" NOT NULL, hour timestamptz NOT NULL,
  count bigint NOT NULL, PRIMARY KEY (customer_id, hour));"
baseline_load() { # URL FILE
	psql_q "$1" <<SQL >/dev/null
BEGIN;
CREATE TEMP TABLE stage (customer_id text COLLATE "C", event_type text, transaction_id text COLLATE "C",
  ts timestamptz) ON COMMIT DROP;
\\copy stage FROM '$2' (FORMAT csv)
WITH ins AS (
  INSERT INTO ev SELECT DISTINCT ON (customer_id, transaction_id) customer_id, transaction_id, event_type, ts
  FROM stage ORDER BY customer_id, transaction_id
  ON CONFLICT DO NOTHING RETURNING customer_id, ts)
INSERT INTO hourly AS h SELECT customer_id, date_trunc('hour', ts, 'UTC'), count(*) FROM ins GROUP BY 1, 2
  ON CONFLICT (customer_id, hour) DO UPDATE SET count = h.count + EXCLUDED.count;
COMMIT;
SQL
}

declare -A R # results: key -> value
ROWS=()      # result table lines, in order

row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); log "  $1 | $2 | $3 | $4 | $5"; }

for n in $SIZES; do
	log "== $n events"
	csv=$WORK/events-$n.csv
	json=$WORK/events-$n.json
	# ~30 days, 200 customers (one takes ~60%, a long tail), random order, 1% duplicates,
	# 0.5% odd transaction ids (a date with a space and a number)
	"$GEN" --rows "$n" --seed 1 --customers 200 --days 30 --start 2021-03-01 >"$csv"
	awk -F, 'BEGIN {print "["} NR > 1 {print ","} {printf "{\"customer_id\":\"%s\",\"event_type\":\"%s\",\"transaction_id\":\"%s\",\"timestamp\":\"%s\"}", $1, $2, $3, $4} END {print "\n]"}' "$csv" >"$json"
	chmod 644 "$csv" "$json"

	# 1. PostgreSQL first load: ceiling, baseline, scli
	t=()
	for _ in $(seq "$RUNS"); do
		url=$(fresh_pg bench_copy)
		psql_q "$url" -c "CREATE UNLOGGED TABLE raw (customer_id text, event_type text, transaction_id text, ts timestamptz)"
		t+=("$(secs psql_q "$url" -c "\\copy raw FROM '$csv' (FORMAT csv)")")
	done
	copy=$(median "${t[@]}")
	t=()
	for _ in $(seq "$RUNS"); do
		url=$(fresh_pg bench_base)
		psql_q "$url" -c "$BASELINE_SCHEMA" >/dev/null
		t+=("$(secs baseline_load "$url" "$csv")")
	done
	base=$(median "${t[@]}")
	# the same with --connections 1 (each batch one transaction), on its own database;
	# the default last, so bench_scli holds its result for the re-load and the counts
	one=$(scli_first_loads bench_one "$csv" --connections 1)
	first=$(scli_first_loads bench_scli "$csv")
	url="$SCLI_TEST_PG dbname=bench_scli"
	# 2. re-load of the same file into the loaded database: all duplicates
	t=()
	for _ in $(seq "$RUNS"); do
		t+=("$(secs "$SCLI" --database "$url" load --collector csv --config "$csv" --quiet --force)")
	done
	again=$(median "${t[@]}")
	row "PG: psql \\copy, UNLOGGED, no index (ceiling)" "$n" "$(fmt "$copy") s" "$(rate "$n" "$copy") rows/s" "1.00"
	row "PG: plain SQL staging + ON CONFLICT + rollup (baseline)" "$n" "$(fmt "$base") s" "$(rate "$n" "$base") rows/s" "$(ratio "$copy" "$base")"
	row "PG: scli load, first" "$n" "$(fmt "$first") s" "$(rate "$n" "$first") rows/s" "$(ratio "$copy" "$first") (target ≥ 0.5); $(ratio "$base" "$first")× baseline"
	row "PG: scli load --connections 1, first" "$n" "$(fmt "$one") s" "$(rate "$n" "$one") rows/s" "$(ratio "$copy" "$one"); $(ratio "$base" "$one")× baseline"
	row "PG: scli load --force, re-load (all duplicates)" "$n" "$(fmt "$again") s" "$(rate "$n" "$again") rows/s" "$(ratio "$copy" "$again") (target ≥ 0.7)"
	R[pg_url_$n]=$url

	# 3. SQLite
	t=()
	for _ in $(seq "$RUNS"); do
		rm -f "$WORK"/imp.db*
		t+=("$(secs sqlite3 "$WORK/imp.db" "CREATE TABLE raw (customer_id TEXT, event_type TEXT, transaction_id TEXT, ts TEXT)" ".mode csv" ".import $csv raw")")
	done
	imp=$(median "${t[@]}")
	t=()
	for _ in $(seq "$RUNS"); do
		rm -f "$WORK"/s.db*
		"$SCLI" --database "sqlite:$WORK/s.db" init-db >/dev/null
		t+=("$(secs "$SCLI" --database "sqlite:$WORK/s.db" load --collector csv --config "$csv" --quiet)")
	done
	sl=$(median "${t[@]}")
	row "SQLite: sqlite3 .import, plain table (ceiling)" "$n" "$(fmt "$imp") s" "$(rate "$n" "$imp") rows/s" "1.00"
	row "SQLite: scli load" "$n" "$(fmt "$sl") s" "$(rate "$n" "$sl") rows/s" "$(ratio "$imp" "$sl") (target ≥ 0.5)"

	# 5. peak RSS of one load (target ≤ 64 MiB whatever the size)
	for kind in csv json; do
		rm -f "$WORK"/m.db*
		"$SCLI" --database "sqlite:$WORK/m.db" init-db >/dev/null
		kb=$(/usr/bin/time -f %M "$SCLI" --database "sqlite:$WORK/m.db" load --collector "$kind" \
			--config "$WORK/events-$n.$kind" --quiet 2>&1 >/dev/null | tail -1)
		row "peak RSS, scli load $kind → SQLite" "$n" "$(awk -v k="$kb" 'BEGIN {printf "%.1f MiB", k / 1024}')" "" "target ≤ 64 MiB"
		url=$(fresh_pg bench_rss)
		"$SCLI" --database "$url" init-db >/dev/null
		kb=$(/usr/bin/time -f %M "$SCLI" --database "$url" load --collector "$kind" \
			--config "$WORK/events-$n.$kind" --quiet 2>&1 >/dev/null | tail -1)
		row "peak RSS, scli load $kind → PostgreSQL" "$n" "$(awk -v k="$kb" 'BEGIN {printf "%.1f MiB", k / 1024}')" "" "target ≤ 64 MiB"
	done
	rm -f "$json" "$WORK"/*.db*
	last=$n
done

# 4. count on the largest size, still loaded in bench_scli
n=$last
csv=$WORK/events-$n.csv
url=${R[pg_url_$n]}
heavy=$(cut -d, -f1 "$csv" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
log "   counting in: $url"
log "== count, $n events loaded, customer $heavy"
for span in "1 day|2021-03-10T00:00:00Z|2021-03-11T00:00:00Z" "30 days|2021-03-01T00:00:00Z|2021-03-31T00:00:00Z"; do
	IFS='|' read -r label from to <<<"$span"
	hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/hf.json" \
		"$SCLI --database '$url' count --customer $heavy --from $from --to $to --format csv" >/dev/null 2>&1
	wall=$(awk -F': ' '/"median"/ {gsub(/[ ,]/, "", $2); print $2 * 1000; exit}' "$WORK/hf.json")
	total=$("$SCLI" --database "$url" count --customer "$heavy" --from "$from" --to "$to" --format csv |
		awk -F, 'NR > 1 {s += $3} END {print s}')
	# The statement scli runs (COUNT_SQL in src/adapters/postgres/pg_count.c, expanded by the C
	# preprocessor) for whole-hour bounds: no edge hours, so the head and tail ranges are
	# empty, $8..$12 (an edge counted as its hour less the other side) unused, and the
	# rollup answers.
	sql=$({
		sed -n -e '/^#define EDGE_SQL/,/^$/p' -e '/^#define COUNT_SQL/,/^$/p' "$root/src/adapters/postgres/pg_count.c"
		echo 'COUNT_SQL("customer_id = $1 AND", "customer_id = $1 AND")'
	} | ${CC:-cc} -E -P -x c - | tr -d '\n' | sed -e 's/"[[:space:]]*"//g' -e 's/^[[:space:]]*"//' -e 's/"[[:space:]]*$//')
	t=()
	for _ in $(seq 7); do
		t+=("$(psql -X -At "$url" <<SQL | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'
SET TimeZone = 'UTC';
PREPARE c AS $sql;
EXPLAIN (ANALYZE, TIMING OFF) EXECUTE c('$heavy', '$from', '$from', '$from', '$to', '$to', '$to', NULL, NULL, NULL, NULL, NULL);
SQL
		)")
	done
	server=$(median "${t[@]}")
	duck=""
	if [ -d "$DUCK/node_modules/@duckdb/node-api" ]; then
		cp "$here/duckdb_count.mjs" "$DUCK/"
		duck=$(node "$DUCK/duckdb_count.mjs" "$csv" "$heavy" "$from" "$to" 3 | sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
	fi
	row "count, PostgreSQL, $label: scli process wall (hyperfine median)" "$n" "$(printf '%.2f' "$wall") ms" "total $total" "target ≤ 20 ms"
	row "count, PostgreSQL, $label: server-side (EXPLAIN ANALYZE)" "$n" "$(printf '%.3f' "$server") ms" "" "target ≤ 1 ms"
	if [ -n "$duck" ]; then
		row "count, $label: DuckDB on-the-fly CSV scan (in-process query)" "$n" "$(printf '%.1f' "$duck") ms" "" "scli wall is $(ratio "$duck" "$wall")× faster (target ≥ 100)"
	fi
done

# --- results -------------------------------------------------------------------
day=$(date -u +%Y-%m-%d)
out=$here/results/$day-$mode.md
mkdir -p "$here/results"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
	echo "# scli benchmark, $mode, $day"
	echo
	echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)." \
		"PostgreSQL $(psql -X -At "$SCLI_TEST_PG dbname=postgres" -c 'SHOW server_version' | cut -d' ' -f1)" \
		"(private server, defaults but fsync off), SQLite $(sqlite3 --version | cut -d' ' -f1)," \
		"scli $("$SCLI" --version | awk '{print $NF}') at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+changes')."
	echo "Median of $RUNS runs per load figure. Ratios: peer time / scli time (≥ 1 means scli is faster)."
	echo
	echo "| measurement | events | time | rate | ratio to the ceiling / notes |"
	echo "|---|---:|---:|---:|---|"
	printf '%s\n' "${ROWS[@]}"
} >"$out"
log ""
cat "$out"
log ""
log "written to $out"
