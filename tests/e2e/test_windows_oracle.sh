# Issue 15's windows, time zones and event types against an independent oracle
# (tests/e2e/windows_oracle.py: Python's zoneinfo and brute force, nothing of
# scli's code): a generated file spanning 2021's clock changes in the US, Europe
# and Australia/Lord_Howe (a 30-minute change), with events near every quarter
# hour around them and around every month start, a few customers, three event
# types and repeated identities (the first line wins); then, for America/New_York,
# Europe/Berlin, Australia/Lord_Howe, Asia/Kolkata, Asia/Kathmandu,
# America/St_Johns, UTC, +05:30 and -03:00, every window size (minute over short
# ranges), ranges cut inside windows and given as instants (Z or an offset) and as
# wall-clock times in the zone, with and without --event-type, --group-by
# event_type, --customer (repeated) and --skip-empty, plus the skipped wall-clock
# times (usage errors naming them) and an unknown zone. Each answer is compared
# bucket by bucket (start as printed, count, partial) with `scli count --format
# json` and with `scli serve` (GET /v1/usage, /v1/customers/{id}/usage), and for
# a few cases `--format csv`, `format=csv` and `Accept: text/csv`, on SQLite and,
# when the test run has a server, PostgreSQL. Every mismatch is printed with the
# command that shows it; `windows_oracle.py expect ARGS` prints the oracle's
# answer for any count arguments, `windows_oracle.py gen FILE` the data.
#
# Where SPEC.md leaves room, the oracle (and so this test) takes: a fraction
# printed without trailing zeros; a date alone in --from/--to as the first
# instant of that date in --tz (it has no offset, so it is wall-clock; SPEC's
# "midnight UTC" is the --tz UTC case); with --event-type and no --customer, the
# customers with an event of those types in the range; with --group-by
# event_type, --customer C and no --event-type, C without events appears once
# with "event_type": null; `event_types` sorted bytewise, each once.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { [ "${CI:-}" = "true" ] && { echo "FAIL: no python3 in CI" >&2; exit 1; }; echo "SKIP: no python3"; exit 77; }
if ! python3 -c 'import zoneinfo; zoneinfo.ZoneInfo("Australia/Lord_Howe")' 2>/dev/null; then
	[ "${CI:-}" = "true" ] && { echo "FAIL: no zoneinfo or tzdata in CI" >&2; exit 1; }
	echo "SKIP: Python's zoneinfo has no time zone database (apt-get install tzdata)"
	exit 77
fi

dbs=()
for BACKEND in $BACKENDS; do
	if DB=$(fresh_db "$BACKEND" windows); then
		dbs+=(--database "$BACKEND=$DB")
	else
		fail "could not create a database"
	fi
done
BACKEND=
# Under valgrind (make valgrind) every scli takes a second or more: every eighth case.
every=1
[ -z "${SCLI_REAL:-}" ] || every=8
python3 "$(dirname "$0")/windows_oracle.py" check --scli "$SCLI" --work "$WORK" --every "$every" \
	"${dbs[@]}" >"$WORK/oracle.out"
rc=$?
counts=$(tail -n 1 "$WORK/oracle.out")
case "$counts" in
passed=*" failed="*)
	p=${counts#passed=}
	PASSED=$((PASSED + ${p%% *}))
	FAILED=$((FAILED + ${counts##*failed=}))
	;;
*) fail "windows_oracle.py ended without its counts (exit $rc): $(cat "$WORK/oracle.out")" ;;
esac
[ "$rc" -eq 0 ] || [ "$FAILED" -gt 0 ] || fail "windows_oracle.py exited $rc"
finish
