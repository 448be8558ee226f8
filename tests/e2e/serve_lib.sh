# Helpers for e2e tests that talk to a running `scli serve` (sourced after lib.sh):
# start and stop a server on a free loopback port, GET with curl, compare bodies.
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# start_server: `scli serve` on $DB, port 0 (the kernel picks one, the server prints it); sets BASE.
start_server() {
	local i
	: >"$WORK/serve.log"
	"$SCLI" --database "$DB" serve --listen 127.0.0.1:0 --threads 2 2>"$WORK/serve.log" &
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
stop_server() {
	kill -TERM "$SERVER_PID" 2>/dev/null
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
header() { tr -d '\r' <"$WORK/hdrs" | sed -n "s/^$1: //Ip" | head -n 1; }
expect_code() {
	if [ "$CODE" = "$1" ]; then ok; else fail "$2: HTTP $CODE, expected $1 (body: $BODY)"; fi
}
# expect_error CODE TEXT DESCRIPTION: a JSON error body containing TEXT
expect_error() {
	expect_code "$1" "$3"
	case "$BODY" in '{"error":"'*"$2"*'"}') ok ;; *) fail "$3: body is not {\"error\":\"...$2...\"}: $BODY" ;; esac
}
# same_as_cli PATH DESCRIPTION FORMAT ARGS... [-- CURL ARGS...]: the body, byte for byte, is
# `scli count ARGS --format FORMAT`
same_as_cli() {
	local path=$1 what=$2 format=$3 args=() 
	shift 3
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	get "$path" "$@"
	expect_code 200 "$what"
	"$SCLI" --database "$DB" count "${args[@]}" --format "$format" >"$WORK/cli.out" 2>"$WORK/cli.err"
	if cmp -s "$WORK/body" "$WORK/cli.out"; then ok; else
		fail "$what: body differs from count --format $format:
$(cat "$WORK/body")
---
$(cat "$WORK/cli.out" "$WORK/cli.err")"
	fi
}
