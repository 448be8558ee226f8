# The page at / (issue 17) in a real browser: Debian's chromium, headless, driven
# through the DevTools protocol by page_driver.py, against `scli serve` on the real
# data (../shared/data/metronome/events.csv) and on New York's 25-hour day.
# What the page draws is read back from the rendered document: the bars' counts
# and their visible labels, the partial window drawn hatched, the total, each
# compared with `scli count --format json` and GET /v1/usage for the same query.
# Also: a link reproduces the view (the query is the page's URL, kept by the
# form and the back button); a bad timestamp shows the API's error; a customer
# id that looks like markup stays text; the page asks only its own server; its
# Content-Security-Policy blocks any other inline script; with SCLI_API_TOKEN the
# page itself is served without a token while /v1 wants one, the page asks for
# it, sends it, and keeps it in memory only. The screenshot of the reference
# query goes to $SCLI_ARTIFACTS/page.png (build/artifacts/ by default), which CI
# keeps; docs/img/page.png in the README is that file.
# SQLite only: the page reads whatever /v1/usage answers, which test_serve.sh and
# test_windows.sh check on every backend.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need() { # need COMMAND WHAT: fail in CI, skip elsewhere
	command -v "$1" >/dev/null && return 0
	[ "${CI:-}" = "true" ] && { echo "FAIL: no $2 in CI (make deps installs it)" >&2; exit 1; }
	echo "SKIP: no $2"; exit 77
}
need curl curl
need python3 python3
need chromium "chromium (apt-get install chromium)"
if [ ! -f /usr/share/zoneinfo/America/New_York ]; then
	[ "${CI:-}" = "true" ] && { echo "FAIL: no tzdata in CI" >&2; exit 1; }
	echo "SKIP: no tzdata"; exit 77
fi
DATA="${SCLI_SHARED_DATA:-}/metronome/events.csv"
if [ ! -f "$DATA" ]; then
	[ "${CI:-}" = "true" ] && { echo "FAIL: $DATA missing in CI" >&2; exit 1; }
	echo "SKIP: $DATA not found"; exit 77
fi
DRIVER="$(dirname "$0")/page_driver.py"
ARTIFACTS=${SCLI_ARTIFACTS:-$SCLI_TEST_TMP/../artifacts}
mkdir -p "$ARTIFACTS"

C=b4f9279a0196e40632e947dd1a88e857
F=2021-03-01T04:00:00Z T=2021-03-01T06:30:00Z
REF="/?customer=$C&from=$F&to=$T&window=hour"

# New York, 2021-11-06 to 2021-11-09: one event at :30 past every UTC hour. The clocks go
# back on the 7th, so that day runs 04:00Z to 05:00Z the next day: 25 hours, 25 events.
start=$(date -u -d 2021-11-06T04:30:00Z +%s)
for h in $(seq 0 72); do
	printf 'ny-shop,api_call,ny%02d,%s\n' "$h" "$(date -u -d "@$((start + h * 3600))" +%Y-%m-%dT%H:%M:%SZ)"
done >"$WORK/dst.csv"
DST="/?customer=ny-shop&from=2021-11-06&to=2021-11-09&window=day&tz=America%2FNew_York"
XSS='<img src=x onerror=document.title=1>'
XSS_Q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$XSS")

DB="sqlite:$WORK/page.sqlite"
run --database "$DB" init-db
run --database "$DB" load --collector csv --config "$DATA" --quiet
expect_rc 0 "load the real data"
run --database "$DB" load --collector csv --config "$WORK/dst.csv" --quiet
expect_rc 0 "load New York's days"

