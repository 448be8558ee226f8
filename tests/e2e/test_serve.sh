# `scli serve` as a client meets it: a real server on a loopback port, every
# endpoint and error status, bodies byte-identical to `count --format json`,
# the bearer token, awkward customer ids, a PostgreSQL restart while serving
# (503, then recovery by itself) and SIGTERM with a request in flight.
# Runs on a private PostgreSQL server of its own, because it stops and restarts
# it; without PostgreSQL (outside CI) only the SQLite half runs.
if [ -z "${SCLI_TEST_PG_PRIVATE:-}" ] && [ -n "${SCLI_TEST_PG:-}" ] && command -v psql >/dev/null; then
	SCLI_TEST_PG_PRIVATE=1 exec "$(dirname "$0")/../support/with-postgres.sh" bash "$0"
fi
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { [ "${CI:-}" = "true" ] && { echo "FAIL: no curl in CI" >&2; exit 1; }; echo "SKIP: no curl"; exit 77; }

SERVER_PID=
LOCKER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
	[ -n "$LOCKER_PID" ] && kill -KILL "$LOCKER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# start_server [ENV=VALUE ...] -- [SERVE ARGS...]: starts `scli serve` on a free
# loopback port (port 0: the kernel picks one, the server prints it); sets BASE.
start_server() {
	local envs=() i
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	: >"$WORK/serve.log"
	env "${envs[@]}" "$SCLI" --database "$DB" serve --listen 127.0.0.1:0 --threads 4 "$@" \
		2>"$WORK/serve.log" &
	SERVER_PID=$!
	BASE=
	for i in $(seq 100); do
		BASE=$(sed -n 's/^scli: serving on \(http:[^ ]*\).*/\1/p' "$WORK/serve.log")
		[ -n "$BASE" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "server did not start: $(cat "$WORK/serve.log")"
	return 1
}

# stop_server [SIGNAL]: signals the server and waits (bounded) for it; sets SERVER_RC.
stop_server() {
	local i
	kill -"${1:-TERM}" "$SERVER_PID" 2>/dev/null
	for i in $(seq 150); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		fail "server still running 15 s after SIG${1:-TERM}"
		kill -KILL "$SERVER_PID"
	fi
	wait "$SERVER_PID"
	SERVER_RC=$?
	SERVER_PID=
}

# get PATH [CURL ARGS...]: leaves $CODE, $BODY and the headers in $WORK/hdrs.
get() {
	local path=$1
	shift
	CODE=$(curl -s -g --max-time 20 -o "$WORK/body" -D "$WORK/hdrs" -w '%{http_code}' "$@" "$BASE$path")
	BODY=$(cat "$WORK/body")
}
header() { # header NAME: the value of a response header
	tr -d '\r' <"$WORK/hdrs" | sed -n "s/^$1: //Ip" | head -n 1
}
expect_code() { # expect_code CODE DESCRIPTION
	if [ "$CODE" = "$1" ]; then ok; else fail "$2: HTTP $CODE, expected $1 (body: $BODY)"; fi
}
expect_body() { # expect_body EXACT DESCRIPTION
	if [ "$BODY" = "$1" ]; then ok; else fail "$2: body was $BODY, expected $1"; fi
}
expect_body_has() {
	case "$BODY" in *"$1"*) ok ;; *) fail "$2: body lacks '$1': $BODY" ;; esac
}
# expect_error CODE TEXT DESCRIPTION: a JSON error body containing TEXT
expect_error() {
	expect_code "$1" "$3"
	expect_eq "$(header Content-Type)" "application/json" "$3: content type"
	case "$BODY" in '{"error":"'*"$2"*'"}') ok ;; *) fail "$3: body is not {\"error\":\"...$2...\"}: $BODY" ;; esac
}
# same_as_cli PATH DESCRIPTION COUNT ARGS...: body identical, byte for byte, to the CLI's JSON
same_as_cli() {
	local path=$1 what=$2
	shift 2
	get "$path"
	expect_code 200 "$what"
	expect_eq "$(header Content-Type)" "application/json" "$what: content type"
	"$SCLI" --database "$DB" count "$@" --format json >"$WORK/cli.json" 2>"$WORK/cli.err"
	if cmp -s "$WORK/body" "$WORK/cli.json"; then ok; else
		fail "$what: body differs from count --format json:
$(cat "$WORK/body")
---
$(cat "$WORK/cli.json" "$WORK/cli.err")"
	fi
}
# every byte percent-encoded, as the strictest client would send it
pct() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g'; }

