# Shared helpers for the e2e tests: run the scli binary as a user does and
# check what it prints and how it exits. Sourced by tests/e2e/test_*.sh.
set -u

: "${SCLI:?SCLI must point at the scli binary (ctest sets it)}"
: "${SCLI_TEST_TMP:=/tmp}"
mkdir -p "$SCLI_TEST_TMP"
WORK=$(mktemp -d "$SCLI_TEST_TMP/e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILED=0
PASSED=0

ok() { PASSED=$((PASSED + 1)); }
BACKEND=
fail() { FAILED=$((FAILED + 1)); printf 'FAIL%s: %s\n' "${BACKEND:+ [$BACKEND]}" "$*" >&2; }

# The database kinds every e2e test runs against: SQLite always, PostgreSQL when
# the test run has a server (tests/support/with-postgres.sh sets SCLI_TEST_PG).
BACKENDS="sqlite"
if [ -n "${SCLI_TEST_PG:-}" ]; then
	BACKENDS="sqlite postgres"
elif [ "${CI:-}" = "true" ]; then
	fail "SCLI_TEST_PG is not set in CI: the PostgreSQL half of the e2e tests would not run"
fi

# fresh_db BACKEND NAME: prints the URL of a new, empty database.
fresh_db() {
	case "$1" in
	sqlite) echo "sqlite:$WORK/$2.sqlite" ;;
	postgres)
		local db
		db=$(printf 't_%s_%s' "$(basename "$WORK")" "$2" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$SCLI_TEST_PG dbname=postgres" \
			-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || return 1
		echo "$SCLI_TEST_PG dbname=$db"
		;;
	esac
}

# run ARGS...: runs scli, leaves $OUT, $ERR and $RC.
run() {
	"$SCLI" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

expect_rc() { # expect_rc CODE DESCRIPTION
	if [ "$RC" -eq "$1" ]; then ok; else fail "$2: exit $RC, expected $1 (stderr: $ERR)"; fi
}
expect_out() { # expect_out EXACT DESCRIPTION
	if [ "$OUT" = "$1" ]; then ok; else fail "$2: stdout was:
$OUT
expected:
$1"; fi
}
expect_out_has() { # expect_out_has TEXT DESCRIPTION
	case "$OUT" in *"$1"*) ok ;; *) fail "$2: stdout lacks '$1': $OUT" ;; esac
}
expect_err_has() { # expect_err_has TEXT DESCRIPTION
	case "$ERR" in *"$1"*) ok ;; *) fail "$2: stderr lacks '$1': $ERR" ;; esac
}
expect_eq() { # expect_eq ACTUAL EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then ok; else fail "$3: got '$1', expected '$2'"; fi
}

# finish: print the closing line ctest and CI read, exit non-zero on failure.
finish() {
	printf '%s: %d passed, %d failed\n' "$(basename "$0" .sh)" "$PASSED" "$FAILED"
	[ "$FAILED" -eq 0 ]
}