# drive STEP...: page_driver.py's report in $WORK/page.out (its failure fails the test)
drive() {
	if ! timeout 300 python3 "$DRIVER" --log "$WORK/chromium.log" --timeout 240 "$@" >"$WORK/page.out" 2>"$WORK/driver.err"; then
		fail "page_driver.py $*: $(cat "$WORK/driver.err"); chromium: $(tail -n 5 "$WORK/chromium.log")"
	fi
}
val() { sed -n "s/^$1=//p" "$WORK/page.out" | head -n 1; }
has() { # has KEY TEXT DESCRIPTION
	case "$(val "$1")" in *"$2"*) ok ;; *) fail "$3: $1 lacks '$2': $(val "$1")" ;; esac
}
# canon_cli ARGS...: `scli count ARGS --format json` with sorted keys, as the driver prints views
canon_cli() {
	"$SCLI" --database "$DB" count "$@" --format json | python3 "$DRIVER" canon
}
canon_api() { # canon_api PATH: GET PATH's JSON, the same way
	curl -s -g --max-time 20 "$BASE$1" | python3 "$DRIVER" canon
}

# --- the page itself, over HTTP ------------------------------------------------------------
start_server
get "/"
expect_code 200 "GET /"
expect_eq "$(header Content-Type)" "text/html; charset=utf-8" "the page's content type"
expect_eq "$(header X-Content-Type-Options)" "nosniff" "nosniff"
expect_eq "$(header Cache-Control)" "no-store" "the page is not cached"
csp=$(header Content-Security-Policy)
case "$csp" in "default-src 'none'; script-src 'sha256-"*"'; style-src 'sha256-"*"'; connect-src 'self';"*) ok ;;
	*) fail "CSP: $csp" ;; esac
case "$csp" in *unsafe*|*"*"*|*http*) fail "CSP allows too much: $csp" ;; *) ok ;; esac
case "$BODY" in '<!doctype html>'*'</html>') ok ;; *) fail "GET / is not the page: $(head -c 200 "$WORK/body")" ;; esac
case "$BODY" in *2310*|*b4f9279a*) fail "the page holds data" ;; *) ok ;; esac
get "$REF"
expect_code 200 "the page with a query"
cmp -s "$WORK/body" <(curl -s "$BASE/") && ok || fail "the page depends on its query string"
get "/" -I
expect_code 200 "HEAD /"
expect_eq "$(header Content-Length)" "$(curl -s "$BASE/" | wc -c)" "HEAD / announces the page's length"
get "/" -X POST -d x=1
expect_error 405 "not allowed" "POST /"
get "/index.html"
expect_error 404 "no such endpoint (see GET /, " "only / is the page"

# --- the browser -------------------------------------------------------------------------------
drive "open:$BASE$REF" report:ref "shot:$ARTIFACTS/page.png" \
	"open:$BASE/?from=$F&to=$T" report:all \
	"open:$BASE/?customer=$C&from=$F&to=$T&group_by=event_type" report:types \
	"open:$BASE$DST" report:dst \
	"open:$BASE/" report:idle \
	"fill:customer=ny-shop" "fill:from=2021-11-06" "fill:to= 2021-11-09 " "fill:window=day" \
	"fill:tz=America/New_York" submit report:form back report:back \
	"open:$BASE/?customer=$C&from=2021-02-30T00:00:00Z&to=$T" report:bad \
	"open:$BASE/?customer=$XSS_Q&customer=$C&from=$F&to=$T" report:xss \
	probe-csp

