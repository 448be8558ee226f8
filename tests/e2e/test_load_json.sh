# JSON loading through the CLI: every shape, messy input rejected with line and
# reason while the good objects load, same counts as the CSV of the same events.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/array.json" <<'JSON'
[
  {"customer_id": "alice", "event_type": "INGEST", "transaction_id": "j1",
   "timestamp": "2021-03-01T04:10:00Z", "properties": {"note": "braces } and \" quotes {"}},
  {"customerId": "alice", "eventType": "INGEST", "transactionId": "j2", "timestamp": 1614571800.5},
  {"customer_id": "bob", "event_type": "QUERY", "transaction_id": 42, "timestamp": "2021-03-01 05:00:00+00"}
]
JSON
printf '%s\r\n' '{"customer_id":"alice","event_type":"INGEST","transaction_id":"n1","timestamp":"2021-03-01T05:30:00Z"}' \
	'' \
	'{"customer_id":"alice","event_type":"INGEST","transaction_id":"n2","timestamp":"2021-02-30T05:30:00Z"}' \
	'{"customer_id":"alice","event_type":"INGEST","transaction_id":"n3","timestamp":"2021-03-01T05:40:00Z"' \
	'{"customer_id":"alice","event_type":"INGEST","timestamp":"2021-03-01T05:45:00Z"}' \
	'{"customer_id":"alice","event_type":"INGEST","transaction_id":"n4","timestamp":"2021-03-01T05:50:00Z"}' >"$WORK/events.ndjson"
printf '{"customer_id":"carol","event_type":"INGEST","transaction_id":"s1","timestamp":"2021-03-01T04:00:00Z"}' | gzip >"$WORK/single.json.gz"

suite() {
	run init-db
	run load --collector json --config "$WORK/array.json"
	expect_rc 0 "JSON array"
	expect_out "$WORK/array.json: rows_read=3 inserted=3 duplicates=0 rejected=0" "array report"
	run load --collector json --config "$WORK/events.ndjson" --rejects "$WORK/rej.csv"
	expect_rc 3 "NDJSON with bad objects"
	expect_out "$WORK/events.ndjson: rows_read=5 inserted=2 duplicates=0 rejected=3" "NDJSON report adds up"
	expect_err_has "events.ndjson:3: timestamp \"2021-02-30T05:30:00Z\": day is out of range for the month" "bad timestamp in NDJSON, line 3"
	expect_err_has "events.ndjson:4: " "unterminated object on line 4"
	expect_err_has "events.ndjson:5: transaction_id is missing" "missing field on line 5"
	grep -q '"n2"' "$WORK/rej.csv" && ok || fail "rejects file keeps the bad object: $(cat "$WORK/rej.csv")"
	run load --collector json --config "$WORK/single.json.gz"
	expect_out "$WORK/single.json.gz: rows_read=1 inserted=1 duplicates=0 rejected=0" "single gzip object"
	run count --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --format csv
	expect_out "$(printf 'customer_id,bucket_start,count,partial\r\nalice,2021-03-01T04:00:00Z,2,false\r\nalice,2021-03-01T05:00:00Z,2,false\r\nbob,2021-03-01T04:00:00Z,0,false\r\nbob,2021-03-01T05:00:00Z,1,false\r\ncarol,2021-03-01T04:00:00Z,1,false\r\ncarol,2021-03-01T05:00:00Z,0,false\r')" "JSON events counted"
	# the same events as CSV are duplicates: identity does not depend on the format
	printf 'alice,INGEST,j1,2021-03-01T04:10:00Z\nbob,QUERY,42,2021-03-01 05:00:00+00\n' >"$WORK/same.csv"
	run load --collector csv --config "$WORK/same.csv"
	expect_out "$WORK/same.csv: rows_read=2 inserted=0 duplicates=2 rejected=0" "numeric id 42 is the same as \"42\""
	# a directory takes *.json, *.ndjson and their .gz for the json collector
	mkdir -p "$WORK/dir"; cp "$WORK/array.json" "$WORK/dir/a.json"; cp "$WORK/same.csv" "$WORK/dir/b.csv"
	run load --collector json --config "$WORK/dir" --force
	expect_out "$WORK/dir/a.json: rows_read=3 inserted=0 duplicates=3 rejected=0" "json directory takes only JSON files"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" json) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	suite
done

# Progress shows on a terminal (script(1) gives the load one), never in a pipe.
if command -v script >/dev/null; then
	export SCLI_DATABASE="sqlite:$WORK/progress.sqlite"
	"$SCLI" init-db >/dev/null
	"${SCLI_GEN:?}" --rows 30000 --seed 5 >"$WORK/p.csv"
	script -qec "$SCLI load --collector csv --config $WORK/p.csv --batch-size 1000" /dev/null >"$WORK/tty" 2>&1
	grep -q 'rows/s' "$WORK/tty" && ok || fail "no progress on a terminal: $(head -c 300 "$WORK/tty")"
	grep -q 'rows_read=30000' "$WORK/tty" && ok || fail "final report missing on a terminal"
	run load --collector csv --config "$WORK/p.csv" --force
	case "$ERR" in *rows/s*) fail "progress printed to a pipe" ;; *) ok ;; esac
	script -qec "$SCLI load --collector csv --config $WORK/p.csv --force --quiet" /dev/null >"$WORK/tty" 2>&1
	grep -q 'rows/s' "$WORK/tty" && fail "--quiet still shows progress" || ok
fi
finish
