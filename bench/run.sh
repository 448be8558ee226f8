#!/usr/bin/env bash
# bench/run.sh quick|full|files — scli against its peers, measured side by side in one run (issue 14).
#
#   quick  100k events, 3 runs each (a smoke run; CI may run it without judging the numbers)
#   full   1M and 10M events: 3 runs per figure at 1M, 1 run per figure at 10M (RUNS_LARGE);
#          within 45 minutes on a 2-core machine with the schema-4 storage
#   files  1M and 10M events, part 0 only (count straight from the files, no database): minutes
#
# Overrides (environment):
#   SIZES="1000000 3000000"  events per size (a custom run: the results file gets "-custom")
#   RUNS=N                   runs per figure at sizes <= LARGE (median kept; default 3)
#   RUNS_LARGE=N             runs per figure at sizes > LARGE (default 1)
#   LARGE=N                  the size above which RUNS_LARGE applies (default 1000000)
#   EXTRAS_MAX=N             the plain-SQL baseline, --connections 1, the time-ordered SQLite load,
#                            JSON peak RSS and PREV_BUILD only at sizes <= N (default 1000000)
#   SORTED_LARGE=0           skip the time-ordered PostgreSQL load at sizes > LARGE (default: run it)
#   KILL=0                   skip the kill-and-resume figure
#   FILES_RUNS=N             runs of each count from a file, scli's and DuckDB's alternating (part 0;
#                            default 5, medians kept)
#   BUILD=dir                the scli and scli-gen measured (default build)
#   PREV_BUILD=dir           a build of the previous design: its first loads measured in the same run
#                            (sizes <= EXTRAS_MAX), labelled "previous design"
#   PREV_RESULTS="f.md ..."  results files quoted as the previous design's figures (default: per size,
#                            the newest file in bench/results/ with rows of that size)
#
# Measured, per size (the same generated file for every peer, and a time-ordered copy of it):
#   0. Count straight from the file (issue 18): `scli count --collector csv --config FILE`, the heaviest
#      customer over 30 days, process wall (median of FILES_RUNS), CPU time and peak RSS, against
#      DuckDB scanning the same file on the fly for the same answer (bench/duckdb_count.mjs, one query
#      per process: in-process query time, the process's CPU time and peak RSS), the runs of both
#      alternating; the totals must be equal.
#   1. PostgreSQL first load, random and time order: scli load vs psql \copy of the same file into an
#      UNLOGGED table with no index (the ceiling); the plain-SQL idempotent path (baseline) and
#      --connections 1 at small sizes.
#   2. PostgreSQL re-load of all duplicates: the same file with --force (whole batches seen before),
#      and with --force --batch-size (default - 1) (no batch seen before: every event probed).
#   3. SQLite first load: scli load vs sqlite3 .import into a plain table.
#   4. Peak RSS (/usr/bin/time -f %M) of the scli loads above (CSV), and of JSON loads at small sizes.
# and on the largest size:
#   5. Kill and resume: a PostgreSQL load killed (-9) once ~90 % of the file is read (its offset in
#      /proc/PID/fdinfo, once half the full load's time has passed: today's scli reads the whole file
#      once for its content hash before loading it), the same command run again; re-run time / full
#      load time, and every customer-hour count compared with the clean load's.
#   6. scli count, the heaviest customer, 1 day and 30 days: process wall time (hyperfine), server-side
#      time per invocation (pg_stat_statements: every statement scli runs, execution + planning), and
#      DuckDB scanning the CSV on the fly (npm @duckdb/node-api, installed into /tmp/scli-bench-duckdb).
#   7. Windows (issue 15), the heaviest customer, on PostgreSQL and on SQLite (the random-order first
#      load of the largest size, kept): a year of month windows in Asia/Kolkata, 30 days of day
#      windows in America/New_York, and the same 30 days with --group-by event_type (its ratio to the
#      ungrouped query); process wall (hyperfine) and, on PostgreSQL, server-side time per invocation.
#      Skipped, with a note, when `scli count --help` has no --window (builds before issue 15).
#
# The PostgreSQL server is private and throwaway (tests/support/with-postgres.sh with SCLI_PG_DURABLE=1:
# PostgreSQL's defaults, fsync on, as users run it), started here and stopped when the run ends.
# The script drives the scli CLI, psql and sqlite3 only: it never reads scli's own tables, so it runs
# unchanged on any schema version.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=${1:-quick}
case "$mode" in
quick) default_sizes="100000" ;;
full | files) default_sizes="1000000 10000000" ;;
*)
	echo "usage: bench/run.sh quick|full|files" >&2
	exit 2
	;;
esac

# --- dependencies (installed when missing; apt-get needs root) ---------------
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v bc >/dev/null || need_apt+=(bc)
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

# --- a private PostgreSQL server for the whole run, with PostgreSQL's defaults (fsync on) ---
if [ "$mode" = files ]; then
	SCLI_BENCH_PG=none # part 0 needs no database
elif [ -z "${SCLI_BENCH_PG:-}" ]; then
	SCLI_BENCH_PG=1 SCLI_PG_DURABLE=1 exec "$root/tests/support/with-postgres.sh" bash "$0" "$@"
fi
[ "$mode" = files ] || : "${SCLI_TEST_PG:?}"
BENCH_T0=$(date +%s)

abs() { case "$1" in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }
BUILD=$(abs "${BUILD:-build}")
SCLI=$BUILD/scli
GEN=$BUILD/scli-gen
[ -x "$SCLI" ] && [ -x "$GEN" ] || {
	echo "bench: build first (make build): no $SCLI or $GEN" >&2
	exit 1
}
PREV_SCLI=""
if [ -n "${PREV_BUILD:-}" ]; then
	PREV_SCLI=$(abs "$PREV_BUILD")/scli
	[ -x "$PREV_SCLI" ] || {
		echo "bench: PREV_BUILD has no scli: $PREV_SCLI" >&2
		exit 1
	}
