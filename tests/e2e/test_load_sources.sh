# Loading that loses nothing: the load ledger (skip, --force, failed loads),
# directories and globs, gzip, --report json, --max-rejects, and a corpus of
# bad rows where each one is rejected with its line and reason while the good
# rows around it load.
. "$(dirname "$0")/lib.sh"

good() { printf '%s,INGEST,%s,2021-03-01 04:%02d:00+00\n' "$1" "$2" "$3"; }

# ---- the corpus: one bad row between two good ones, each its own case ------
# name | the bad line (raw) | expected reason fragment
corpus() {
	cat <<'CASES'
too few fields|c,INGEST,t9|expected 4 fields, found 3
too many fields|c,INGEST,t9,2021-03-01 04:00:00+00,extra|expected 4 fields, found 5
empty customer|,INGEST,t9,2021-03-01 04:00:00+00|customer_id is empty
empty event type|c,,t9,2021-03-01 04:00:00+00|event_type is empty
empty transaction|c,INGEST,,2021-03-01 04:00:00+00|transaction_id is empty
empty timestamp|c,INGEST,t9,|timestamp is empty
long customer|CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC,INGEST,t9,2021-03-01 04:00:00+00|customer_id is longer than 128 bytes
impossible date|c,INGEST,t9,2021-02-29 04:00:00+00|day is out of range for the month
april 31|c,INGEST,t9,2021-04-31 04:00:00+00|day is out of range for the month
hour 24|c,INGEST,t9,2021-03-01 24:00:00+00|hour must be 00-23
minute 60|c,INGEST,t9,2021-03-01 04:60:00+00|minute must be 00-59
second 60|c,INGEST,t9,2021-03-01 04:00:60+00|second must be 00-59
offset too big|c,INGEST,t9,2021-03-01 04:00:00+24:00|offset
year 0|c,INGEST,t9,0000-03-01 04:00:00+00|year must be 0001-9999
garbage after|c,INGEST,t9,2021-03-01 04:00:00+00 junk|
ten fraction digits|c,INGEST,t9,2021-03-01 04:00:00.1234567891+00|fraction
not a time|c,INGEST,t9,yesterday|expected YYYY-MM-DD
CASES
}