# the SPEC's reference query: the bars, their labels, the partial one hatched, the total
expect_eq "$(val ref.state)" "done" "reference query rendered"
expect_eq "$(val ref.series)" "1" "one series"
expect_eq "$(val ref.series.0.customer)" "$C" "the customer"
expect_eq "$(val ref.series.0.counts)" "408,1133,769" "the bars' counts"
expect_eq "$(val ref.series.0.labels)" "408,1133,769" "the bars' visible labels"
expect_eq "$(val ref.series.0.partial)" "false,false,true" "the last window is partial"
expect_eq "$(val ref.series.0.hatched)" "false,false,true" "the partial bar is drawn hatched"
expect_eq "$(val ref.series.0.total)" "2310" "the total"
expect_eq "$(val ref.series.0.total_text)" "2310" "the total, as shown"
has ref.series.0.titles "2021-03-01T04:00:00Z to 2021-03-01T05:00:00Z: 408 events|" "first bar's title"
has ref.series.0.titles "2021-03-01T06:00:00Z: 769 events (partial" "partial bar's title"
has ref.text "partial" "the partial window is labelled"
expect_eq "$(val ref.json)" "$(canon_cli --customer $C --from $F --to $T)" "the page shows what count --format json prints"
expect_eq "$(val ref.json)" "$(canon_api "/v1/usage?customer=$C&from=$F&to=$T")" "the page shows what /v1/usage answers"
expect_eq "$(val ref.auth)" "none" "no token sent when none is needed"
expect_eq "$(val ref.problems)" "" "no console errors"
expect_eq "$(val ref.stored)" "0" "nothing stored in the browser"
if [ -s "$ARTIFACTS/page.png" ] && [ "$(head -c 8 "$ARTIFACTS/page.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ]; then
	ok; echo "screenshot: $ARTIFACTS/page.png"
else
	fail "no PNG screenshot at $ARTIFACTS/page.png"
fi

# every customer, and a series per event type: the same numbers as the CLI
expect_eq "$(val all.state)" "done" "every customer rendered"
expect_eq "$(val all.json)" "$(canon_cli --from $F --to $T)" "every customer: as count --format json"
[ "$(val all.series)" -gt 1 ] && ok || fail "every customer: $(val all.series) series"
has all.grand_total "All $(val all.series) series:" "every customer: the total over the series"
expect_eq "$(val types.json)" "$(canon_cli --customer $C --from $F --to $T --group-by event_type)" \
	"a series per event type: as count --format json"
[ -n "$(val types.series.0.event_type)" ] && ok || fail "group_by: no event type shown"

# the 25-hour day
expect_eq "$(val dst.state)" "done" "New York's days rendered"
expect_eq "$(val dst.series.0.starts)" "2021-11-06T00:00:00-04:00,2021-11-07T00:00:00-04:00,2021-11-08T00:00:00-05:00" "local midnights"
expect_eq "$(val dst.series.0.counts)" "24,25,24" "the 25-hour day holds 25 hours of events"
expect_eq "$(val dst.series.0.labels)" "24,25,24" "the days' visible labels"
expect_eq "$(val dst.series.0.total_text)" "73" "three days' total"
has dst.series.0.titles "2021-11-07T00:00:00-04:00 to 2021-11-08T00:00:00-05:00: 25 events (a 25 h day)" "the long day says so"
case "$(val dst.series.0.titles)" in *"24 events (a"*) fail "a 24-hour day called long: $(val dst.series.0.titles)" ;; *) ok ;; esac
expect_eq "$(val dst.json)" "$(canon_cli --customer ny-shop --from 2021-11-06 --to 2021-11-09 --window day --tz America/New_York)" \
	"the 25-hour day: as count --format json"

# the form keeps the query in the URL; the link gives the same view; back goes back
expect_eq "$(val idle.state)" "idle" "/ alone waits for a query"
expect_eq "$(val idle.requests)" "$BASE/" "/ alone asks nothing of /v1"
expect_eq "$(val form.url)" "/?customer=ny-shop&from=2021-11-06&to=2021-11-09&window=day&tz=America%2FNew_York" "the form's query in the URL"
expect_eq "$(val form.json)" "$(val dst.json)" "the form's view is the link's"
expect_eq "$(val back.url)" "/" "back: the URL before"
expect_eq "$(val back.state)" "idle" "back: the view before"
expect_eq "$(val back.form.customer)" "" "back: the form before"

