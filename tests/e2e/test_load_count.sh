# Load and count as a user does: exact counts in every format, dedupe across
# loads, rejects reported with file and line, exit codes.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/events.csv" <<'CSV'
customer_id,event_type,transaction_id,timestamp
alice,INGEST,t1,2021-03-01 04:10:00+00
alice,INGEST,t2,2021-03-01T04:59:59.999999Z
alice,INGEST,t3,2021-03-01 05:00:00+00
alice,QUERY,t4,2021-03-01 05:30:00.5+00
alice,INGEST,t5,2021-03-01T07:29:59Z
alice,INGEST,t6,2021-03-01T07:30:00Z
"bob, inc",INGEST,"id with ""quotes""",2021-03-01 04:30:00+00
bob,INGEST,t1,2021-03-01T06:15:00+01:00
CSV

suite() {
run init-db
expect_rc 0 "init-db"
run load --collector csv --config "$WORK/events.csv"
expect_rc 0 "load"
expect_out "$WORK/events.csv: rows_read=8 inserted=8 duplicates=0 rejected=0" "load report"

# alice over [04:00, 07:30): 04 → 2, 05 → 2, 06 → 0 (listed), 07 → 1 partial (07:30 excluded)
run count --customer alice --from 2021-03-01T04:00:00Z --to 2021-03-01T07:30:00Z --format csv
expect_rc 0 "count csv"
expect_out "$(printf 'customer_id,bucket_start,count,partial\r\nalice,2021-03-01T04:00:00Z,2,false\r\nalice,2021-03-01T05:00:00Z,2,false\r\nalice,2021-03-01T06:00:00Z,0,false\r\nalice,2021-03-01T07:00:00Z,1,true\r')" "count csv output"

run count --customer alice --from "2021-03-01 04:00" --to 2021-03-01T07:30:00Z --format json --skip-empty
expect_rc 0 "count json"
expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T07:30:00Z","window":"hour","time_zone":"UTC","customers":[{"customer_id":"alice","total":5,"buckets":[{"start":"2021-03-01T04:00:00Z","count":2,"partial":false},{"start":"2021-03-01T05:00:00Z","count":2,"partial":false},{"start":"2021-03-01T07:00:00Z","count":1,"partial":true}]}]}' "count json output with --skip-empty"

# Half-open at microsecond precision: [04:59:59.999999, 05:00:00) holds t2 only.
run count --customer alice --from 2021-03-01T04:59:59.999999Z --to 2021-03-01T05:00:00Z --format csv
expect_out_has "alice,2021-03-01T04:00:00Z,1,true" "microsecond edge"

run count --customer alice --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z
expect_rc 0 "count table"
expect_out_has "alice                             2021-03-01T05:00:00Z                  2" "table row"
expect_out_has "total" "table total"

# All customers: every customer with an event in range, sorted, one shape.
run count --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --format csv --skip-empty
expect_out "$(printf 'customer_id,bucket_start,count,partial\r\nalice,2021-03-01T04:00:00Z,2,false\r\nalice,2021-03-01T05:00:00Z,2,false\r\nbob,2021-03-01T05:00:00Z,1,false\r\n"bob, inc",2021-03-01T04:00:00Z,1,false\r')" "all customers, offsets normalised to UTC, RFC 4180 quoting"

# A customer with no events still appears, with zeros.
run count --customer nobody --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --format json
expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T06:00:00Z","window":"hour","time_zone":"UTC","customers":[{"customer_id":"nobody","total":0,"buckets":[{"start":"2021-03-01T04:00:00Z","count":0,"partial":false},{"start":"2021-03-01T05:00:00Z","count":0,"partial":false}]}]}' "unknown customer listed with zeros"

# Loading the same file again changes nothing; duplicates are not errors.
run count --from 2021-03-01 --to 2021-03-02 --format csv
before=$OUT
run load --collector csv --config "$WORK/events.csv"
expect_rc 0 "reload"
expect_out "$WORK/events.csv: already loaded (load 1), skipped; --force loads it again" "reload of the same content is skipped"
run load --collector csv --config "$WORK/events.csv" --force
expect_rc 0 "forced reload"
expect_out "$WORK/events.csv: rows_read=8 inserted=0 duplicates=8 rejected=0" "forced reload: all duplicates"
run count --from 2021-03-01 --to 2021-03-02 --format csv
expect_eq "$OUT" "$before" "counts unchanged after reload"

# A duplicate with another timestamp does not move the count (first one stored wins).
printf 'alice,INGEST,t1,2021-03-01 09:00:00+00\n' >"$WORK/dup.csv"
run load --collector csv --config "$WORK/dup.csv"
expect_out "$WORK/dup.csv: rows_read=1 inserted=0 duplicates=1 rejected=0" "duplicate with other timestamp"
run count --from 2021-03-01 --to 2021-03-02 --format csv
expect_eq "$OUT" "$before" "first stored wins"

# Bad rows: rejected with file, line and reason; the good rows load; exit 3.
cat >"$WORK/bad.csv" <<'CSV'
carol,INGEST,c1,2021-03-01 04:00:00+00
carol,INGEST,c2,2021-02-29 04:00:00+00

carol,INGEST,c3
,INGEST,c4,2021-03-01 04:00:00+00
carol,INGEST,c5,2021-03-01 04:05:00+00
CSV
rm -f "$WORK/rejects.csv" # it is appended to
run load --collector csv --config "$WORK/bad.csv" --rejects "$WORK/rejects.csv"
expect_rc 3 "load with rejects"
expect_out "$WORK/bad.csv: rows_read=5 inserted=2 duplicates=0 rejected=3" "rejects report adds up"
expect_err_has "scli: error: $WORK/bad.csv:2: " "reject line 2 reported"
expect_err_has "$WORK/bad.csv:4: " "reject line 4 reported (blank line counted)"
expect_err_has "$WORK/bad.csv:5: " "reject line 5 reported"
expect_eq "$(head -1 "$WORK/rejects.csv" | tr -d '\r')" "load_id,source,line,reason,row" "rejects header"
expect_eq "$(wc -l <"$WORK/rejects.csv")" "4" "rejects file has every rejected row"
grep -q ',2,.*"carol,INGEST,c2,2021-02-29 04:00:00+00"' "$WORK/rejects.csv" && ok || fail "rejects file keeps the original row: $(cat "$WORK/rejects.csv")"
run count --customer carol --from 2021-03-01T04:00:00Z --to 2021-03-01T05:00:00Z --format csv
expect_out_has "carol,2021-03-01T04:00:00Z,2,false" "good rows of a file with rejects are counted"

# Several files and standard input in one load, one total.
printf 'dave,INGEST,d1,2021-03-01 04:00:00+00\n' >"$WORK/d1.csv"
printf 'dave,INGEST,d2,2021-03-01 04:00:00+00\ndave,INGEST,d1,2021-03-01 04:00:00+00\n' | \
	"$SCLI" load --collector csv --config "$WORK/d1.csv" --config - >"$WORK/out" 2>"$WORK/err"
RC=$?; OUT=$(cat "$WORK/out")
expect_rc 0 "load of a file and stdin"
expect_out_has "<stdin>: rows_read=2 inserted=1 duplicates=1 rejected=0" "stdin report"
expect_out_has "total: rows_read=3 inserted=2 duplicates=1 rejected=0" "total report"

# gzip input is read decompressed.
printf 'erin,INGEST,e1,2021-03-01 04:00:00+00\n' | gzip >"$WORK/e.csv.gz"
run load --collector csv --config "$WORK/e.csv.gz"
expect_out "$WORK/e.csv.gz: rows_read=1 inserted=1 duplicates=0 rejected=0" "gzip load"

# A missing input file is a runtime error naming it.
run load --collector csv --config "$WORK/nope.csv"
expect_rc 1 "missing input"
expect_err_has "$WORK/nope.csv" "missing input named"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" loadcount) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	suite
done
finish
