# Windows, time zones and event types through the binary and over HTTP, on
# SQLite and PostgreSQL: New York's clocks going back on 2021-11-07 (the two
# 01:00 hours, the 25-hour day) and forward on 2021-03-14 (a skipped --from),
# every window size, Asia/Kolkata and a fixed offset, event-type filters and
# group-by, repeated customers, the three formats, and the HTTP routes giving
# the CLI's bytes (JSON and CSV, tz encoded as Python and JS encode it).
# Every count here is checked by hand against the events below.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
command -v curl >/dev/null || { [ "${CI:-}" = "true" ] && { echo "FAIL: no curl in CI" >&2; exit 1; }; echo "SKIP: no curl"; exit 77; }
[ -f /usr/share/zoneinfo/America/New_York ] || { [ "${CI:-}" = "true" ] && { echo "FAIL: no tzdata in CI" >&2; exit 1; }; echo "SKIP: no tzdata"; exit 77; }

# New York, 2021-11-07: 02:00 EDT (06:00Z) becomes 01:00 EST. Wall clock in the comments.
# New York's fall-back day, 2021-11-07 (tests/fixtures: shared with the other DST tests)
cp "${SCLI_SOURCE_DIR:?}/tests/fixtures/dst_new_york_2021-11-07.csv" "$WORK/dst.csv"
# t1 00:30 EDT, t2 01:15 EDT, t3 01:45 EDT, t4 01:10 EST, t5 01:50 EST, t6 02:20 EST,
# t7 23:59:59 EST (still the 7th), t8 00:00 EST on the 8th; b1 01:30 EST.
NY="--tz America/New_York"

for BACKEND in $BACKENDS; do
DB=$(fresh_db "$BACKEND" windows) || { fail "cannot create a database"; continue; }
run --database "$DB" init-db
run --database "$DB" load --collector csv --config "$WORK/dst.csv" --quiet
expect_rc 0 "load"
c() { run --database "$DB" count "$@"; }

# --- the two 01:00 hours -----------------------------------------------------------
c --customer acme --from 2021-11-07T00:00 --to 2021-11-07T03:00 --window hour $NY --format csv
expect_rc 0 "hours across the change"
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' \
	'acme,2021-11-07T00:00:00-04:00,1,false' 'acme,2021-11-07T01:00:00-04:00,2,false' \
	'acme,2021-11-07T01:00:00-05:00,2,false' 'acme,2021-11-07T02:00:00-05:00,1,false')" "two 01:00 hours, each with its offset"
c --customer acme --from 2021-11-07T01:00 --to 2021-11-07T02:00 $NY --format json
expect_out '{"from":"2021-11-07T01:00:00-04:00","to":"2021-11-07T02:00:00-05:00","window":"hour","time_zone":"America/New_York","customers":[{"customer_id":"acme","total":4,"buckets":[{"start":"2021-11-07T01:00:00-04:00","count":2,"partial":false},{"start":"2021-11-07T01:00:00-05:00","count":2,"partial":false}]}]}' "JSON: a repeated wall-clock --from is the earlier instant"
c --customer acme --from 2021-11-07T01:30 --to 2021-11-07T01:30-05:00 $NY --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' \
	'acme,2021-11-07T01:00:00-04:00,1,true' 'acme,2021-11-07T01:00:00-05:00,1,true')" "both 01:00 hours cut: partial"

# --- the 25-hour day, months, minutes ------------------------------------------------
c --from 2021-11-06 --to 2021-11-09 --window day $NY --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' \
	'acme,2021-11-06T00:00:00-04:00,0,false' 'acme,2021-11-07T00:00:00-04:00,7,false' 'acme,2021-11-08T00:00:00-05:00,1,false' \
	'beta,2021-11-06T00:00:00-04:00,0,false' 'beta,2021-11-07T00:00:00-04:00,1,false' 'beta,2021-11-08T00:00:00-05:00,0,false')" "the 25-hour day holds 23:59:59 EST"
c --from 2021-11-07 --to 2021-11-08 --window day --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-07T00:00:00Z,6,false' 'beta,2021-11-07T00:00:00Z,1,false')" "the same day in UTC"
c --customer acme --from 2021-11-01 --to 2021-12-01 --window month $NY --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-01T00:00:00-04:00,8,false')" "a month in New York"
c --customer acme --from 2021-11-15 --to 2022-01-01 --window month $NY --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-01T00:00:00-04:00,0,true' 'acme,2021-12-01T00:00:00-05:00,0,false')" "months: the first cut, offsets of each"
c --customer acme --from 2021-11-07T01:15 --to 2021-11-07T01:17 --window minute $NY --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-07T01:15:00-04:00,1,false' 'acme,2021-11-07T01:16:00-04:00,0,false')" "minutes"