fi
SIZES=${SIZES:-$default_sizes}
RUNS=${RUNS:-3}
RUNS_LARGE=${RUNS_LARGE:-1}
LARGE=${LARGE:-1000000}
EXTRAS_MAX=${EXTRAS_MAX:-1000000}
SORTED_LARGE=${SORTED_LARGE:-1}
KILL=${KILL:-1}
FILES_RUNS=${FILES_RUNS:-5}
only_files=0
[ "$mode" != files ] || only_files=1
[ "$SIZES" = "$default_sizes" ] || mode="$mode-custom"

WORK=$(mktemp -d /tmp/scli-bench.XXXXXX)
WORK=$(cd "$WORK" && pwd -P) # the path the kill figure finds in /proc/PID/fd
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
die() {
	log "bench: $*"
	exit 1
}
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$@"; }
pg_admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -At -v ON_ERROR_STOP=1 "$SCLI_TEST_PG dbname=postgres" "$@"; }

# median of numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
# secs CMD...: seconds of wall time of a command or shell function (its output discarded)
secs() {
	local t0
	t0=$(now)
	"$@" >/dev/null || die "failed ($?): $*"
	since "$t0"
}
# timed CMD...: seconds of wall time of a program; its peak RSS (KiB) goes to $WORK/rss.
# Any exit status but 0 stops the bench (the generated files have no rejected rows).
timed() {
	local t0 rc=0
	t0=$(now)
	/usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/timed.err" || rc=$?
	[ "$rc" -eq 0 ] || die "failed ($rc): $* — $(tail -3 "$WORK/timed.err")"
	since "$t0"
}
rss_kb() { tail -1 "$WORK/rss"; }
fmt() { printf '%.3f' "$1"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# ok VALUE OP TARGET: "met" / "NOT met"
ok() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {m = (op == ">=") ? v >= t : v <= t; print m ? "met" : "NOT met"}'; }

fresh_pg() {
	pg_admin -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
	echo "$SCLI_TEST_PG dbname=$1"
}
drop_pg() { pg_admin -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }
wal_lsn() { pg_admin -c "SELECT pg_current_wal_lsn()"; }
wal_mib() { pg_admin -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$1') / 1048576)"; }
db_mib() { pg_admin -c "SELECT round(pg_database_size('$1') / 1048576.0)"; }

# pg_first_loads SCLI DB CSV [FLAGS...]: RUNS first loads, each into a fresh DB (left loaded).
# Sets FL_S (median seconds), FL_RSS (largest peak RSS, KiB), FL_WAL (WAL MiB of the last run).
pg_first_loads() {
	local bin=$1 db=$2 file=$3 u t=() s lsn
	shift 3
	FL_RSS=0
	for _ in $(seq "$runs"); do
		u=$(fresh_pg "$db")
		"$bin" --database "$u" init-db >/dev/null
		lsn=$(wal_lsn)
		s=$(timed "$bin" --database "$u" load --collector csv --config "$file" --quiet "$@")
		t+=("$s")
		[ "$(rss_kb)" -le "$FL_RSS" ] || FL_RSS=$(rss_kb)
	done
	FL_WAL=$(wal_mib "$lsn")
	FL_S=$(median "${t[@]}")
}
# sqlite_first_loads SCLI CSV [KEEP]: the same into a fresh SQLite file; FL_MIB: the file's size (with
# its -wal). With KEEP, the last run's database is moved there (the window counts of part 7 read it).
sqlite_first_loads() {
	local bin=$1 file=$2 t=() s
	FL_RSS=0
	for _ in $(seq "$runs"); do
		rm -f "$WORK"/s.db*
		"$bin" --database "sqlite:$WORK/s.db" init-db >/dev/null
		s=$(timed "$bin" --database "sqlite:$WORK/s.db" load --collector csv --config "$file" --quiet)
		t+=("$s")
		[ "$(rss_kb)" -le "$FL_RSS" ] || FL_RSS=$(rss_kb)
	done
	FL_MIB=$(du -cm "$WORK"/s.db* | tail -1 | cut -f1)
	if [ -n "${3:-}" ]; then
		rm -f "$3"*
		for f in "$WORK"/s.db*; do mv "$f" "$3${f#"$WORK"/s.db}"; done
	fi
	rm -f "$WORK"/s.db*
	FL_S=$(median "${t[@]}")
}
# pg_copy_ceiling CSV: median seconds of RUNS psql \copy of the file into an UNLOGGED table, no index
pg_copy_ceiling() {
	local url t=() s
	for _ in $(seq "$runs"); do
		url=$(fresh_pg bench_copy)
		psql_q "$url" -c "CREATE UNLOGGED TABLE raw (customer_id text, event_type text, transaction_id text, ts timestamptz)"
		s=$(secs psql_q "$url" -c "\\copy raw FROM '$1' (FORMAT csv)")
		t+=("$s")
	done
	drop_pg bench_copy
	median "${t[@]}"
}

# The plain-SQL baseline: the straightforward idempotent path, with scli's version-2 tables
# (its own tables in its own database; nothing of scli's).
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

# scli's default batch size, from `scli load --help`; a different one makes every batch new
default_batch=$("$SCLI" load --help 2>&1 | sed -n 's/.*--batch-size N.*(default \([0-9]*\)).*/\1/p' | head -1)
has_batch_size=0
"$SCLI" load --help 2>&1 | grep -q -- '--batch-size' && has_batch_size=1
other_batch=$((${default_batch:-50000} - 1))
# issue 15's windows: `count --window`; older builds skip part 7
has_window=0
"$SCLI" count --help 2>&1 | grep -q -- '--window' && has_window=1
largest=""
for n in $SIZES; do largest=$n; done
SQLITE_COUNT_DB=$WORK/count.db

ROWS=()  # result table lines, in order
NOTES=() # lines under the table
PHASES=() # "phase: seconds"
row() {
	ROWS+=("| $1 | $2 | $3 | $4 | $5 |")
	log "  $1 | $2 | $3 | $4 | $5"
}
phase_t0=$(now)
phase() {
	PHASES+=("$1 $(printf '%.0f' "$(since "$phase_t0")") s")
	log "   ($1: $(printf '%.0f' "$(since "$phase_t0")") s)"
	phase_t0=$(now)
}
load_row() { # LABEL N SECS CEILING TARGET-TEXT EXTRA
	row "$1" "$2" "$(fmt "$3") s" "$(rate "$2" "$3") rows/s" "$(ratio "$4" "$3")${5:+ $5}${6:+; $6}"
}
target() { # VALUE OP TARGET [UNIT]: "(target ≥ 0.30: met)"
	local sym='≥'
	[ "$2" = "<=" ] && sym='≤'
	echo "(target $sym $3${4:+ $4}: $(ok "$1" "$2" "$3"))"
}

prev_label="previous design ($(basename "$(dirname "$PREV_SCLI")")/scli)"

for n in $SIZES; do
	runs=$RUNS
	[ "$n" -le "$LARGE" ] || runs=$RUNS_LARGE
	log "== $n events ($runs run(s) per figure)"
	csv=$WORK/events-$n.csv
	sorted=$WORK/events-$n-time.csv
	sorted_total=""
	# ~30 days, 200 customers (one takes ~60%, a long tail), random order, 1% duplicates,
	# 0.5% odd transaction ids (a date with a space and a number)
	"$GEN" --rows "$n" --seed 1 --customers 200 --days 30 --start 2021-03-01 >"$csv"
	# The time-ordered copy: the generator spells timestamps `2021-03-01 04:01:07.45+00` (0-3
	# fraction digits, trailing zeros dropped, always +00) in the last of four comma-free fields;
	# byte order sorts them by time ('+' sorts below the digits, so 07+00 < 07.45+00 < 07.5+00),
	# and the check below proves it on a parsed, zero-padded key.
	if [ "$only_files" = 1 ]; then
		: >"$sorted" # part 0 reads the random-order file only
	else
		LC_ALL=C sort -s -t, -k4,4 -S 25% -T "$WORK" "$csv" >"$sorted"
		awk -F, '{split($4, a, /[.+]/); f = (a[3] != "") ? substr(a[2] "000", 1, 3) : "000"
			if (a[3] == "") f = "000"; k = a[1] "." f
			if (k < prev) {print "not in time order at line " NR ": " $0; exit 1}; prev = k}' "$sorted" >&2 ||
			die "the time-ordered copy is not in time order"
		[ "$(wc -l <"$sorted")" -eq "$(wc -l <"$csv")" ] || die "the time-ordered copy lost lines"
	fi
	chmod 644 "$csv" "$sorted"
	phase "$n: generate and sort"

	# 0. count straight from the file: no database, the same query as DuckDB's scan. The runs of
	# both alternate (scli, DuckDB, scli, ...) so that other work on the machine weighs on both
	# alike; each side's CPU time (user + sys) is reported too, which that work hardly changes.
	files_heavy=$(awk -F, '{c[$1]++} END {for (k in c) if (c[k] > m) {m = c[k]; h = k}; print h}' "$csv")
	files_q=(count --collector csv --config "$csv" --customer "$files_heavy" --from 2021-03-01T00:00:00Z --to 2021-03-31T00:00:00Z --format csv)
	has_duck=0
	if [ -d "$DUCK/node_modules/@duckdb/node-api" ]; then
		has_duck=1
		cp "$here/duckdb_count.mjs" "$DUCK/"
	fi
	t=() c=() dt=() dc=()
	files_rss=0 duck_rss=0 duck_total=""
	for _ in $(seq "$FILES_RUNS"); do
		t0=$(now)
		/usr/bin/time -f '%M %U %S' -o "$WORK/files.time" "$SCLI" "${files_q[@]}" >/dev/null 2>"$WORK/timed.err" ||
			die "failed: scli ${files_q[*]} — $(tail -3 "$WORK/timed.err")"
		t+=("$(since "$t0")")
		read -r k u sy <"$WORK/files.time"
		c+=("$(echo "$u + $sy" | bc -l)")
		[ "$k" -le "$files_rss" ] || files_rss=$k
		if [ "$has_duck" = 1 ]; then
			dj=$(/usr/bin/time -f '%M %U %S' -o "$WORK/duck.time" node "$DUCK/duckdb_count.mjs" "$csv" \
				"$files_heavy" 2021-03-01T00:00:00Z 2021-03-31T00:00:00Z 1)
			dt+=("$(sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' <<<"$dj" | awk '{print $1 / 1000}')")
			duck_total=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' <<<"$dj")
			read -r k u sy <"$WORK/duck.time"
			dc+=("$(echo "$u + $sy" | bc -l)")
			[ "$k" -le "$duck_rss" ] || duck_rss=$k
		fi
	done
	files_s=$(median "${t[@]}")
	files_cpu=$(median "${c[@]}")
	files_total=$("$SCLI" "${files_q[@]}" | awk -F, 'NR > 1 {s += $3} END {print s + 0}')
	same=""
	[ -z "$duck_total" ] || {
		if [ "$duck_total" = "$files_total" ]; then same=", = DuckDB's"; else same=" (**DuckDB: $duck_total**)"; fi
	}
	row "count from the file, heaviest customer, 30 days: scli count --collector csv --config (process wall, median of $FILES_RUNS)" "$n" \
		"$(fmt "$files_s") s" "$(rate "$n" "$files_s") rows/s" \
		"peak RSS $(mib "$files_rss"); CPU $(fmt "$files_cpu") s (user + sys, median); total $files_total$same"
	if [ "$has_duck" = 1 ]; then
		duck_s=$(median "${dt[@]}")
		duck_cpu=$(median "${dc[@]}")
		r=$(ratio "$duck_s" "$files_s")
		tgt=""
		[ "$n" -lt 10000000 ] || tgt=" $(target "$r" ">=" 2)"
		row "count from the file, the same: DuckDB on-the-fly CSV scan (in-process query, median of $FILES_RUNS runs alternating with scli's)" "$n" \
			"$(fmt "$duck_s") s" "$(rate "$n" "$duck_s") rows/s" \
			"scli is ${r}× faster$tgt; CPU: DuckDB's process $(fmt "$duck_cpu") s, $(ratio "$duck_cpu" "$files_cpu")× scli's; DuckDB process peak RSS $(mib "$duck_rss")"
	else
		NOTES+=("DuckDB not measured at $n: no @duckdb/node-api (npm).")
	fi
	phase "$n: count from the file"
	if [ "$only_files" = 1 ]; then
		rm -f "$csv" "$sorted"
		continue
	fi

	# 1. PostgreSQL first loads
	copy=$(pg_copy_ceiling "$csv")
	copy_t=$(pg_copy_ceiling "$sorted")
	row "PG: psql \\copy, UNLOGGED, no index (ceiling), random order" "$n" "$(fmt "$copy") s" "$(rate "$n" "$copy") rows/s" "1.00"
	row "PG: psql \\copy, UNLOGGED, no index (ceiling), time order" "$n" "$(fmt "$copy_t") s" "$(rate "$n" "$copy_t") rows/s" "1.00"
	phase "$n: PG ceilings"
	if [ "$n" -le "$EXTRAS_MAX" ]; then
		t=()
		for _ in $(seq "$runs"); do
			url=$(fresh_pg bench_base)
			psql_q "$url" -c "$BASELINE_SCHEMA" >/dev/null
			s=$(secs baseline_load "$url" "$csv")
			t+=("$s")
		done
		drop_pg bench_base
		base=$(median "${t[@]}")
		load_row "PG: plain SQL staging + ON CONFLICT + rollup (baseline), random" "$n" "$base" "$copy"
		pg_first_loads "$SCLI" bench_one "$csv" --connections 1
		drop_pg bench_one
		load_row "PG: scli load --connections 1, first, random" "$n" "$FL_S" "$copy" "" "$(ratio "$base" "$FL_S")× baseline"
		phase "$n: PG baseline and --connections 1"
	fi
	if [ "$n" -le "$LARGE" ] || [ "$SORTED_LARGE" = 1 ]; then
		pg_first_loads "$SCLI" bench_time "$sorted"
		sorted_total=$("$SCLI" --database "$SCLI_TEST_PG dbname=bench_time" count --from 2021-03-01T00:00:00Z --to 2021-04-01T00:00:00Z --format csv | awk -F, 'NR > 1 {s += $3} END {print s}')
		drop_pg bench_time
		r=$(ratio "$copy_t" "$FL_S")
		tgt=""
		[ "$n" -gt "$LARGE" ] || tgt=$(target "$r" ">=" 0.50)
		load_row "PG: scli load, first, time order" "$n" "$FL_S" "$copy_t" "$tgt" "peak RSS $(mib "$FL_RSS"); WAL $FL_WAL MiB"
		phase "$n: PG scli first load, time order"
	fi
	pg_first_loads "$SCLI" bench_scli "$csv"
	url="$SCLI_TEST_PG dbname=bench_scli"
	first=$FL_S
	first_rss=$FL_RSS
	r=$(ratio "$copy" "$first")
	if [ "$n" -gt "$LARGE" ]; then tgt=$(target "$r" ">=" 0.25); else tgt=$(target "$r" ">=" 0.30); fi
	random_total=$("$SCLI" --database "$url" count --from 2021-03-01T00:00:00Z --to 2021-04-01T00:00:00Z --format csv | awk -F, 'NR > 1 {s += $3} END {print s}')
	load_row "PG: scli load, first, random order" "$n" "$first" "$copy" "$tgt" \
		"peak RSS $(mib "$FL_RSS"); WAL $FL_WAL MiB; database $(db_mib bench_scli) MiB; $random_total events${sorted_total:+ (time order: $sorted_total)}"
	phase "$n: PG scli first load, random"
	if [ -n "$PREV_SCLI" ] && [ "$n" -le "$EXTRAS_MAX" ]; then
		pg_first_loads "$PREV_SCLI" bench_prev "$csv"
		load_row "PG: $prev_label load, first, random order" "$n" "$FL_S" "$copy" "" "peak RSS $(mib "$FL_RSS"); WAL $FL_WAL MiB"
		pg_first_loads "$PREV_SCLI" bench_prev "$sorted"
		load_row "PG: $prev_label load, first, time order" "$n" "$FL_S" "$copy_t" "" "peak RSS $(mib "$FL_RSS"); WAL $FL_WAL MiB"
		drop_pg bench_prev
		phase "$n: PG previous design"
	fi

	# 2. re-loads into the loaded database: all duplicates
	t=()
	for _ in $(seq "$runs"); do
		s=$(timed "$SCLI" --database "$url" load --collector csv --config "$csv" --quiet --force)
		t+=("$s")
	done
	again=$(median "${t[@]}")
	r=$(ratio "$copy" "$again")
	load_row "PG: scli load --force, re-load of the same file (all duplicates)" "$n" "$again" "$copy" "$(target "$r" ">=" 0.7)" "peak RSS $(mib "$(rss_kb)")"
	if [ "$has_batch_size" = 1 ]; then
		t=()
		for _ in $(seq "$runs"); do
			s=$(timed "$SCLI" --database "$url" load --collector csv --config "$csv" --quiet --force --batch-size "$other_batch")
			t+=("$s")
		done
		again_b=$(median "${t[@]}")
		r=$(ratio "$copy" "$again_b")
		load_row "PG: scli load --force --batch-size $other_batch, re-load (all duplicates, every event probed)" "$n" "$again_b" "$copy" "$(target "$r" ">=" 0.7)" "peak RSS $(mib "$(rss_kb)")"
	fi
	after_total=$("$SCLI" --database "$url" count --from 2021-03-01T00:00:00Z --to 2021-04-01T00:00:00Z --format csv | awk -F, 'NR > 1 {s += $3} END {print s}')
	[ "$after_total" = "$random_total" ] || NOTES+=("**Re-loads changed the counts at $n: $random_total events before, $after_total after.**")
	phase "$n: PG re-loads"

	# 3. SQLite
	t=()
	for _ in $(seq "$runs"); do
		rm -f "$WORK"/imp.db*
		s=$(secs sqlite3 "$WORK/imp.db" "CREATE TABLE raw (customer_id TEXT, event_type TEXT, transaction_id TEXT, ts TEXT)" ".mode csv" ".import $csv raw")
		t+=("$s")
	done
	rm -f "$WORK"/imp.db*
	imp=$(median "${t[@]}")
	row "SQLite: sqlite3 .import, plain table (ceiling), random order" "$n" "$(fmt "$imp") s" "$(rate "$n" "$imp") rows/s" "1.00"
	keep=""
	[ "$n" != "$largest" ] || [ "$has_window" != 1 ] || keep=$SQLITE_COUNT_DB
	sqlite_first_loads "$SCLI" "$csv" "$keep"
	r=$(ratio "$imp" "$FL_S")
	if [ "$n" -gt "$LARGE" ]; then tgt=$(target "$r" ">=" 0.20); else tgt=$(target "$r" ">=" 0.30); fi
	load_row "SQLite: scli load, first, random order" "$n" "$FL_S" "$imp" "$tgt" "peak RSS $(mib "$FL_RSS"); file $FL_MIB MiB"
	sqlite_rss=$FL_RSS
	phase "$n: SQLite random"
	if [ "$n" -le "$EXTRAS_MAX" ]; then
		sqlite_first_loads "$SCLI" "$sorted"
		load_row "SQLite: scli load, first, time order (ratio to the random-order .import)" "$n" "$FL_S" "$imp" "" "peak RSS $(mib "$FL_RSS")"
		if [ -n "$PREV_SCLI" ]; then
			sqlite_first_loads "$PREV_SCLI" "$csv"
			load_row "SQLite: $prev_label load, first, random order" "$n" "$FL_S" "$imp" "" "peak RSS $(mib "$FL_RSS")"
		fi
		phase "$n: SQLite time order${PREV_SCLI:+, previous design}"
	fi

	# 4. peak RSS (target for PostgreSQL: ≤ 64 MiB whatever the size; SQLite: report it)
	row "peak RSS, scli load csv → PostgreSQL" "$n" "$(mib "$first_rss")" "" "$(target "$(awk -v k="$first_rss" 'BEGIN {print k / 1024}')" "<=" 64 MiB)"
	row "peak RSS, scli load csv → SQLite" "$n" "$(mib "$sqlite_rss")" "" "no target: reported"
	if [ "$n" -le "$EXTRAS_MAX" ]; then
		json=$WORK/events-$n.json
		awk -F, 'BEGIN {print "["} NR > 1 {print ","} {printf "{\"customer_id\":\"%s\",\"event_type\":\"%s\",\"transaction_id\":\"%s\",\"timestamp\":\"%s\"}", $1, $2, $3, $4} END {print "\n]"}' "$csv" >"$json"
		rm -f "$WORK"/m.db*
		"$SCLI" --database "sqlite:$WORK/m.db" init-db >/dev/null
		timed "$SCLI" --database "sqlite:$WORK/m.db" load --collector json --config "$json" --quiet >/dev/null
		row "peak RSS, scli load json → SQLite" "$n" "$(mib "$(rss_kb)")" "" "no target: reported"
		u=$(fresh_pg bench_rss)
		"$SCLI" --database "$u" init-db >/dev/null
		timed "$SCLI" --database "$u" load --collector json --config "$json" --quiet >/dev/null
		row "peak RSS, scli load json → PostgreSQL" "$n" "$(mib "$(rss_kb)")" "" "$(target "$(awk -v k="$(rss_kb)" 'BEGIN {print k / 1024}')" "<=" 64 MiB)"
		drop_pg bench_rss
		rm -f "$json" "$WORK"/m.db*
		phase "$n: JSON peak RSS"
	fi
	last=$n
	last_first=$first
	# keep the files of the largest size only (the kill figure and DuckDB read them)
	for f in "$WORK"/events-*.csv; do
		case "$f" in "$csv" | "$sorted") ;; *) rm -f "$f" ;; esac
	done
