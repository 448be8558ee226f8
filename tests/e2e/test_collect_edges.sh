# Edges of reading input, through the CLI: JSON ids given as numbers stay the
# digits as written (a double would round those above 2^53 and merge two
# transactions), numeric timestamps are exact to the microsecond, and one stray
# CSV quote hides nothing after it (files and stdin).
. "$(dirname "$0")/lib.sh"

# ---- JSON numbers -----------------------------------------------------------
obj() { # obj CUSTOMER TX TIMESTAMP: one NDJSON line, values as given (JSON text)
	printf '{"customer_id":%s,"event_type":"INGEST","transaction_id":%s,"timestamp":%s}\n' "$1" "$2" "$3"
}
{
	obj '"big"' 9007199254740992 '"2021-03-01T04:00:00Z"'
	obj '"big"' 9007199254740993 '"2021-03-01T04:10:00Z"'
	obj '"big"' 18446744073709551617 '"2021-03-01T04:20:00Z"'
	obj '"big"' 18446744073709551616 '"2021-03-01T04:30:00Z"'
	obj 9007199254740993 '"x"' '"2021-03-01T04:00:00Z"'
	obj 9007199254740992 '"x"' '"2021-03-01T04:00:00Z"'
	obj -5 '"x"' '"2021-03-01T04:00:00Z"'
	obj '"us"' '"u1"' 1614571267.1234569
	obj '"big"' 1.5 '"2021-03-01T04:00:00Z"'
	obj '"big"' 1e3 '"2021-03-01T04:00:00Z"'
} >"$WORK/ids.ndjson"

count_of() { # count_of CUSTOMER FROM TO: the count of one bucket-sized range
	run count --customer "$1" --from "$2" --to "$3" --format csv
	printf '%s\n' "$OUT" | awk -F, 'NR > 1 { n += $3 } END { print n + 0 }'
}

json_suite() {
	run init-db
	run load --collector json --config "$WORK/ids.ndjson"
	expect_rc 3 "JSON ids: the fraction and the exponent are rejected"
	expect_out "$WORK/ids.ndjson: rows_read=10 inserted=8 duplicates=0 rejected=2" "ids above 2^53 stay apart"
	expect_err_has "ids.ndjson:9: transaction_id is a number with a fraction or an exponent; send it as a string" "1.5 rejected"
	expect_err_has "ids.ndjson:10: transaction_id is a number with a fraction or an exponent; send it as a string" "1e3 rejected"
	expect_eq "$(count_of big 2021-03-01T04:00:00Z 2021-03-01T05:00:00Z)" 4 "four transactions of 'big', none merged"
	expect_eq "$(count_of 9007199254740993 2021-03-01T04:00:00Z 2021-03-01T05:00:00Z)" 1 "customer 9007199254740993 keeps its event"
	expect_eq "$(count_of 9007199254740992 2021-03-01T04:00:00Z 2021-03-01T05:00:00Z)" 1 "customer 9007199254740992 keeps its event"
	expect_eq "$(count_of -5 2021-03-01T04:00:00Z 2021-03-01T05:00:00Z)" 1 "a negative id keeps its sign"
	# 1614571267.1234569 is 04:01:07.123456 (extra digits truncated, as in a text timestamp)
	expect_eq "$(count_of us 2021-03-01T04:01:07.123456Z 2021-03-01T04:01:07.123457Z)" 1 "numeric timestamp exact to the microsecond"
	# the same ids as CSV text are the same events: nothing new
	printf 'big,INGEST,9007199254740993,2021-03-01T04:10:00Z\n9007199254740993,INGEST,x,2021-03-01T04:00:00Z\n' >"$WORK/ids.csv"
	run load --collector csv --config "$WORK/ids.csv"
	expect_out "$WORK/ids.csv: rows_read=2 inserted=0 duplicates=2 rejected=0" "a numeric id is its digits as text"
}

# ---- a stray CSV quote --------------------------------------------------------
rows() { # rows PREFIX N: N good rows with transaction ids PREFIX1..PREFIXN
	awk -v p="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) printf "c%d,INGEST,%s%d,2021-03-01T%02d:%02d:00Z\n", i % 5, p, i, i % 24, i % 60 }'
}
{
	printf 'c1,e,"t0,2021-03-01T00:00:00Z\n'
	rows f 100000
} >"$WORK/stray.csv"
# line numbers after the stray quote: a bad row at line 60003, another on the last line
{
	rows g 2
	printf 'c1,e,"t0,2021-03-01T00:00:00Z\r\n'
	rows h 60000 | sed '60000s/.*/c1,INGEST,h60000,2021-02-30/'
	printf 'c1,INGEST,hlast,2021-13-01\n'
} >"$WORK/lines.csv"
# the stray quote in a row near the end, the file ending with the quote still open
{
	rows k 2
	printf 'c1,e,"t0,2021-03-01T00:00:00Z\n'
	rows m 2
} >"$WORK/tail.csv"

csv_suite() {
	run init-db
	run load --collector csv --config "$WORK/stray.csv" --rejects "$WORK/rej.csv"
	expect_rc 3 "stray quote"
	expect_out "$WORK/stray.csv: rows_read=100001 inserted=100000 duplicates=0 rejected=1" "one stray quote hides nothing"
	expect_err_has "stray.csv:1: quoted field still open after 1048576 bytes (a stray quote?); reading resumes at the next line" "the stray line, by number"
	grep -q 't0,2021-03-01T00:00:00Z' "$WORK/rej.csv" && ok || fail "rejects file lacks the stray line: $(head -c 300 "$WORK/rej.csv")"
	run load --collector csv --config "$WORK/lines.csv"
	expect_rc 3 "stray quote, then bad rows"
	expect_out "$WORK/lines.csv: rows_read=60004 inserted=60001 duplicates=0 rejected=3" "rows after the stray quote all read"
	expect_err_has "lines.csv:3: quoted field still open after 1048576 bytes" "stray line 3"
	expect_err_has "lines.csv:60003: timestamp \"2021-02-30\"" "line number of a reject after the stray quote"
	expect_err_has "lines.csv:60004: timestamp \"2021-13-01\"" "line number of the last line"
	run load --collector csv --config "$WORK/tail.csv"
	expect_rc 3 "quote open at the end of the file"
	expect_out "$WORK/tail.csv: rows_read=5 inserted=4 duplicates=0 rejected=1" "the rows after an unterminated quote are read"
	expect_err_has "tail.csv:3: unterminated quoted field; reading resumes at the next line" "unterminated quote, by line"
	# stdin: nothing can be re-read from a pipe, and nothing needs to be
	{
		printf 'c1,e,"t0,2021-03-01T00:00:00Z\n'
		rows p 100000
	} | "$SCLI" load --collector csv --config - >"$WORK/out" 2>"$WORK/err"
	RC=$?; OUT=$(cat "$WORK/out"); ERR=$(cat "$WORK/err")
	expect_rc 3 "stray quote on stdin"
	expect_out "<stdin>: rows_read=100001 inserted=100000 duplicates=0 rejected=1" "one stray quote hides nothing on stdin"
	expect_err_has "<stdin>:1: quoted field still open after 1048576 bytes" "the stray line on stdin"
	expect_eq "$(count_of c1 2021-03-01T00:00:00Z 2021-03-02T00:00:00Z)" 52003 "every row counted"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" edges) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	json_suite
	csv_suite
done
finish