suite() {
	run init-db
	expect_rc 0 "init-db"

	corpus | while IFS='|' read -r name bad reason; do
		f="$WORK/case.csv"
		{ good c "g1-$name" 1; printf '%s\n' "$bad"; good c "g2-$name" 2; } >"$f"
		"$SCLI" load --collector csv --config "$f" --rejects "$WORK/rej.csv" >"$WORK/out" 2>"$WORK/err"
		rc=$?
		[ "$rc" -eq 3 ] || echo "case '$name': exit $rc, expected 3 ($(cat "$WORK/err"))"
		grep -q "rows_read=3 inserted=2 duplicates=0 rejected=1" "$WORK/out" ||
			echo "case '$name': report $(cat "$WORK/out")"
		grep -qF "$f:2: " "$WORK/err" || echo "case '$name': no FILE:2 on stderr: $(cat "$WORK/err")"
		grep -qF -- "$reason" "$WORK/err" || echo "case '$name': reason lacks '$reason': $(cat "$WORK/err")"
		tail -n +2 "$WORK/rej.csv" | grep -qF ",2," || echo "case '$name': rejects file lacks line 2"
		grep -qF "$(printf '%s' "$bad" | sed 's/"/""/g')" "$WORK/rej.csv" ||
			echo "case '$name': rejects file lacks the original row"
	done >"$WORK/corpus-failures"
	if [ -s "$WORK/corpus-failures" ]; then fail "bad-row corpus: $(cat "$WORK/corpus-failures")"; else ok; fi

	# Control characters, invalid UTF-8 and an unterminated quote (bytes printf makes).
	{ good u u1 1; printf 'c,INGEST,t\001x,2021-03-01 04:00:00+00\n'; printf 'c,INGEST,t\377x,2021-03-01 04:00:00+00\n';
	  good u u2 2; printf 'c,INGEST,"open quote,2021-03-01 04:00:00+00\n'; } >"$WORK/bytes.csv"
	run load --collector csv --config "$WORK/bytes.csv" --rejects "$WORK/rej.csv"
	expect_rc 3 "control/UTF-8/quote rows"
	expect_out_has "rows_read=5 inserted=2 duplicates=0 rejected=3" "bytes report"
	expect_err_has "bytes.csv:2: transaction_id contains a control character" "control character"
	expect_err_has "bytes.csv:3: transaction_id is not valid UTF-8" "invalid UTF-8"
	expect_err_has "bytes.csv:5: " "unterminated quote at its start line"

	# ---- the ledger ---------------------------------------------------------
	mkdir -p "$WORK/in/sub"
	{ good a a1 1; good a a2 2; } >"$WORK/in/one.csv"
	{ good b b1 1; } | gzip >"$WORK/in/two.csv.gz"
	good z z1 1 >"$WORK/in/notes.txt"     # not a CSV: ignored in a directory
	good s s1 1 >"$WORK/in/sub/deep.csv" # subdirectories are not walked
	run load --collector csv --config "$WORK/in" --report json
	expect_rc 0 "directory load"
	expect_out_has '"source":"'"$WORK"'/in/one.csv","status":"completed"' "directory: one.csv loaded"
	expect_out_has '"source":"'"$WORK"'/in/two.csv.gz","status":"completed"' "directory: gzip file loaded"
	expect_out_has '"total":{"rows_read":3,"inserted":3,"duplicates":0,"rejected":0}' "directory total"
	case "$OUT" in *notes.txt*|*deep.csv*) fail "directory load took a file it should not: $OUT" ;; *) ok ;; esac

	run load --collector csv --config "$WORK/in/*.csv*"
	expect_rc 0 "glob load of loaded files"
	expect_out_has "one.csv: already loaded (load" "glob: one.csv skipped"
	expect_out_has "two.csv.gz: already loaded (load" "glob: two.csv.gz skipped"
	run load --collector csv --config "$WORK/in/nothing-*.csv"
	expect_rc 1 "a glob that matches nothing"
	expect_err_has "no file matches" "glob message"

	# a failed load is recorded as failed and never counts as loaded
	{ good m m1 1; good m m2 2; printf 'bad row\n'; printf 'bad row\n'; good m m3 3; } >"$WORK/max.csv"
	run load --collector csv --config "$WORK/max.csv" --max-rejects 1 --batch-size 2
	expect_rc 1 "--max-rejects exceeded"
	expect_err_has "more than 1 rows rejected" "--max-rejects message"
	run count --customer m --from 2021-03-01T04:00:00Z --to 2021-03-01T05:00:00Z --format csv
	expect_out_has "m,2021-03-01T04:00:00Z,2,false" "committed batches stay after --max-rejects"
	run loads --format json --limit 1
	expect_out_has '"state":"failed"' "the stopped load is recorded as failed"
	expect_out_has '"error":"more than 1 rows rejected' "the failure reason is recorded"
	run load --collector csv --config "$WORK/max.csv" --max-rejects 5
	expect_rc 3 "a failed file is not skipped on the next run"
	expect_out_has "rows_read=5 inserted=1 duplicates=2 rejected=2" "re-run ends exact"

	# a pipe (process substitution, FIFO) is read once and never hashed: its rows load,
	# and the same bytes in a real file are not taken as "already loaded"
	{ good p p1 1; good p p2 2; } >"$WORK/piped.csv"
	"$SCLI" load --collector csv --config <(cat "$WORK/piped.csv") >"$WORK/out" 2>"$WORK/err"
	RC=$?; OUT=$(cat "$WORK/out")
	expect_rc 0 "load from a pipe"
	expect_out_has "rows_read=2 inserted=2 duplicates=0 rejected=0" "a pipe's rows are loaded"
	run load --collector csv --config "$WORK/piped.csv"
	expect_out "$WORK/piped.csv: rows_read=2 inserted=0 duplicates=2 rejected=0" "the file after the pipe: loaded, all duplicates"

	# --report json keeps the load's own failure reason
	run load --collector csv --config "$WORK/max.csv" --max-rejects 0 --report json --force --quiet
	expect_rc 1 "json report of a failed load"
	expect_out_has '"error":"more than 0 rows rejected' "the JSON report names the real failure"
	expect_err_has "more than 0 rows rejected" "so does stderr"

	run loads
	expect_rc 0 "loads"
	expect_out_has "completed" "loads lists completed loads"
	expect_out_has "failed" "loads lists failed loads"
	expect_out_has "$WORK/in/one.csv" "loads names sources"
	run loads --limit 0
	expect_rc 2 "loads --limit 0"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" sources) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	suite
done
finish
