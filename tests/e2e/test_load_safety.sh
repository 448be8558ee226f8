# Loads as operators run them, where data used to be lost with exit 0: a file
# rotated (copytruncate), copied over or appended to while it loads; a SQLite
# load that waits for the write lock while its file is truncated; the wrong
# --collector, then the right one; a --rejects file that is also an input; a
# rejects file that repeated CronJob runs used to truncate.
. "$(dirname "$0")/lib.sh"
: "${SCLI_GEN:?}"

rows=400000
"$SCLI_GEN" --rows "$rows" --seed 12 --customers 6 --days 5 >"$WORK/big.csv"
unique=$(cut -d, -f1,3 "$WORK/big.csv" | sort -u | wc -l) # scli-gen adds 1 % duplicates

# total DB: the number of events stored (sum of every customer's counts)
stored_total() {
	"$SCLI" count --from 2021-02-01 --to 2021-04-01 --format csv --skip-empty |
		awk -F, 'NR > 1 { s += $3 } END { print s + 0 }'
}

# wait_reading PID FILE: until PID has FILE open and has read part of it (not all)
wait_reading() {
	local pid=$1 file=$2 size fd pos i
	size=$(stat -c %s "$file")
	for i in $(seq 1 400); do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$file" ] || continue
			pos=$(awk '/^pos:/ { print $2 }' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)
			# the first pass hashes the file and rewinds; the ledger row appears after it
			if [ -n "$pos" ] && [ "$pos" -gt 0 ] && [ "$pos" -lt "$size" ] &&
				[ -n "$("$SCLI" loads --format json 2>/dev/null | grep '"state":"running"')" ]; then
				return 0
			fi
		done
		sleep 0.02
	done
	return 1
}

# a load that reads FILE while CHANGE runs under it: exits 1, the ledger says failed
load_while() { # load_while DESCRIPTION FILE CHANGE-COMMAND
	local what=$1 file=$2 change=$3 pid
	"$SCLI" load --collector csv --config "$file" --quiet --batch-size 5000 >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	if wait_reading "$pid" "$file"; then
		eval "$change"
	else
		fail "$what: the load never got to reading $file"
	fi
	wait "$pid"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
	expect_rc 1 "$what: the load fails"
	expect_err_has "file changed while loading" "$what: says why"
	run loads --format json --limit 1
	expect_out_has '"state":"failed"' "$what: the ledger records a failure"
}

suite() {
	run init-db
	expect_rc 0 "init-db"

	# ---- logrotate copytruncate mid-load: the rotated copy loads later, nothing lost
	cp "$WORK/big.csv" "$WORK/events.csv"
	load_while "copytruncate" "$WORK/events.csv" \
		'cp "$WORK/events.csv" "$WORK/events.1.csv"; : >"$WORK/events.csv"'
	run load --collector csv --config "$WORK/events.1.csv" --quiet
	expect_rc 0 "the rotated copy loads"
	case "$OUT" in *"already loaded"*) fail "the rotated copy was skipped: $OUT" ;; *) ok ;; esac
	expect_eq "$(stored_total)" "$unique" "after rotation every event is stored once"
	run load --collector csv --config "$WORK/events.csv" --quiet
	expect_rc 0 "the emptied file loads (nothing in it)"

	# ---- cp over the file mid-load (a different file of the same rows, shuffled)
	"$SCLI_GEN" --rows 200000 --seed 13 --customers 6 --days 5 >"$WORK/other.csv"
	"$SCLI_GEN" --rows 200000 --seed 14 --customers 6 --days 5 >"$WORK/third.csv"
	cp "$WORK/other.csv" "$WORK/over.csv"
	load_while "cp over" "$WORK/over.csv" 'cp "$WORK/third.csv" "$WORK/over.csv"'
	run load --collector csv --config "$WORK/over.csv" --quiet
	expect_rc 0 "the replaced file loads on the next run"
	case "$OUT" in *"already loaded"*) fail "the replaced file was skipped: $OUT" ;; *) ok ;; esac
	run load --collector csv --config "$WORK/other.csv" --quiet
	expect_rc 0 "the original content loads on its own"
	case "$OUT" in *"already loaded"*) fail "content never fully read was recorded as loaded: $OUT" ;; *) ok ;; esac

	# ---- appended mid-load, a half-written last line: neither a new identity nor midnight
	head -n 150000 "$WORK/other.csv" >"$WORK/grow.csv"
	load_while "append" "$WORK/grow.csv" 'printf "zed,INGEST,tx-hal" >>"$WORK/grow.csv"'
	run count --customer zed --from 2021-02-01 --to 2021-04-01 --format csv --skip-empty
	expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l)" "0" "no event from the half-written line"
	printf 'f-2,2021-03-01 04:00:00+00\n' >>"$WORK/grow.csv"
	run load --collector csv --config "$WORK/grow.csv" --quiet
	expect_rc 0 "the finished file loads"
	run count --customer zed --from 2021-02-01 --to 2021-04-01 --format csv --skip-empty
	OUT=$(printf '%s\n' "$OUT" | tr -d '\r')
	expect_out "customer_id,bucket_start,count,partial