# Customers with ids that need care in a URL: '/', '%', quotes, spaces, unicode.
cat >"$WORK/events.csv" <<'CSV'
customer_id,event_type,transaction_id,timestamp
alice,INGEST,t1,2021-03-01 04:10:00+00
alice,INGEST,t2,2021-03-01T04:59:59.999999Z
alice,INGEST,t3,2021-03-01 05:00:00+00
alice,QUERY,t4,2021-03-01 05:30:00.5+00
alice,INGEST,t5,2021-03-01T07:29:59Z
bob,INGEST,t1,2021-03-01T06:15:00+01:00
acme/eu,INGEST,t1,2021-03-01 04:20:00+00
100%,INGEST,t1,2021-03-01 04:21:00+00
"say ""hi"" 'x'",INGEST,t1,2021-03-01 04:22:00+00
zoë 東京 €,INGEST,t1,2021-03-01 05:23:00+00
a+b,INGEST,t1,2021-03-01 05:24:00+00
CSV
F=2021-03-01T04:00:00Z
T=2021-03-01T07:30:00Z

for BACKEND in $BACKENDS; do
DB=$(fresh_db "$BACKEND" serve)
run --database "$DB" serve --help
expect_rc 0 "serve --help"
expect_out_has "--listen HOST:PORT" "serve --help text"

# --- a database never initialised: up, but not healthy ------------------------
start_server || continue
get /healthz
expect_error 503 "init-db" "healthz before init-db"
get "/v1/hourly?from=$F&to=$T"
expect_error 503 "init-db" "/v1 before init-db"
stop_server
expect_eq "$SERVER_RC" "0" "exit 0 after SIGTERM"

run --database "$DB" init-db
run --database "$DB" load --collector csv --config "$WORK/events.csv" --quiet
expect_rc 0 "load"

start_server || continue

# --- the endpoints -------------------------------------------------------------
get /healthz
expect_code 200 "healthz"
expect_body '{"status":"ok"}' "healthz body"
expect_eq "$(header Content-Type)" "application/json" "healthz content type"
get /healthz -I
expect_code 200 "HEAD /healthz"

same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T" "one customer" --customer alice --from "$F" --to "$T"
same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T&skip_empty=true" "skip_empty=true" --customer alice --from "$F" --to "$T" --skip-empty
same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T&skip_empty=false" "skip_empty=false" --customer alice --from "$F" --to "$T"
same_as_cli "/v1/customers/nobody/hourly?from=$F&to=$T" "customer without events" --customer nobody --from "$F" --to "$T"
same_as_cli "/v1/hourly?from=$F&to=$T" "all customers" --from "$F" --to "$T"
same_as_cli "/v1/hourly?to=$T&skip_empty=true&from=$F" "all customers, skip_empty, any order" --from "$F" --to "$T" --skip-empty
same_as_cli "/v1/hourly?from=$F&to=$F" "A == B: no buckets" --from "$F" --to "$F"
same_as_cli "/v1/hourly?from=2021-03-01%2004:30&to=2021-03-01T06:00:00%2B01:00" "space and +offset, percent-encoded" --from "2021-03-01 04:30" --to "2021-03-01T06:00:00+01:00"
same_as_cli "/v1/hourly?from=2021-03-01T04:30:00Z&to=2021-03-01T06:00:00+01:00" "a literal + is an offset sign, not a space" --from "2021-03-01T04:30:00Z" --to "2021-03-01T06:00:00+01:00"
get "/v1/customers/alice/hourly?from=$F&to=$T"
case "$BODY" in *'"total":5,'*) ok ;; *) fail "alice's total over [04:00, 07:30) is 5: $BODY" ;; esac