# a bad timestamp: the API's message, shown
expect_eq "$(val bad.state)" "error" "bad timestamp: an error"
api_error=$(curl -s "$BASE/v1/usage?customer=$C&from=2021-02-30T00:00:00Z&to=$T" | python3 -c 'import json, sys; print(json.load(sys.stdin)["error"])')
expect_eq "$(val bad.error)" "HTTP 400: $api_error" "bad timestamp: the server's message is shown"
has bad.error 'from: invalid timestamp "2021-02-30T00:00:00Z"' "bad timestamp: names the parameter"
expect_eq "$(val bad.series)" "0" "bad timestamp: no chart"

# a customer id that looks like markup is text
expect_eq "$(val xss.series.0.customer)" "$XSS" "markup in an id: shown as text"
expect_eq "$(val xss.injected)" "0" "markup in an id: no element made from it"
has xss.text "$XSS" "markup in an id: visible as typed"
expect_eq "$(val xss.problems)" "" "markup in an id: no console errors"

# the page talks to its own server only; nothing else inline runs
for key in ref.requests all.requests types.requests dst.requests form.requests bad.requests xss.requests; do
	for url in $(val $key); do
		case "$url" in "$BASE/"*) ok ;; *) fail "$key: a request beyond the server: $url" ;; esac
	done
done
expect_eq "$(sed -n 's/^probe.ran=//p' "$WORK/page.out")" "false" "CSP: an injected inline script does not run"
case "$(sed -n 's/^probe.problems=//p' "$WORK/page.out")" in *"Content Security Policy"*) ok ;;
	*) fail "CSP: the blocked script was not reported: $(sed -n 's/^probe.problems=//p' "$WORK/page.out")" ;; esac

get /metrics
case "$BODY" in *'scli_http_requests_total{route="/",status="200"}'*) ok ;; *) fail "the page in the metrics: $BODY" ;; esac
stop_server
expect_eq "$SERVER_RC" "0" "server exits 0"

# --- with SCLI_API_TOKEN: / without a token, /v1 with it; the page asks -----------------------
export SCLI_API_TOKEN=s3cret-token
start_server
unset SCLI_API_TOKEN
get "/"
expect_code 200 "with a token set, / needs none"
get "/v1/usage?customer=$C&from=$F&to=$T"
expect_error 401 "bearer token" "with a token set, /v1 needs it"
drive "open:$BASE$REF" report:ask token:wrong report:refused token:s3cret-token report:given \
	"fill:window=hour" submit report:again "open:$BASE$REF" report:reload
expect_eq "$(val ask.state)" "token" "401: the page asks for the token"
expect_eq "$(val ask.token_prompt)" "shown" "401: the token prompt shows"
expect_eq "$(val ask.series)" "0" "401: no chart"
expect_eq "$(val ask.auth)" "none" "first request: no token"
expect_eq "$(val refused.state)" "token" "a wrong token: asked again"
has refused.text "refused" "a wrong token: says so"
expect_eq "$(val refused.auth)" "bearer" "a wrong token: sent as a bearer token"
expect_eq "$(val given.state)" "done" "the right token: the chart"
expect_eq "$(val given.token_prompt)" "hidden" "the right token: no prompt"
expect_eq "$(val given.series.0.counts)" "408,1133,769" "the right token: the bars"
expect_eq "$(val given.series.0.total_text)" "2310" "the right token: the total"
expect_eq "$(val again.state)" "done" "the token is kept for the next query"
expect_eq "$(val again.auth)" "bearer" "the next query sends it"
for phase in ask refused given again; do
	case "$(val $phase.url) $(val $phase.text)" in *s3cret*) fail "$phase: the token shows in the URL or page" ;; *) ok ;; esac
	expect_eq "$(val $phase.stored)" "0" "$phase: nothing stored in the browser"
done
expect_eq "$(val reload.state)" "token" "reloaded: the token is gone (memory only)"
stop_server
expect_eq "$SERVER_RC" "0" "token server exits 0"

finish
