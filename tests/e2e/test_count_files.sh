# `scli count --collector csv|json --config PATH...` (issue 18): counts straight from
# files, with no database, must be byte for byte what `load` + `count` on SQLite print:
#  - every case of the windows oracle (tests/e2e/windows_oracle.py: minute, hour, day and
#    month windows; America/New_York across both clock changes, Europe/Berlin,
#    Australia/Lord_Howe, Asia/Kolkata, Asia/Kathmandu, America/St_Johns, UTC, fixed
#    offsets; event-type filters, group-by, customers named and not, --skip-empty, usage
#    errors) in table, CSV and JSON, and New York's 2021-11-07 file of test_windows.sh;
#  - the real data's published answers (docs/SPEC.md);
#  - a file of a few hundred thousand rows read in parts by two threads, with duplicates
#    (other times, other types) across the parts and across files: first read wins;
#  - rejects on stderr as load prints them (the first 20, then how many more), exit 3 with
#    the counts still on stdout; .gz, directories, globs, `-`; the JSON collector;
#  - no database opened or created; --memory-mib's clear error; usage errors.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { [ "${CI:-}" = "true" ] && { echo "FAIL: no python3 in CI" >&2; exit 1; }; echo "SKIP: no python3"; exit 77; }
[ -f /usr/share/zoneinfo/America/New_York ] || { [ "${CI:-}" = "true" ] && { echo "FAIL: no tzdata in CI" >&2; exit 1; }; echo "SKIP: no tzdata"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
DB=sqlite:$WORK/ref.sqlite

# same_as_load NAME FILE... -- COUNT-ARGS...: load FILEs into a fresh SQLite database NAME
# (once: NAME always names the same files), then `count COUNT-ARGS` there and `count
# --collector csv --config FILE... COUNT-ARGS` from the files: stdout, stderr's reject
# lines and exit code must be the same. COLLECTOR (default csv) picks the collector.
same_as_load() {
	local name=$1 db=sqlite:$WORK/$1.sqlite cfg=()
	shift
	while [ "$1" != -- ]; do cfg+=(--config "$1"); shift; done
	shift
	if [ ! -f "$WORK/$name.sqlite" ]; then
		"$SCLI" --database "$db" init-db >/dev/null
		"$SCLI" --database "$db" load --collector "${COLLECTOR:-csv}" "${cfg[@]}" --quiet >/dev/null 2>"$WORK/$name.load.err"
	fi
	"$SCLI" --database "$db" count "$@" >"$WORK/want.out" 2>"$WORK/want.err"
	local want_rc=$?
	"$SCLI" count --collector "${COLLECTOR:-csv}" "${cfg[@]}" "$@" >"$WORK/got.out" 2>"$WORK/got.err"
	local got_rc=$?
	cp "$WORK/$name.load.err" "$WORK/load.err"
	[ "$want_rc" -eq 0 ] && [ -s "$WORK/load.err" ] && want_rc=3 # load's rejects: count's exit 3
	if [ "$got_rc" -eq "$want_rc" ] && cmp -s "$WORK/want.out" "$WORK/got.out"; then ok; else
		fail "$name: count ${*}: exit $got_rc (load + count: $want_rc); $(diff "$WORK/want.out" "$WORK/got.out" | head -5) $(head -3 "$WORK/got.err")"
	fi
	# the reject lines are load's, in load's order
	grep -v ' more rejected rows not shown' "$WORK/load.err" >"$WORK/load.lines"
	grep -v ' more rejected rows not shown' "$WORK/got.err" >"$WORK/got.lines"
	if cmp -s "$WORK/load.lines" "$WORK/got.lines"; then ok; else
		fail "$name: rejects differ from load's: $(diff "$WORK/load.lines" "$WORK/got.lines" | head -5)"
	fi
}

# --- every case of the windows oracle, three formats ------------------------------------------
python3 "$HERE/windows_oracle.py" cases "$WORK/windows.csv" >"$WORK/cases.jsonl" ||
	fail "windows_oracle.py cases failed"
"$SCLI" --database "$DB" init-db >/dev/null
run --database "$DB" load --collector csv --config "$WORK/windows.csv" --quiet
expect_rc 0 "load the oracle's events"
# Under valgrind (make valgrind) every scli takes a second or more: every eighth case.
every=1
[ -z "${SCLI_REAL:-}" ] || every=8
python3 - "$SCLI" "$DB" "$WORK/windows.csv" "$WORK/cases.jsonl" "$every" >"$WORK/cases.out" <<'PY'
import json, subprocess, sys
scli, db, events, cases, every = sys.argv[1:6]
passed = failed = 0
for i, line in enumerate(open(cases)):
    if i % int(every):
        continue
    case = json.loads(line)
    for fmt in ("table", "csv", "json"):
        args = case["args"] + ["--format", fmt]
        want = subprocess.run([scli, "--database", db, "count"] + args, capture_output=True)
        got = subprocess.run([scli, "count", "--collector", "csv", "--config", events] + args,
                             capture_output=True)
        if (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr):
            passed += 1
        else:
            failed += 1
            print("FAIL: count %s: exit %d (load + count: %d)\n  got:  %.300r %.200r\n  want: %.300r %.200r"
                  % (" ".join(args), got.returncode, want.returncode, got.stdout, got.stderr,
                     want.stdout, want.stderr), file=sys.stderr)
print("passed=%d failed=%d" % (passed, failed))
PY
counts=$(tail -n 1 "$WORK/cases.out")
case "$counts" in
passed=*" failed="*)
	p=${counts#passed=}
	PASSED=$((PASSED + ${p%% *}))
	FAILED=$((FAILED + ${counts##*failed=}))
	[ "${p%% *}" -ge 100 ] || [ "$every" -ne 1 ] || fail "only ${p%% *} oracle cases compared"
	;;
*) fail "the oracle cases ended without their counts: $(cat "$WORK/cases.out")" ;;
esac

# --- New York's clocks going back (test_windows.sh's file), with a header and CRLF ------------
printf '%s\r\n' customer_id,event_type,transaction_id,timestamp \
	acme,api_call,t1,2021-11-07T04:30:00Z acme,api_call,t2,2021-11-07T05:15:00Z \
	acme,api_call,t3,2021-11-07T05:45:00Z acme,storage,t4,2021-11-07T06:10:00Z \
	acme,api_call,t5,2021-11-07T06:50:00Z acme,api_call,t6,2021-11-07T07:20:00Z \
	acme,api_call,t7,2021-11-08T04:59:59Z acme,api_call,t8,2021-11-08T05:00:00Z \
	beta,storage,b1,2021-11-07T06:30:00Z >"$WORK/dst.csv"
NY="--tz America/New_York"
for fmt in table csv json; do
	same_as_load dst "$WORK/dst.csv" -- --customer acme --from 2021-11-07T00:00 --to 2021-11-07T03:00 $NY --format $fmt
	same_as_load dst "$WORK/dst.csv" -- --from 2021-11-06 --to 2021-11-09 --window day $NY --format $fmt
	same_as_load dst "$WORK/dst.csv" -- --from 2021-11-07 --to 2021-11-08 $NY --window day --group-by event_type \
		--event-type storage --event-type login --format $fmt
	same_as_load dst "$WORK/dst.csv" -- --customer nobody --customer acme --from 2021-11-01 --to 2021-12-01 \
		--window month $NY --skip-empty --format $fmt
	same_as_load dst "$WORK/dst.csv" -- --customer acme --from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30 \
		--window minute --skip-empty --format $fmt
done
run count --collector csv --config "$WORK/dst.csv" --customer acme --from 2021-11-07T01:00 --to 2021-11-07T02:00 $NY --format json
expect_out '{"from":"2021-11-07T01:00:00-04:00","to":"2021-11-07T02:00:00-05:00","window":"hour","time_zone":"America/New_York","customers":[{"customer_id":"acme","total":4,"buckets":[{"start":"2021-11-07T01:00:00-04:00","count":2,"partial":false},{"start":"2021-11-07T01:00:00-05:00","count":2,"partial":false}]}]}' "the two 01:00 hours, from the file"

# --- the real data's published answers (docs/SPEC.md) -------------------------------------
DATA="${SCLI_SHARED_DATA:-}/metronome"
if [ -f "$DATA/events.csv" ]; then
	run count --collector csv --config "$DATA/events.csv" --customer b4f9279a0196e40632e947dd1a88e857 \
		--from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z --format json
	expect_rc 0 "real data"
	expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T06:30:00Z","window":"hour","time_zone":"UTC","customers":[{"customer_id":"b4f9279a0196e40632e947dd1a88e857","total":2310,"buckets":[{"start":"2021-03-01T04:00:00Z","count":408,"partial":false},{"start":"2021-03-01T05:00:00Z","count":1133,"partial":false},{"start":"2021-03-01T06:00:00Z","count":769,"partial":true}]}]}' "published answer, customer b4f9..."
	run count --collector csv --config "$DATA/events.csv" --customer 30330c9c4e7173ba9474c46ee5191570 \
		--from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z --format csv
	expect_out "$(printf 'customer_id,bucket_start,count,partial\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T04:00:00Z,36,false\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T05:00:00Z,9,false\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T06:00:00Z,9,true\r')" "published answer, customer 3033..."
	run count --collector csv --config "$DATA/events.csv" --from 2021-03-01 --to 2021-03-04 --format csv --threads 2
	expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{s+=$3} END {print s}')" "147370" "every real event counted once"
	printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{h[$2]+=$3} END {for (k in h) print k "," h[k]}' | sort >"$WORK/ours"
	tail -n +2 "$DATA/teakopp-simple-aggregator_output_hourly_totals_all_customers.csv" | tr -d '"\r' | sort >"$WORK/published"
	if diff -q "$WORK/ours" "$WORK/published" >/dev/null; then ok; else fail "hourly totals differ from the published ones"; fi
	same_as_load real "$DATA/events.csv" -- --from 2021-03-01 --to 2021-03-04 --window day --tz Asia/Kolkata --group-by event_type --format csv
elif [ "${CI:-}" = "true" ]; then
	fail "$DATA/events.csv missing in CI"
else
	echo "note: $DATA/events.csv not found; the published answers are not checked" >&2
fi

# --- a large file read in parts by two threads: first read wins across the parts and files ---
GEN=${SCLI_GEN:-$(dirname "$SCLI")/scli-gen}
ROWS=300000
[ -z "${SCLI_REAL:-}" ] || ROWS=60000
"$GEN" --rows $ROWS --seed 18 --customers 20 --days 3 --start 2021-03-01 >"$WORK/big-body.csv"
{
	echo "first,INGEST,x-across,2021-03-01T00:10:00Z"
	cat "$WORK/big-body.csv"
	echo "first,QUERY,x-across,2021-03-02T07:10:00Z" # a copy parts later: another time and type
	echo "bad row"                                   # a reject in the last part
} >"$WORK/big.csv"
echo "first,STORAGE,x-across,2021-03-03T09:00:00Z" >"$WORK/later.csv"
heavy=$(awk -F, '{c[$1]++} END {for (k in c) if (c[k] > m) {m = c[k]; h = k}; print h}' "$WORK/big-body.csv")
for threads in 1 2 3; do
	same_as_load big "$WORK/big.csv" "$WORK/later.csv" -- --customer "$heavy" --customer first \
		--from 2021-03-01 --to 2021-03-04 --group-by event_type --format csv --threads $threads
done
same_as_load bigonly "$WORK/big.csv" -- --from 2021-03-01 --to 2021-03-04 --window day --tz America/New_York --format json --threads 2
run count --collector csv --config "$WORK/big.csv" --config "$WORK/later.csv" --customer first \
	--from 2021-03-01 --to 2021-03-04 --window day --group-by event_type --format csv --skip-empty --threads 2
expect_rc 3 "the big file has one reject"
expect_out "$(printf '%s\r\n' customer_id,event_type,bucket_start,count,partial first,INGEST,2021-03-01T00:00:00Z,1,false)" \
	"the first copy wins: its day and its type, whatever later parts and files say"
expect_err_has "big.csv:$((ROWS + 3)): expected 4 fields, found 1" "a reject in a later part has the file's line number"

# --- rejects: load's lines, the first 20, then how many more; exit 3 with the counts ---------
{
	echo "acme,INGEST,ok1,2021-03-01T04:10:00Z"
	for i in $(seq 1 25); do echo "acme,INGEST,bad$i,2021-02-30T00:00:00Z"; done
	echo "acme,INGEST,ok2,2021-03-01T04:20:00Z"
	echo ",INGEST,empty,2021-03-01T04:20:00Z"
} >"$WORK/rejects.csv"
same_as_load rejects "$WORK/rejects.csv" -- --from 2021-03-01T04:00:00Z --to 2021-03-01T05:00:00Z --format csv
run count --collector csv --config "$WORK/rejects.csv" --from 2021-03-01T04:00:00Z --to 2021-03-01T05:00:00Z --format csv
expect_rc 3 "rejected rows: exit 3"
expect_out "$(printf '%s\r\n' customer_id,bucket_start,count,partial acme,2021-03-01T04:00:00Z,2,false)" "the counts are still printed"
expect_eq "$(printf '%s\n' "$ERR" | grep -c "^scli: error: $WORK/rejects.csv:[0-9]*: ")" "20" "the first 20 rejects, one line each"
expect_err_has "$WORK/rejects.csv:2: timestamp \"2021-02-30T00:00:00Z\": day is out of range for the month" "file:line: reason"
expect_err_has "scli: error: 6 more rejected rows not shown" "how many more"

# --- sources as load takes them: .gz, directories, globs, standard input, several --config ---
mkdir -p "$WORK/dir" "$WORK/glob"
head -n 1000 "$WORK/big-body.csv" >"$WORK/dir/a.csv"
sed -n 900,2000p "$WORK/big-body.csv" | gzip >"$WORK/dir/b.csv.gz"
echo "not,a,csv,file" >"$WORK/dir/ignored.txt"
head -n 500 "$WORK/big-body.csv" >"$WORK/glob/g1.csv"
sed -n 400,700p "$WORK/big-body.csv" >"$WORK/glob/g2.csv"
Q=(--from 2021-03-01 --to 2021-03-04 --window day --format csv)
same_as_load dir "$WORK/dir" -- "${Q[@]}"
same_as_load gz "$WORK/dir/b.csv.gz" -- "${Q[@]}"
same_as_load glob "$WORK/glob/g*.csv" -- "${Q[@]}"
same_as_load several "$WORK/glob/g2.csv" "$WORK/dir" "$WORK/glob/g1.csv" -- "${Q[@]}" --group-by event_type
"$SCLI" --database "sqlite:$WORK/dir.sqlite" count "${Q[@]}" >"$WORK/dir.want"
run count --collector csv --config - "${Q[@]}" < <(cat "$WORK/dir/a.csv"; gzip -dc "$WORK/dir/b.csv.gz")
expect_eq "$OUT" "$(cat "$WORK/dir.want")" "standard input: the same as the directory"
gzip -c "$WORK/big.csv" >"$WORK/big.csv.gz"
run count --collector csv --config "$WORK/big.csv.gz" --customer first --from 2021-03-01 --to 2021-03-04 --format csv --skip-empty
expect_rc 3 "gzip: the reject too"
expect_out_has "first,2021-03-01T00:00:00Z,1,false" "gzip: first read wins"

# --- the JSON collector ---------------------------------------------------------------------
cat >"$WORK/events.json" <<'JSON'
[{"customer_id":"acme","event_type":"INGEST","transaction_id":"j1","timestamp":"2021-03-01T04:05:00Z"},
 {"customer_id":"acme","event_type":"QUERY","transaction_id":"j1","timestamp":"2021-03-01T05:05:00Z"},
 {"customer_id":"beta","event_type":"INGEST","transaction_id":7,"timestamp":1614571500},
 {"customer_id":"beta","event_type":"INGEST","transaction_id":1.5,"timestamp":"2021-03-01T04:05:00Z"},
 {"customer_id":"beta","event_type":"INGEST","transaction_id":"j9","timestamp":"2021-03-01T04:59:59.999999Z"}]
JSON
printf '%s\n' '{"customer_id":"acme","event_type":"INGEST","transaction_id":"j2","timestamp":"2021-03-01T04:06:00Z"}' >"$WORK/more.ndjson"
for fmt in table csv json; do
	COLLECTOR=json same_as_load json "$WORK/events.json" "$WORK/more.ndjson" -- --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --group-by event_type --format $fmt
done

# --- no database: none opened, none created -----------------------------------------------------
mkdir "$WORK/empty" && cd "$WORK/empty" || exit 1
run --database "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=1" count --collector csv --config "$WORK/dst.csv" \
	--from 2021-11-07 --to 2021-11-08 --window day --format csv
expect_rc 0 "an unreachable --database is never touched"
expect_out_has "acme,2021-11-07T00:00:00Z,6,false" "counted from the file"
SCLI_DATABASE="postgresql://nobody@127.0.0.1:1/nothing" run count --collector csv --config "$WORK/dst.csv" --from 2021-11-07 --to 2021-11-08
expect_rc 0 "nor an unreachable SCLI_DATABASE"
expect_eq "$(ls -A "$WORK/empty")" "" "no scli.db (or any file) created"
SCLI_COLLECTOR=csv SCLI_CONFIG="$WORK/dst.csv" run --database "sqlite:$WORK/empty/none.db" count --from 2021-11-07 --to 2021-11-08
expect_rc 1 "load's SCLI_COLLECTOR and SCLI_CONFIG do not make count read files"
expect_err_has "does not exist" "count asked the database"
cd "$WORK" || exit 1

# --- the memory limit: a clear error, not a crash ------------------------------------------------------
run count --collector csv --config "$WORK/big.csv" --from 2021-03-01 --to 2021-03-04 --memory-mib 1
expect_rc 1 "past --memory-mib: exit 1"
expect_err_has "need more than the memory limit of 1 MiB" "the limit is named"
expect_err_has "allow more with --memory-mib" "and what to do"
expect_eq "$OUT" "" "no partial answer on stdout"
run count --collector csv --config "$WORK/big.csv" --from 2021-03-01 --to 2021-03-04 --memory-mib 1 --threads 1
expect_rc 1 "past --memory-mib on one thread: exit 1"

# --- usage ------------------------------------------------------------------------------------------
run count --config "$WORK/dst.csv" --from 2021-11-07 --to 2021-11-08
expect_rc 2 "--config without --collector"
expect_err_has "--config needs --collector csv|json" "says what is missing"
run count --collector csv --from 2021-11-07 --to 2021-11-08
expect_rc 2 "--collector without --config"
run count --collector xml --config "$WORK/dst.csv" --from 2021-11-07 --to 2021-11-08
expect_rc 2 "unknown collector"
expect_err_has "unknown collector 'xml' (csv or json)" "unknown collector message"
run count --collector csv --config "$WORK/dst.csv" --from 2021-11-08 --to 2021-11-07
expect_rc 2 "the request is checked as always"
run count --collector csv --config "$WORK/dst.csv" --from 2021-11-07 --to 2021-11-08 --threads 0
expect_rc 2 "--threads 0"
run count --collector csv --config "$WORK/nothing.csv" --from 2021-11-07 --to 2021-11-08
expect_rc 1 "a missing file"
expect_err_has "cannot open $WORK/nothing.csv" "names the file"
run count --collector csv --config "$WORK/no*.csv" --from 2021-11-07 --to 2021-11-08
expect_rc 1 "a glob that matches nothing"
run count --help
expect_out_has "The quickest way to an answer" "count --help says it"

finish