zed,2021-03-01T04:00:00Z,1,false" "the finished line is one event at its own time"
	run count --from 2021-02-01 --to 2021-04-01 --format json --customer zed
	expect_out_has '"total":1' "and only one"

	# ---- the wrong collector first, then the right one
	printf 'wc,INGEST,w1,2021-03-01 04:00:00+00\nwc,INGEST,w2,2021-03-01 04:10:00+00\n' >"$WORK/wrong.csv"
	run load --collector json --config "$WORK/wrong.csv" --quiet
	expect_rc 3 "a CSV file read as JSON: every row rejected"
	run load --collector csv --config "$WORK/wrong.csv" --quiet
	expect_rc 0 "the right collector loads it"
	expect_out "$WORK/wrong.csv: rows_read=2 inserted=2 duplicates=0 rejected=0" "not skipped after the wrong collector"
	run load --collector csv --config "$WORK/wrong.csv" --quiet
	expect_out_has "already loaded" "the same file and collector again is skipped"
	run loads --format json --limit 3
	expect_out_has '"collector":"csv"' "loads shows the collector"
	expect_out_has '"collector":"json"' "loads shows the wrong collector too"

	# ---- --rejects that is an input: refused, the input untouched
	printf 'r,INGEST,r1,2021-03-01 04:00:00+00\nr,INGEST,r2,not-a-time\n' >"$WORK/in.csv"
	cp "$WORK/in.csv" "$WORK/in.copy"
	run load --collector csv --config "$WORK/in.csv" --rejects "$WORK/in.csv"
	expect_rc 2 "--rejects naming the input"
	expect_err_has "is also an input" "says why"
	cmp -s "$WORK/in.csv" "$WORK/in.copy" && ok || fail "the input was changed"
	ln -sf "$WORK/in.csv" "$WORK/link.csv"
	run load --collector csv --config "$WORK/link.csv" --rejects "$WORK/in.csv"
	expect_rc 2 "--rejects naming the input through a link"
	mkdir -p "$WORK/dir"
	cp "$WORK/in.csv" "$WORK/dir/a.csv"
	run load --collector csv --config "$WORK/dir" --rejects "$WORK/dir/rejects.csv"
	expect_rc 2 "--rejects inside a --config directory"
	[ ! -e "$WORK/dir/rejects.csv" ] && ok || fail "the rejects file was created in the input directory"
	run load --collector csv --config "$WORK/dir/*.csv" --rejects "$WORK/dir/rejects.csv"
	expect_rc 2 "--rejects matched by a --config glob"
	run load --collector json --config "$WORK/dir" --rejects "$WORK/dir/rejects.csv" --quiet
	expect_rc 0 "a directory of the other collector's files does not read a .csv rejects file"
	rm -f "$WORK/dir/rejects.csv"

	# ---- rejects append across runs, each row with its load id; a skipped run writes nothing
	rm -f "$WORK/rej.csv"
	run load --collector csv --config "$WORK/in.csv" --rejects "$WORK/rej.csv"
	expect_rc 3 "first run with a reject"
	first=$(printf '%s\n' "$OUT" | head -1)
	run load --collector csv --config "$WORK/in.csv" --rejects "$WORK/rej.csv"
	expect_out_has "already loaded" "second run skips"
	expect_eq "$(wc -l <"$WORK/rej.csv")" "2" "a skipped run leaves the rejects file as it was"
	run load --collector csv --config "$WORK/in.csv" --rejects "$WORK/rej.csv" --force
	expect_rc 3 "a forced run rejects again"
	expect_eq "$(head -1 "$WORK/rej.csv" | tr -d '\r')" "load_id,source,line,reason,row" "one header"
	expect_eq "$(grep -c '^load_id' "$WORK/rej.csv")" "1" "the header is written once"
	expect_eq "$(wc -l <"$WORK/rej.csv")" "3" "both runs' rejects are kept"
	ids=$(tail -n +2 "$WORK/rej.csv" | cut -d, -f1 | sort -u | wc -l)
	expect_eq "$ids" "2" "each run's rows carry their own load id"
	run loads --format json --limit 1
	last_id=$(printf '%s' "$OUT" | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -1)
	tail -1 "$WORK/rej.csv" | grep -q "^$last_id,\"$WORK/in.csv\",2,\"timestamp" && ok ||
		fail "the last reject names load $last_id, the file and line: $(tail -1 "$WORK/rej.csv")"
	rm -f "$WORK/none.csv"
	printf 'n,INGEST,n1,2021-03-01 04:00:00+00\n' >"$WORK/clean.csv"
	run load --collector csv --config "$WORK/clean.csv" --rejects "$WORK/none.csv"
	expect_rc 0 "a clean load"
	[ ! -e "$WORK/none.csv" ] && ok || fail "a load without rejects created the rejects file"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" safety) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	suite
done

# ---- SQLite: the load waits for the write lock while its file is truncated
if command -v python3 >/dev/null; then
	BACKEND=sqlite
	export SCLI_DATABASE="sqlite:$WORK/locked.sqlite"
	run init-db
	printf 'l,INGEST,l%d,2021-03-01 04:00:00+00\n' $(seq 1 1000) >"$WORK/locked.csv"
	python3 - "$WORK/locked.sqlite" "$WORK/lock-held" <<'PY' &
import sqlite3, sys, time, pathlib
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
pathlib.Path(sys.argv[2]).touch()
time.sleep(4)
db.execute("ROLLBACK")
PY
	holder=$!
	for i in $(seq 1 200); do [ -e "$WORK/lock-held" ] && break; sleep 0.02; done
	"$SCLI" load --collector csv --config "$WORK/locked.csv" --quiet >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	sleep 2 # the load has hashed the file and waits for the lock
	: >"$WORK/locked.csv"
	wait "$holder"
	wait "$pid"
	RC=$?
	ERR=$(cat "$WORK/err")
	expect_rc 1 "a load that waited for the lock while its file was emptied fails"
	expect_err_has "file changed while loading" "and says why"
	run loads --format json --limit 1
	expect_out_has '"state":"failed"' "it is not recorded as completed"
fi
finish
