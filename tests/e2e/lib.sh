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
fail() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*" >&2; }

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