# --- zones with odd offsets ----------------------------------------------------------------
c --customer acme --from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz Asia/Kolkata --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-07T10:00:00+05:30,2,false' 'acme,2021-11-07T11:00:00+05:30,2,false')" "Kolkata hours start at :30 UTC"
c --customer acme --from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30 --format json
expect_out_has '"time_zone":"+05:30"' "a fixed offset names itself"
expect_out_has '{"start":"2021-11-07T11:00:00+05:30","count":2,"partial":false}' "a fixed offset counts like Kolkata"

# --- event types, group-by, repeated and missing customers ------------------------------------
c --customer acme --from 2021-11-07 --to 2021-11-08 $NY --window day --event-type storage --format json
expect_out '{"from":"2021-11-07T00:00:00-04:00","to":"2021-11-08T00:00:00-05:00","window":"day","time_zone":"America/New_York","event_types":["storage"],"customers":[{"customer_id":"acme","total":1,"buckets":[{"start":"2021-11-07T00:00:00-04:00","count":1,"partial":false}]}]}' "--event-type filters; event_types listed"
c --from 2021-11-07 --to 2021-11-08 $NY --window day --group-by event_type --format csv
expect_out "$(printf '%s\r\n' 'customer_id,event_type,bucket_start,count,partial' 'acme,api_call,2021-11-07T00:00:00-04:00,6,false' \
	'acme,storage,2021-11-07T00:00:00-04:00,1,false' 'beta,storage,2021-11-07T00:00:00-04:00,1,false')" "group-by: a series per customer and type with events"
c --from 2021-11-07 --to 2021-11-08 $NY --window day --group-by event_type --event-type storage --event-type login --event-type storage --format json
expect_out '{"from":"2021-11-07T00:00:00-04:00","to":"2021-11-08T00:00:00-05:00","window":"day","time_zone":"America/New_York","event_types":["login","storage"],"customers":[{"customer_id":"acme","event_type":"login","total":0,"buckets":[{"start":"2021-11-07T00:00:00-04:00","count":0,"partial":false}]},{"customer_id":"acme","event_type":"storage","total":1,"buckets":[{"start":"2021-11-07T00:00:00-04:00","count":1,"partial":false}]},{"customer_id":"beta","event_type":"login","total":0,"buckets":[{"start":"2021-11-07T00:00:00-04:00","count":0,"partial":false}]},{"customer_id":"beta","event_type":"storage","total":1,"buckets":[{"start":"2021-11-07T00:00:00-04:00","count":1,"partial":false}]}]}' "named types appear with zeros, once each"
c --customer nobody --customer acme --customer acme --from 2021-11-07 --to 2021-11-08 $NY --window day --format csv
expect_out "$(printf '%s\r\n' 'customer_id,bucket_start,count,partial' 'acme,2021-11-07T00:00:00-04:00,7,false' 'nobody,2021-11-07T00:00:00-04:00,0,false')" "repeated customers once, a missing one with zeros, sorted"
c --customer nobody --from 2021-11-07 --to 2021-11-08 --window day --group-by event_type --format json
expect_out_has '{"customer_id":"nobody","event_type":null,"total":0,' "group-by: a named customer without events still appears"
c --customer acme --from 2021-11-07 --to 2021-11-08 $NY --window day --group-by event_type
expect_rc 0 "group-by table"
expect_out_has "event_type  bucket_start" "the table has an event_type column"
expect_out_has "storage     2021-11-07T00:00:00-04:00" "the table's event_type column is padded"

# --- usage errors ----------------------------------------------------------------------------------
c --from 2021-03-14T02:30 --to 2021-03-15 $NY
expect_rc 2 "a skipped --from"
expect_err_has "--from: 2021-03-14T02:30 does not exist in America/New_York" "the gap is named"
c --from 2021-03-14 --to 2021-03-14T02:00:30 $NY
expect_rc 2 "a skipped --to"
expect_err_has "--to: 2021-03-14T02:00:30 does not exist" "the --to gap is named"
c --from 2021-03-14 --to 2021-03-15 --tz Mars/Base
expect_rc 2 "unknown zone"
expect_err_has "--tz: unknown time zone" "unknown zone message"
c --from 2021-03-14 --to 2021-03-15 --tz ../../etc/passwd
expect_rc 2 "a path is no zone"
c --from 2021-03-14 --to 2021-03-15 --window week
expect_rc 2 "bad window"
expect_err_has "unknown window 'week' (minute, hour, day or month)" "bad window message"
c --from 2021-03-14 --to 2021-03-15 --group-by customer
expect_rc 2 "bad group-by"
c --from 2021-03-14 --to 2021-03-15 --event-type ""
expect_rc 2 "empty event type"
expect_err_has "--event-type: event type is empty" "empty event type message"
c --from 2000-01-01 --to 2021-01-01 --window minute
expect_rc 2 "too many minutes"
expect_err_has "100000" "the limit is named"
c --from 2000-01-01 --to 2021-01-01 --window month --format csv
expect_rc 0 "252 months are fine"