# --- query strings as clients write them: `+` is a space, %2B a plus (SPEC, HTTP) ----------
same_as_cli "/v1/hourly?from=2021-03-01+04:30:00%2B00&to=$T" "+ for a space, %2B for the offset sign" --from "2021-03-01 04:30:00+00" --to "$T"
same_as_cli "/v1/hourly?from=2021-03-01%2004:30:00%2005:30&to=$T" "a space where the offset sign belongs" --from "2021-03-01T04:30:00+05:30" --to "$T"
same_as_cli "/v1/hourly?from=2021-03-01T03:30:00+0100&to=2021-03-01T08:00:00+01" "+HHMM and +HH typed by hand" --from "2021-03-01T03:30:00+0100" --to "2021-03-01T08:00:00+01"
if command -v python3 >/dev/null; then
	q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlencode({"from": sys.argv[1], "to": sys.argv[2], "skip_empty": "true"}))' "2021-03-01 04:00:00+00" "2021-03-01T07:30:00+00:00")
	same_as_cli "/v1/customers/alice/hourly?$q" "python urlencode ($q)" --customer alice --from "$F" --to "$T" --skip-empty
else
	fail "python3 is missing: cannot check Python's query encoding"
fi
if command -v node >/dev/null; then
	q=$(node -e 'console.log(new URLSearchParams({from: process.argv[1], to: process.argv[2]}).toString())' "2021-03-01 05:00:00.5+00" "2021-03-01T07:00:00-01:00")
	same_as_cli "/v1/hourly?$q" "JS URLSearchParams ($q)" --from "2021-03-01 05:00:00.5+00" --to "2021-03-01T07:00:00-01:00"
else
	echo "note: no node; JS URLSearchParams encoding not checked" >&2
fi
same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T&skip_empty=1" "skip_empty=1" --customer alice --from "$F" --to "$T" --skip-empty
same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T&skip_empty=0" "skip_empty=0" --customer alice --from "$F" --to "$T"
same_as_cli "/v1/customers/alice/hourly?from=$F&to=$T&skip_empty" "skip_empty without a value is true" --customer alice --from "$F" --to "$T" --skip-empty
same_as_cli "/v1/customers/alice/hourly?skip_empty=&from=$F&to=$T" "skip_empty= is true" --customer alice --from "$F" --to "$T" --skip-empty
get "/v1/hourly?from=2021-03-01+04:00:00+x&to=$T"
expect_error 400 'from: invalid timestamp \"2021-03-01 04:00:00 x\"' "a space before something that is no offset stays a space"

# --- awkward customer ids: encoded, decoded once, never mis-routed ----------------
for id in "acme/eu" "100%" "say \"hi\" 'x'" "zoë 東京 €" "a+b"; do
	same_as_cli "/v1/customers/$(pct "$id")/hourly?from=$F&to=$T" "customer id [$id]" --customer "$id" --from "$F" --to "$T"
	case "$BODY" in *'"total":1,'*) ok ;; *) fail "[$id] has its one event: $BODY" ;; esac
done
same_as_cli "/v1/customers/acme%2Feu/hourly?from=$F&to=$T" "%2F in a readable id" --customer "acme/eu" --from "$F" --to "$T"
same_as_cli "/v1/customers/100%25/hourly?from=$F&to=$T" "%25 decodes to %" --customer "100%" --from "$F" --to "$T"
same_as_cli "/v1/customers/a+b/hourly?from=$F&to=$T" "+ in a path is a plus" --customer "a+b" --from "$F" --to "$T"
same_as_cli "/v1/customers/zo%C3%AB%20%E6%9D%B1%E4%BA%AC%20%E2%82%AC/hourly?from=$F&to=$T" "unicode id" --customer "zoë 東京 €" --from "$F" --to "$T"
get "/v1/customers/acme/eu/hourly?from=$F&to=$T"
expect_error 404 "no such endpoint" "an unencoded / is a path separator, not part of the id"
get "/v1/customers/%01x/hourly?from=$F&to=$T"
expect_error 400 "customer id contains a control character" "control character in the id"
get "/v1/customers/%FFx/hourly?from=$F&to=$T"
expect_error 400 "customer id is not valid UTF-8" "invalid UTF-8 in the id"
get "/v1/customers/x%00y/hourly?from=$F&to=$T"
expect_error 400 "customer id contains a control character" "NUL in the id"
get "/v1/customers/x%G1/hourly?from=$F&to=$T"
expect_error 400 "invalid percent-encoding" "malformed escape in the id"
get "/v1/customers/x%4/hourly?from=$F&to=$T"
expect_error 400 "invalid percent-encoding" "truncated escape in the id"
get "/v1/customers/$(printf 'c%.0s' $(seq 129))/hourly?from=$F&to=$T"
expect_error 400 "customer id is longer than 128 bytes" "over-long id"
get "/v1/customers//hourly?from=$F&to=$T"
expect_error 404 "no such endpoint" "empty id"