done
# parts 5 to 7 need the databases of parts 1 to 3: not in files mode
if [ "$only_files" != 1 ]; then
n=$last
csv=$WORK/events-$n.csv
url="$SCLI_TEST_PG dbname=bench_scli"
rm -f "$WORK/events-$n-time.csv"
ALL_HOURS=(--from 2021-03-01T00:00:00Z --to 2021-04-01T00:00:00Z --format csv)
heavy=$(awk -F, '{c[$1]++} END {for (k in c) if (c[k] > m) {m = c[k]; h = k}; print h}' "$csv")

# 5. kill and resume, on the largest size
# usecs: microseconds since the epoch, without a fork (the poll below must not slow the load it watches)
usecs() { echo "${EPOCHREALTIME//[!0-9]/}"; }
if [ "$KILL" = 1 ]; then
	log "== kill and resume, $n events"
	u=$(fresh_pg bench_kill)
	"$SCLI" --database "$u" init-db >/dev/null
	size=$(stat -c %s "$csv")
	half_us=$(awk -v s="$last_first" 'BEGIN {printf "%.0f", s * 500000}')
	t0=$(now)
	t0_us=$(usecs)
	"$SCLI" --database "$u" load --collector csv --config "$csv" --quiet >/dev/null 2>"$WORK/kill.err" &
	pid=$!
	how=""
	fd=""
	# Poll with shell builtins only: the process state, the descriptor that has the file open
	# (found again if it changes), and that descriptor's offset.
	while :; do
		state=""
		read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || break
		[ "$state" != Z ] || break
		el_us=$(($(usecs) - t0_us))
		if [ -z "$fd" ] || ! [ "/proc/$pid/fd/$fd" -ef "$csv" ]; then
			fd=""
			for f in /proc/"$pid"/fd/*; do
				if [ "$f" -ef "$csv" ]; then
					fd=${f##*/}
					break
				fi
			done
		fi
		pos=0
		if [ -n "$fd" ]; then
			while read -r key val; do
				if [ "$key" = "pos:" ]; then
					pos=$val
					break
				fi
			done 2>/dev/null <"/proc/$pid/fdinfo/$fd" || pos=0
		fi
		if [ "$pos" -gt 0 ]; then
			# scli may read the file once before loading it (its content hash for the ledger):
			# that quick pass ends long before half the full load's time
			if [ "$((pos * 10))" -ge "$((size * 9))" ] && [ "$el_us" -ge "$half_us" ]; then
				kill -9 "$pid" 2>/dev/null && how="at file offset $(awk -v p="$pos" -v s="$size" 'BEGIN {printf "%.1f %%", 100 * p / s}')"
				break
			fi
		elif [ "$el_us" -ge "$((half_us * 9 / 5))" ]; then
			# the file is not read through a file descriptor offset (mmap?): 90 % of the time
			kill -9 "$pid" 2>/dev/null && how="after 90 % of the full load's time (no file offset seen)"
			break
		fi
		sleep 0.1
	done
	killed_after=$(since "$t0")
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	if [ -z "$how" ] || [ "$rc" -ne 137 ]; then
		row "PG: kill -9 at ~90 % read, then the same command again" "$n" "—" "" "not measured: the load ended (exit $rc) before the kill"
	else
		log "   killed $how, after $(fmt "$killed_after") s; ledger: $("$SCLI" --database "$u" loads --limit 1 --format json 2>/dev/null | tr -d '\n' | cut -c1-300)"
		resume=$(timed "$SCLI" --database "$u" load --collector csv --config "$csv" --quiet)
		r=$(awk -v a="$resume" -v b="$last_first" 'BEGIN {printf "%.2f", a / b}')
		"$SCLI" --database "$u" count "${ALL_HOURS[@]}" >"$WORK/kill.counts"
		"$SCLI" --database "$url" count "${ALL_HOURS[@]}" >"$WORK/clean.counts"
		ktot=$(awk -F, -v c="$heavy" 'NR > 1 && $1 == c {s += $3} END {print s + 0}' "$WORK/kill.counts")
		ctot=$(awk -F, -v c="$heavy" 'NR > 1 && $1 == c {s += $3} END {print s + 0}' "$WORK/clean.counts")
		cells=$(($(wc -l <"$WORK/clean.counts") - 1))
		if cmp -s "$WORK/kill.counts" "$WORK/clean.counts"; then
			exact="exact: all $cells customer-hours equal the clean load's (heaviest customer $ktot = $ctot)"
		else
			exact="**NOT exact**: customer-hours differ from the clean load's ($(diff "$WORK/kill.counts" "$WORK/clean.counts" | grep -c '^<') lines; heaviest customer $ktot vs $ctot)"
		fi
		row "PG: kill -9 at ~90 % read, then the same command again (re-run time / full load time)" "$n" "$(fmt "$resume") s" \
			"killed $how after $(fmt "$killed_after") s ($(ratio "$killed_after" "$last_first") of the full load)" "$r $(target "$r" "<=" 0.20); full load $(fmt "$last_first") s; $exact"
	fi
	drop_pg bench_kill
	phase "kill and resume"