# --- HTTP: the same bytes as the CLI ---------------------------------------------------------------------
if start_server; then
	U=/v1/usage
	same_as_cli "$U?from=2021-11-07T00:00&to=2021-11-07T03:00&tz=America%2FNew_York&customer=acme" "hours, tz %2F" json \
		--customer acme --from 2021-11-07T00:00 --to 2021-11-07T03:00 $NY
	same_as_cli "$U?from=2021-11-07T00:00&to=2021-11-07T03:00&tz=America/New_York" "tz with a plain /" json \
		--from 2021-11-07T00:00 --to 2021-11-07T03:00 $NY
	same_as_cli "/v1/customers/acme/usage?from=2021-11-06&to=2021-11-09&window=day&tz=America%2FNew_York" "per customer, days" json \
		--customer acme --from 2021-11-06 --to 2021-11-09 --window day $NY
	same_as_cli "$U?from=2021-11-07&to=2021-11-08&window=day&tz=America%2FNew_York&group_by=event_type&event_type=storage&event_type=login" "group-by and types" json \
		--from 2021-11-07 --to 2021-11-08 --window day $NY --group-by event_type --event-type storage --event-type login
	same_as_cli "$U?from=2021-11-07&to=2021-11-08&window=day&customer=nobody&customer=acme&customer=acme&skip_empty=true" "repeated customers, skip_empty" json \
		--from 2021-11-07 --to 2021-11-08 --window day --customer nobody --customer acme --skip-empty
	same_as_cli "$U?from=2021-11-07&to=2021-11-08&window=day&tz=America%2FNew_York" "Accept: text/csv" csv \
		--from 2021-11-07 --to 2021-11-08 --window day $NY -- -H 'Accept: text/csv'
	expect_eq "$(header Content-Type)" "text/csv; charset=utf-8" "CSV content type"
	same_as_cli "$U?from=2021-11-07&to=2021-11-08&window=day&group_by=event_type&format=csv" "format=csv" csv \
		--from 2021-11-07 --to 2021-11-08 --window day --group-by event_type
	same_as_cli "$U?from=2021-11-07&to=2021-11-08&format=json" "format=json wins over Accept" json \
		--from 2021-11-07 --to 2021-11-08 -- -H 'Accept: text/csv'
	same_as_cli "$U?from=2021-11-07&to=2021-11-08" "Accept: application/json before text/csv" json \
		--from 2021-11-07 --to 2021-11-08 -- -H 'Accept: application/json, text/csv'
	same_as_cli "$U?from=2021-11-07&to=2021-11-08" "text/csv;q=0 is refused" json \
		--from 2021-11-07 --to 2021-11-08 -- -H 'Accept: text/csv;q=0, */*'
	same_as_cli "/v1/hourly?from=2021-11-07&to=2021-11-08" "/v1/hourly answers CSV too" csv \
		--from 2021-11-07 --to 2021-11-08 -- -H 'Accept: text/csv'
	same_as_cli "$U?from=2021-11-07T10:00&to=2021-11-07T12:00&tz=%2B05%3A30" "tz=+05:30 encoded" json \
		--from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30
	same_as_cli "$U?from=2021-11-07T10:00&to=2021-11-07T12:00&tz=+05:30" "tz=+05:30 typed by hand" json \
		--from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30
	same_as_cli "$U?from=2021-11-07T10:00&to=2021-11-07T12:00&tz=+0530" "tz=+0530 typed by hand" json \
		--from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +0530
	q=$(python3 -c 'import urllib.parse; print(urllib.parse.urlencode([("from", "2021-11-07 00:00"), ("to", "2021-11-07T02:00:00-05:00"), ("tz", "America/New_York"), ("event_type", "api_call"), ("customer", "acme"), ("window", "minute")]))')
	same_as_cli "$U?$q" "Python urlencode ($q)" json \
		--from "2021-11-07 00:00" --to 2021-11-07T02:00:00-05:00 $NY --event-type api_call --customer acme --window minute
	q=$(python3 -c 'import urllib.parse; print(urllib.parse.urlencode({"from": "2021-11-07T10:00", "to": "2021-11-07T12:00", "tz": "+05:30"}))')
	same_as_cli "$U?$q" "Python urlencode of +05:30 ($q)" json --from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30
	if command -v node >/dev/null; then
		q=$(node -e 'console.log(new URLSearchParams([["from", "2021-11-07 01:30"], ["to", "2021-11-07T01:30-05:00"], ["tz", "America/New_York"]]).toString())')
		same_as_cli "$U?$q" "JS URLSearchParams ($q)" json --from "2021-11-07 01:30" --to 2021-11-07T01:30-05:00 $NY
		q=$(node -e 'console.log("from=" + encodeURIComponent("2021-11-07T10:00") + "&to=2021-11-07T12:00&tz=" + encodeURIComponent("+05:30"))')
		same_as_cli "$U?$q" "JS encodeURIComponent ($q)" json --from 2021-11-07T10:00 --to 2021-11-07T12:00 --tz +05:30
	else
		echo "note: no node; JS encodings not checked" >&2
	fi
	for i in 1 2 3; do # the cached zone answers like the first load
		same_as_cli "$U?from=2021-11-07&to=2021-11-09&window=day&tz=America%2FNew_York" "cached zone, request $i" json \
			--from 2021-11-07 --to 2021-11-09 --window day $NY
	done

	get "$U?from=2021-11-07&to=2021-11-08&tz=Mars%2FBase"
	expect_error 400 'tz: unknown time zone \"Mars/Base\"' "unknown zone: 400"
	get "$U?from=2021-11-07&to=2021-11-08&tz=%01%FF"
	expect_error 400 "tz: unknown time zone" "binary zone name: 400, not echoed"
	case "$BODY" in *$'\x01'*) fail "control character echoed: $BODY" ;; *) ok ;; esac
	get "$U?from=2021-03-14T02:30&to=2021-03-15&tz=America%2FNew_York"
	expect_error 400 "from: 2021-03-14T02:30 does not exist in America/New_York (clocks went from 02:00 to 03:00)" "a skipped from: 400 naming the gap"
	get "$U?from=2021-11-07&to=2021-11-08&window=week"
	expect_error 400 "window must be minute, hour, day or month, not 'week'" "bad window: 400"
	get "$U?from=2021-11-07&to=2021-11-08&group_by=customer"
	expect_error 400 "group_by can only be event_type" "bad group_by: 400"
	get "$U?from=2021-11-07&to=2021-11-08&format=xml"
	expect_error 400 "format must be json or csv" "bad format: 400"
	get "$U?from=2021-11-07&to=2021-11-08&event_type="
	expect_error 400 "event_type is empty" "empty event type: 400"
	get "/v1/customers/acme/usage?from=2021-11-07&to=2021-11-08&customer=beta"
	expect_error 400 "unknown parameter 'customer'" "customer on a customer's route"
	get "/v1/hourly?from=2021-11-07&to=2021-11-08&tz=America%2FNew_York"
	expect_error 400 "unknown parameter 'tz' (from, to, skip_empty)" "/v1/hourly stays hourly UTC"
	get "$U?from=2021-11-07&to=2021-11-08&tz=UTC&tz=UTC"
	expect_error 400 "given more than once" "tz twice"
	get "$U?from=2000-01-01&to=2021-01-01&window=minute"
	expect_error 400 "100000" "too many minutes: 400"
	get /metrics
	case "$BODY" in *'scli_http_requests_total{route="/v1/usage",status="200"}'*) ok ;; *) fail "/v1/usage in metrics" ;; esac
	stop_server
	expect_eq "$SERVER_RC" "0" "server exits 0"
fi
done

# --- the README's example runs as written and prints what the README shows ----------------------------
if [ -n "${SCLI_SOURCE_DIR:-}" ]; then
	awk '/^### Windows, time zones and event types/ { f = 1 } f && /^```sh/ { g = 1; next } g && /^```/ { exit } g' \
		"$SCLI_SOURCE_DIR/README.md" >"$WORK/readme.sh"
	awk '/^### Windows, time zones and event types/ { f = 1 } f && /^```sh/ { g = 1 } g && /^```$/ { n++; next } n == 2 { print } n == 3 { exit }' \
		"$SCLI_SOURCE_DIR/README.md" >"$WORK/readme.expected"
	mkdir "$WORK/readme"
	got=$(cd "$WORK/readme" && scli() { "$SCLI" "$@"; } && export -f scli && export SCLI && bash "$WORK/readme.sh" 2>&1 | tr -d '\r')
	expect_eq "$got" "$(cat "$WORK/readme.expected")" "README's DST example"
fi

finish