# --- 400: bad parameters, worded as the CLI words them ---------------------------
get "/v1/hourly?from=$F"
expect_error 400 "from and to are required" "missing to"
get "/v1/customers/alice/hourly"
expect_error 400 "from and to are required" "no query at all"
get "/v1/hourly?from=2021-02-29&to=$T"
expect_error 400 'from: invalid timestamp \"2021-02-29\": day is out of range for the month' "impossible date"
get "/v1/hourly?from=$F&to=yesterday"
expect_error 400 'to: invalid timestamp \"yesterday\"' "garbage timestamp"
get "/v1/hourly?from=$F&to=%FF%01"
expect_error 400 "to: invalid timestamp" "binary timestamp"
case "$BODY" in *$'\x01'*) fail "control character echoed: $BODY" ;; *) ok ;; esac
get "/v1/hourly?from=$T&to=$F"
expect_error 400 "from is after to" "from > to"
get "/v1/hourly?from=1990-01-01&to=2021-01-01"
expect_error 400 "100000" "more than 100,000 buckets"
get "/v1/hourly?from=$F&to=$T&skip_empty=yes"
expect_error 400 "skip_empty must be true, false, 1 or 0" "bad skip_empty"
get "/v1/hourly?from=$F&to=$T&skipEmpty=true"
expect_error 400 "unknown parameter 'skipEmpty'" "unknown parameter"
get "/v1/hourly?from=$F&to=$T&from=$F"
expect_error 400 "given more than once" "repeated parameter"
get "/v1/hourly?from=$F&to=2021%2"
expect_error 400 "invalid percent-encoding" "malformed escape in the query"

# --- 404, 405, 414 -------------------------------------------------------------------
for path in /index.html //v1 /v1 /v1/ /v1/hourly/ /v2/hourly /healthz/x /v1/customers/alice /v1/customers/alice/daily; do
	get "$path"
	expect_error 404 "no such endpoint" "GET $path"
done
for method in POST PUT DELETE PATCH; do
	get "/v1/hourly?from=$F&to=$T" -X "$method" -d 'x=1'
	expect_error 405 "not allowed" "$method /v1/hourly"
	expect_eq "$(header Allow)" "GET, HEAD" "$method: Allow header"
done
get /healthz -X POST
expect_error 405 "not allowed" "POST /healthz"
get "/v1/hourly?from=$F&to=$T&pad=$(head -c 9000 /dev/zero | tr '\0' x)"
expect_error 414 "longer than 8192 bytes" "request target over 8 KiB"

# --- metrics ---------------------------------------------------------------------------
get /metrics
expect_code 200 "metrics"
expect_eq "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" "metrics content type"
expect_body_has '# TYPE scli_http_requests_total counter' "requests counter"
expect_body_has 'scli_http_requests_total{route="/v1/hourly",status="400"}' "400s by route"
expect_body_has 'scli_http_requests_total{route="/v1/customers/{customer_id}/hourly",status="200"}' "200s by route"
expect_body_has 'scli_http_requests_total{route="other",status="404"}' "404s"
expect_body_has '# TYPE scli_http_request_duration_seconds histogram' "latency histogram"
expect_body_has 'scli_http_request_duration_seconds_bucket{route="/v1/hourly",le="+Inf"}' "histogram +Inf bucket"
expect_body_has 'scli_http_request_duration_seconds_count{route="/healthz"}' "histogram count"
expect_body_has '# TYPE scli_db_errors_total counter' "database errors counter"