fi

# 6. count on the largest size, still loaded in bench_scli. Server-side time per invocation from
# pg_stat_statements (loaded for this part only): every statement scli runs, whatever its tables.
pg_admin -q -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
# shellcheck disable=SC2086 # SCLI_TEST_PG_AS is a command prefix (runuser ...) or empty
$SCLI_TEST_PG_AS "$SCLI_TEST_PG_BIN/pg_ctl" -D "$SCLI_TEST_PG_DIR/data" -l "$SCLI_TEST_PG_DIR/server.log" -w -t 120 restart >/dev/null
pg_admin -q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
	-c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null
dbid=$(pg_admin -c "SELECT oid FROM pg_database WHERE datname = 'bench_scli'")
# hf_ms COMMAND-LINE: a command's process wall time, the hyperfine median of 30 runs, in ms
hf_ms() {
	hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/hf.json" "$1" >/dev/null 2>&1
	awk -F': ' '/"median"/ {gsub(/[ ,]/, "", $2); print $2 * 1000; exit}' "$WORK/hf.json"
}
# pg_server_ms CMD...: 20 runs of a scli command against bench_scli after a reset of
# pg_stat_statements; per invocation, in ms: SERVER (execution of every statement), PLAN, CALLS
# (statements) and TOP (the slowest statement's mean). The slowest three go to the log.
pg_server_ms() {
	local k=20
	pg_admin -q -c "SELECT pg_stat_statements_reset()" >/dev/null
	for _ in $(seq "$k"); do "$@" >/dev/null; done
	read -r SERVER PLAN CALLS TOP < <(pg_admin -F ' ' -c "SELECT round((sum(total_exec_time) / $k)::numeric, 3),
		round((sum(total_plan_time) / $k)::numeric, 3), round(sum(calls) / $k, 1), round(max(mean_exec_time)::numeric, 3)
		FROM pg_stat_statements WHERE dbid = $dbid")
	log "   server-side, per invocation: exec $SERVER ms, plan $PLAN ms, $CALLS statements; the slowest:"
	pg_admin -c "SELECT round(mean_exec_time::numeric, 3) || ' ms: ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
		FROM pg_stat_statements WHERE dbid = $dbid ORDER BY total_exec_time DESC LIMIT 3" >&2
}
# csv_total: the sum of the count column of `scli count --format csv` on stdin
csv_total() { awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "count") c = i} NR > 1 {s += $c} END {print s + 0}'; }
log "== count, $n events loaded, customer $heavy"
for span in "1 day|2021-03-10T00:00:00Z|2021-03-11T00:00:00Z" "30 days|2021-03-01T00:00:00Z|2021-03-31T00:00:00Z"; do
	IFS='|' read -r label from to <<<"$span"
	cmd=("$SCLI" --database "$url" count --customer "$heavy" --from "$from" --to "$to" --format csv)
	wall=$(hf_ms "$SCLI --database '$url' count --customer $heavy --from $from --to $to --format csv")
	total=$("${cmd[@]}" | csv_total)
	pg_server_ms "${cmd[@]}"
	server=$SERVER plan=$PLAN calls=$CALLS top=$TOP
	duck=""
	duck_total=""
	if [ -d "$DUCK/node_modules/@duckdb/node-api" ]; then
		cp "$here/duckdb_count.mjs" "$DUCK/"
		dj=$(node "$DUCK/duckdb_count.mjs" "$csv" "$heavy" "$from" "$to" 3)
		duck=$(sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' <<<"$dj")
		duck_total=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' <<<"$dj")
	fi
	same=""
	[ "$label" != "30 days" ] || [ -z "$duck_total" ] || {
		if [ "$duck_total" = "$total" ]; then same=" = DuckDB's"; else same=" (DuckDB: $duck_total)"; fi
	}
	row "count, PostgreSQL, $label: scli process wall (hyperfine median)" "$n" "$(printf '%.2f' "$wall") ms" "total $total$same" "$(target "$wall" "<=" 20 ms)"
	row "count, PostgreSQL, $label: server-side per invocation (pg_stat_statements: execution of every statement)" "$n" \
		"$(printf '%.3f' "$server") ms" "+ $(printf '%.3f' "$plan") ms planning" \
		"$(target "$server" "<=" 1 ms); $calls statements, the slowest $top ms"
	if [ -n "$duck" ]; then
		r=$(ratio "$duck" "$wall")
		row "count, $label: DuckDB on-the-fly CSV scan (in-process query)" "$n" "$(printf '%.1f' "$duck") ms" "" "scli wall is ${r}× faster $(target "$r" ">=" 100)"
	fi
done
phase "count"

# 7. windows (issue 15), the heaviest customer, on both databases: PostgreSQL (bench_scli, with
# pg_stat_statements still loaded) and SQLite (the largest size's random-order first load, kept).
# The data covers 2021-03-01 to 2021-03-31 UTC: the year of months holds every event of the
# customer (the hourly UTC count over March must find the same total), the 30 days of New York days
# cross the change to daylight saving time (a 23-hour day). Every answer must be the same on both.
if [ "$has_window" != 1 ]; then
	NOTES+=("Windows (issue 15) not measured: \`scli count --help\` of this build has no --window.")
else
	log "== count with windows, $n events loaded, customer $heavy"
	WIN_MONTHS=(--window month --tz Asia/Kolkata --from 2021-01-01T00:00:00 --to 2022-01-01T00:00:00)
	WIN_DAYS=(--window day --tz America/New_York --from 2021-03-01T00:00:00 --to 2021-03-31T00:00:00)
	march=$("$SCLI" --database "$url" count --customer "$heavy" --from 2021-03-01T00:00:00Z --to 2021-04-01T00:00:00Z --format csv | csv_total)
	declare -A WALL SRV
	for spec in "months|a year of month windows, Asia/Kolkata" "days|30 days of day windows, America/New_York" \
		"grouped|30 days of day windows, America/New_York, --group-by event_type"; do
		IFS='|' read -r key label <<<"$spec"
		case "$key" in
		months) args=("${WIN_MONTHS[@]}") ;;
		days) args=("${WIN_DAYS[@]}") ;;
		grouped) args=("${WIN_DAYS[@]}" --group-by event_type) ;;
		esac
		for db in pg sqlite; do
			if [ "$db" = pg ]; then u=$url dbname=PostgreSQL; else u=sqlite:$SQLITE_COUNT_DB dbname=SQLite; fi
			cmd=("$SCLI" --database "$u" count --customer "$heavy" "${args[@]}" --format csv)
			if ! "${cmd[@]}" >"$WORK/win-$key-$db.csv" 2>"$WORK/win.err"; then
				# not the whole run's end: the other rows stand
				row "count --window, $dbname, $label" "$n" "—" "" "**failed**: $(head -c 200 "$WORK/win.err")"
				WALL[$key-$db]=0
				[ "$db" != pg ] || SRV[$key]=0
				continue
			fi
			total=$(csv_total <"$WORK/win-$key-$db.csv")
			notes="total $total"
			[ "$key" != months ] || [ "$total" = "$march" ] ||
				notes+="; **NOT the hourly UTC count's $march**"
			if [ "$db" = sqlite ] && [ "${WALL[$key-pg]}" != 0 ]; then
				if cmp -s "$WORK/win-$key-pg.csv" "$WORK/win-$key-sqlite.csv"; then
					notes+=", the same answer as PostgreSQL"
				else
					notes+="; **answer differs from PostgreSQL's**"
				fi
			fi
			[ "$key" != grouped ] || [ "$total" = "$(csv_total <"$WORK/win-days-$db.csv")" ] ||
				notes+="; **NOT the ungrouped total**"
			WALL[$key-$db]=$(hf_ms "$SCLI --database '$u' count --customer $heavy ${args[*]} --format csv")
			row "count --window, $dbname, $label: scli process wall (hyperfine median)" "$n" \
				"$(printf '%.2f' "${WALL[$key-$db]}") ms" "$notes" "$(target "${WALL[$key-$db]}" "<=" 25 ms)"
			if [ "$db" = pg ]; then
				pg_server_ms "${cmd[@]}"
				SRV[$key]=$SERVER
				row "count --window, PostgreSQL, $label: server-side per invocation (pg_stat_statements)" "$n" \
					"$(printf '%.3f' "$SERVER") ms" "+ $(printf '%.3f' "$PLAN") ms planning" \
					"$(target "$SERVER" "<=" 2 ms); $CALLS statements, the slowest $TOP ms"
			fi
		done
	done
	# grouped / ungrouped: only when both were measured
	grouping_row() { # WHAT GROUPED UNGROUPED
		[ "$(awk -v a="$2" -v b="$3" 'BEGIN {print (a > 0 && b > 0)}')" = 1 ] || return 0
		local r
		r=$(ratio "$2" "$3")
		row "count --window, $1, 30 days of New York days: --group-by event_type / ungrouped" "$n" "${r}×" "" \
			"$(target "$r" "<=" 2)"
	}
	grouping_row "PostgreSQL, process wall" "${WALL[grouped-pg]}" "${WALL[days-pg]}"
	grouping_row "SQLite, process wall" "${WALL[grouped-sqlite]}" "${WALL[days-sqlite]}"
	grouping_row "PostgreSQL, server-side" "${SRV[grouped]}" "${SRV[days]}"
	phase "count with windows"