# --- access log ---------------------------------------------------------------------------
sleep 0.2
grep -q " GET /healthz 200 [0-9.]*ms$" "$WORK/serve.log" && ok || fail "access log line for /healthz: $(tail -n 3 "$WORK/serve.log")"
grep -q " GET /v1/customers/acme%2Feu/hourly?from=$F&to=$T 200 " "$WORK/serve.log" && ok || fail "access log keeps the path as sent"
grep -q " POST /healthz 405 " "$WORK/serve.log" && ok || fail "access log line for a 405"
stop_server
expect_eq "$SERVER_RC" "0" "exit 0 after SIGTERM"
grep -q "SIGTERM received" "$WORK/serve.log" && ok || fail "shutdown announced: $(tail -n 2 "$WORK/serve.log")"

# --- --quiet and SIGINT ----------------------------------------------------------------------
start_server -- --quiet || continue
get /healthz
expect_code 200 "healthz (quiet)"
stop_server INT
expect_eq "$SERVER_RC" "0" "exit 0 after SIGINT"
grep -q "GET /healthz" "$WORK/serve.log" && fail "--quiet still logs requests: $(cat "$WORK/serve.log")" || ok

# --- the bearer token ----------------------------------------------------------------------------
TOKEN='tok-3f9c a/b+c=='
start_server "SCLI_API_TOKEN=$TOKEN" -- || continue
get "/v1/hourly?from=$F&to=$T"
expect_error 401 "bearer token" "no token"
case "$(header WWW-Authenticate)" in Bearer*) ok ;; *) fail "401 without WWW-Authenticate: Bearer: $(cat "$WORK/hdrs")" ;; esac
get "/v1/hourly?from=$F&to=$T" -H "Authorization: Bearer wrong"
expect_error 401 "bearer token" "wrong token"
get "/v1/hourly?from=$F&to=$T" -H "Authorization: Bearer ${TOKEN}x"
expect_error 401 "bearer token" "token with a suffix"
get "/v1/hourly?from=$F&to=$T" -H "Authorization: Bearer ${TOKEN%?}"
expect_error 401 "bearer token" "token prefix"
get "/v1/hourly?from=$F&to=$T" -H "Authorization: Basic $TOKEN"
expect_error 401 "bearer token" "another scheme"
get "/v1/nothing-here"
expect_error 401 "bearer token" "unknown /v1 path without a token: 401, routes not revealed"
get "/v1/customers/alice/hourly?from=$F&to=$T" -H "Authorization: Bearer $TOKEN"
expect_code 200 "right token"
get "/v1/hourly?from=$F&to=$T" -H "authorization: bearer $TOKEN"
expect_code 200 "scheme and header name in any case"
get /healthz
expect_code 200 "healthz needs no token"
get /metrics
expect_code 200 "metrics need no token"
stop_server
expect_eq "$SERVER_RC" "0" "exit 0 (token)"
grep -q "tok-3f9c" "$WORK/serve.log" && fail "token in the log: $(cat "$WORK/serve.log")" || ok

# --- usage errors ----------------------------------------------------------------------------------
SCLI_API_TOKEN= run --database "$DB" serve --listen 127.0.0.1:0
expect_rc 2 "empty SCLI_API_TOKEN refuses to start"
expect_err_has "SCLI_API_TOKEN is set but empty" "empty token message"
run --database "$DB" serve --threads 0
expect_rc 2 "--threads 0"
run --database "$DB" serve --listen nowhere
expect_rc 2 "--listen without a port"
run --database "$DB" serve --listen 127.0.0.1:99999
expect_rc 2 "--listen port out of range"
run --database "$DB" serve extra
expect_rc 2 "unexpected argument"
run --database "$DB" serve --listen 80x
expect_rc 2 "--listen with a bad bare port"

# --- `--listen PORT` is 127.0.0.1:PORT (issue 12, item 10) -------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if start_server -- --listen "$port"; then
	expect_eq "$BASE" "http://127.0.0.1:$port" "--listen $port binds 127.0.0.1"
	get /healthz
	expect_code 200 "healthz on --listen PORT"
	stop_server