fi

fi # parts 5 to 7

# --- the previous design's figures, quoted from earlier results files ---------
day=$(date -u +%Y-%m-%d)
out=$here/results/$day-$mode.md
# prev_file N: the newest results file with rows of N events (PREV_RESULTS narrows the choice)
prev_file() {
	local f
	for f in ${PREV_RESULTS:-$(ls -r "$here"/results/[0-9]*.md 2>/dev/null)}; do
		f=$(abs "$f")
		[ -f "$f" ] && [ "$f" != "$out" ] || continue
		awk -F'|' -v n="$1" '$3 ~ "^ *" n " *$" {found = 1} END {exit !found}' "$f" && {
			echo "$f"
			return
		}
	done
	return 0 # none: not a failure (set -e would end the run at a size no earlier file has)
}
PREV=()
[ "$only_files" = 1 ] && SIZES_PREV="" || SIZES_PREV=$SIZES
for n in $SIZES_PREV; do
	f=$(prev_file "$n")
	[ -n "$f" ] || continue
	made=$(sed -n 's/.* at \([0-9a-f]\{7,\}[^ .]*\).*/\1/p' "$f" | head -1)
	PREV+=("" "Quoted from \`bench/results/$(basename "$f")\`${made:+ (scli at $made)}, $n events — not measured in this run, its own machine state and settings (see that file's header):" "")
	PREV+=("| measurement (earlier run) | events | time | notes |" "|---|---:|---:|---|")
	while IFS= read -r line; do PREV+=("$line"); done < <(awk -F'|' -v n2="$n" '
		NF >= 5 && $3 ~ "^ *" n2 " *$" {printf "|%s|%s|%s|%s|\n", $2, $3, $4, $(NF - 1)}' "$f")
done

# --- results -------------------------------------------------------------------
mkdir -p "$here/results"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
if [ "$only_files" = 1 ]; then
	dbs="no database (part 0 only)"
else
	pgset=$(pg_admin -F ' ' -c "SELECT string_agg(name || ' ' || setting, ', ' ORDER BY name) FROM pg_settings
	WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size', 'wal_level')")
	dbs="PostgreSQL $(pg_admin -c 'SHOW server_version' | cut -d' ' -f1) (private server, **PostgreSQL's defaults, fsync on**, as users run it: $pgset), SQLite $(sqlite3 --version | cut -d' ' -f1)"
fi
total_s=$(($(date +%s) - BENCH_T0))
{
	echo "# scli benchmark, $mode, $day"
	echo
	echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)," \
		"load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work on the machine slows every figure)." \
		"$dbs," \
		"scli $("$SCLI" --version | awk '{print $NF}') at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+changes')" \
		"(build \`${BUILD#"$root"/}\`)${PREV_SCLI:+; previous design: \`$PREV_SCLI\`}."
	echo "Files: \`scli-gen --seed 1 --customers 200 --days 30 --start 2021-03-01\` (random order, 1 % duplicates) and a" \
		"time-ordered copy of each (sorted by timestamp)."
	echo "Median of $RUNS runs per load figure at sizes ≤ $LARGE, **$RUNS_LARGE run(s) at larger sizes**." \
		"Ratios: ceiling time / scli time (for the kill figure: re-run time / full load time)."
	echo "The whole run took $((total_s / 60)) min $((total_s % 60)) s."
	echo
	echo "| measurement | events | time | rate | ratio to the ceiling / notes |"
	echo "|---|---:|---:|---:|---|"
	printf '%s\n' "${ROWS[@]}"
	if [ ${#NOTES[@]} -gt 0 ]; then
		echo
		printf '%s\n' "${NOTES[@]}"
	fi
	echo
	echo "Time per part: $(printf '%s; ' "${PHASES[@]}" | sed 's/; $//')."
	if [ ${#PREV[@]} -gt 0 ]; then
		echo
		echo "## Previous design, quoted (labelled: from earlier results files, not this run)"
		printf '%s\n' "${PREV[@]}"
	fi
} >"$out"
log ""
cat "$out"
log ""
log "written to $out"