fi
done

# --- PostgreSQL goes away while serving, and comes back ------------------------------------------------
if [ -n "${SCLI_TEST_PG_PRIVATE:-}" ]; then
	BACKEND=postgres
	as_pg=(${SCLI_TEST_PG_AS:-})
	pg_stop() { "${as_pg[@]}" "$SCLI_TEST_PG_BIN/pg_ctl" -D "$SCLI_TEST_PG_DIR/data" -m immediate -w stop >/dev/null; }
	pg_start() { "${as_pg[@]}" "$SCLI_TEST_PG_BIN/pg_ctl" -D "$SCLI_TEST_PG_DIR/data" -l "$SCLI_TEST_PG_DIR/server.log" -w start >/dev/null; }
	DB=$(fresh_db postgres restart)
	run --database "$DB" init-db
	run --database "$DB" load --collector csv --config "$WORK/events.csv" --quiet
	# the test server runs with synchronous_commit=off: make the load survive `-m immediate`
	psql -X -q "$DB" -c CHECKPOINT
	if start_server; then
		# every worker has a connection open before the restart
		for i in 1 2 3 4 5 6 7 8; do get "/v1/hourly?from=$F&to=$T"; done
		expect_code 200 "before the restart"
		cp "$WORK/body" "$WORK/before.json"
		pg_stop
		get /healthz
		expect_error 503 "postgres" "healthz while PostgreSQL is down"
		get "/v1/hourly?from=$F&to=$T"
		expect_error 503 "postgres" "/v1 while PostgreSQL is down"
		get "/v1/customers/alice/hourly?from=$F&to=$T"
		expect_error 503 "postgres" "/v1 per customer while PostgreSQL is down"
		get /metrics
		expect_code 200 "metrics while PostgreSQL is down"
		n=$(printf '%s\n' "$BODY" | sed -n 's/^scli_db_errors_total //p')
		[ "${n:-0}" -ge 3 ] && ok || fail "database errors counted: $n"
		expect_body_has 'scli_http_requests_total{route="/healthz",status="503"} 1' "503 counted"
		pg_start
		# each worker's first request after the restart already succeeds (reconnect + retry)
		for i in 1 2 3 4 5 6 7 8; do
			get "/v1/hourly?from=$F&to=$T"
			expect_code 200 "request $i after the restart"
		done
		cmp -s "$WORK/body" "$WORK/before.json" && ok || fail "same answer after the restart"
		get /healthz
		expect_code 200 "healthz after the restart"

		# --- SIGTERM with a request in flight: it completes, then the server exits 0 ---
		psql -X -q "$DB" -c "BEGIN" -c "LOCK TABLE scli_rollup IN ACCESS EXCLUSIVE MODE" \
			-c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null 2>&1 &
		LOCKER_PID=$!
		for i in $(seq 50); do
			[ "$(psql -X -At "$DB" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'scli_rollup' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
			sleep 0.1
		done
		curl -s --max-time 20 -o "$WORK/inflight.json" -w '%{http_code}' "$BASE/v1/hourly?from=$F&to=$T" >"$WORK/inflight.code" &
		curl_pid=$!
		for i in $(seq 50); do # the request is waiting on the lock
			[ "$(psql -X -At "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" -ge 1 ] && break
			sleep 0.1
		done
		t0=$(date +%s%N)
		stop_server TERM
		wait "$curl_pid"
		wait "$LOCKER_PID"
		LOCKER_PID=
		expect_eq "$SERVER_RC" "0" "exit 0 after SIGTERM with a request in flight"
		expect_eq "$(cat "$WORK/inflight.code")" "200" "the request in flight completes"
		cmp -s "$WORK/inflight.json" "$WORK/before.json" && ok || fail "in-flight answer is complete: $(cat "$WORK/inflight.json")"
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 500 ] && ok || fail "the server waited for the request"
		curl -s --max-time 2 "$BASE/healthz" >/dev/null && fail "still accepting after SIGTERM" || ok
	fi
fi

finish
