# `scli count --format chart` (issue 17) on SQLite and PostgreSQL: for the real
# data (SPEC's reference query, several customers, every customer, group-by,
# an event-type filter, days in New York) and New York's 2021-11-07 (the two
# 01:00 hours, the 25-hour day), the chart shows the same buckets, counts,
# partial marks and totals as `--format json` of the same query, with bars in
# proportion (tests/e2e/chart_check.py reads the chart and checks it against
# the JSON); the width follows COLUMNS (40, 80, 120), the terminal's size, or
# 80; no line is wider; colour only on a terminal (a pty from `script`) and
# not with NO_COLOR; --skip-empty; a write error exits 1. Two charts are pinned
# byte for byte.
. "$(dirname "$0")/lib.sh"
DATA="${SCLI_SHARED_DATA:-}/metronome"
CHECK="$(dirname "$0")/chart_check.py"
need() { # need WHAT CONDITION...: skip without it, but never in CI
	local what=$1
	shift
	"$@" >/dev/null 2>&1 && return 0
	[ "${CI:-}" = "true" ] && { echo "FAIL: no $what in CI" >&2; exit 1; }
	echo "SKIP: no $what"
	exit 77
}
need "$DATA/events.csv" test -f "$DATA/events.csv"
need python3 command -v python3
need "script (bsdutils)" command -v script
need tzdata test -f /usr/share/zoneinfo/America/New_York
unset COLUMNS NO_COLOR

# New York's fall-back day, 2021-11-07 (tests/fixtures: shared with the other DST tests)
cp "${SCLI_SOURCE_DIR:?}/tests/fixtures/dst_new_york_2021-11-07.csv" "$WORK/dst.csv"

# chart DESC ARGS...: the chart of `count ARGS` (with $COLUMNS as it is) and the JSON of
# the same query, kept in $WORK/cases and listed in the manifest that check_charts checks.
CASES=0
chart() {
	local desc=$1 c
	shift
	CASES=$((CASES + 1))
	c=$WORK/cases/$CASES
	"$SCLI" --database "$DB" count "$@" --format chart >"$c.chart" 2>"$WORK/err"
	RC=$?
	expect_rc 0 "$desc: chart"
	"$SCLI" --database "$DB" count "$@" --format json >"$c.json" 2>>"$WORK/err" ||
		fail "$desc: json: $(cat "$WORK/err")"
	cp "$c.chart" "$WORK/chart"
	printf '%s\t%s\t%s\t%s (COLUMNS=%s): %s\n' "$c.chart" "$c.json" "${COLUMNS:-80}" "$BACKEND" \
		"${COLUMNS:-unset}" "$desc $*" >>"$WORK/cases/manifest"
}
# check_charts: every chart so far against its JSON (tests/e2e/chart_check.py).
check_charts() {
	local verdict
	[ -s "$WORK/cases/manifest" ] || { fail "no chart to check"; return; }
	while IFS= read -r verdict; do
		case $verdict in
		ok) ok ;;
		*) fail "${verdict#fail	}" ;;
		esac
	done < <(python3 "$CHECK" "$WORK/cases/manifest" || echo "fail	chart_check.py failed")
	expect_eq "$(grep -c . "$WORK/cases/manifest")" "$CASES" "every chart checked"
	: >"$WORK/cases/manifest"
	CASES=0
}
mkdir "$WORK/cases"
# chart_widths DESC ARGS...: chart at 40, 80 (unset) and 120 columns.
chart_widths() {
	local desc=$1
	shift
	COLUMNS=40 chart "$desc" "$@"
	chart "$desc" "$@"
	COLUMNS=120 chart "$desc" "$@"
}
# on_tty COLS ARGS...: `count ARGS --format chart` with stdout a pty (script's) that stty
# makes COLS columns wide ($COLUMNS, NO_COLOR as they are); the output, CRs taken out, in $WORK/tty.
on_tty() {
	local cols=$1 cmd
	shift
	cmd=$(printf '%q ' "$SCLI" --database "$DB" count "$@" --format chart)
	SHELL=/bin/bash script -qec "stty cols $cols; exec $cmd" /dev/null </dev/null 2>&1 | tr -d '\r' >"$WORK/tty"
}
ESC=$(printf '\033')
REF="--customer b4f9279a0196e40632e947dd1a88e857 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z"
NY="--tz America/New_York"

for BACKEND in $BACKENDS; do
DB=$(fresh_db "$BACKEND" chart) || { fail "cannot create a database"; continue; }
run --database "$DB" init-db
run --database "$DB" load --collector csv --config "$DATA/events.csv" --quiet
expect_rc 0 "load the real data"
run --database "$DB" load --collector csv --config "$WORK/dst.csv" --quiet
expect_rc 0 "load the DST day"

# --- SPEC's reference query, byte for byte ---------------------------------------------------
run --database "$DB" count $REF --format chart
expect_out "$(cat <<'EOF'
b4f9279a0196e40632e947dd1a88e857  hour windows, UTC
  2021-03-01T04:00:00Z   408         ███████████████▌
  2021-03-01T05:00:00Z  1133         ███████████████████████████████████████████
  2021-03-01T06:00:00Z   769 partial █████████████████████████████▏
  total                 2310

partial: a window cut by --from/--to
EOF
)" "the reference query: 408, 1133, 769 (partial), total 2310, 1133 fills 80 columns"
chart_widths "the reference query" $REF

# --- the real data --------------------------------------------------------------------------
chart_widths "several customers, one scale" --customer 30330c9c4e7173ba9474c46ee5191570 \
	--customer b4f9279a0196e40632e947dd1a88e857 --customer nobody --from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z
chart_widths "every customer, a day of hours" --from 2021-03-01 --to 2021-03-02
COLUMNS=40 chart "every customer, --skip-empty" --from 2021-03-01T20:00 --to 2021-03-02T08:00 --skip-empty
chart_widths "group-by event type" --from 2021-03-01T20:00 --to 2021-03-02T06:30 --group-by event_type
# 210e… has two events of its own type, at 21:00 and 05:00: a 1 beside the others' thousands
# is one eighth, never nothing
expect_eq "$(grep -A12 '^210e40d08e40d3df067757f2ce128910  INGEST-WITH-PROXY  ' "$WORK/chart" | grep -c ' 1 \+▏$')" 2 \
	"the two buckets of 1 each get one eighth"
chart_widths "--event-type filter" --from 2021-03-01T20:00 --to 2021-03-02T06:00 --event-type INGEST-WITH-PROXY
grep -q '  event types: INGEST-WITH-PROXY  ' "$WORK/chart" && ok || fail "the header names the filter: $(cat "$WORK/chart")"
chart_widths "--event-type, group-by, --skip-empty" --from 2021-03-01 --to 2021-03-04 --window day \
	--event-type INGEST --event-type INGEST-WITH-PROXY --group-by event_type --skip-empty
chart_widths "New York days over the real data" --from 2021-03-01 --to 2021-03-04 --window day $NY
chart_widths "New York months" --from 2021-02-15 --to 2021-04-01 --window month $NY --customer b4f9279a0196e40632e947dd1a88e857

# --- New York's clocks going back -----------------------------------------------------------
run --database "$DB" count --customer acme --from 2021-11-07T00:00 --to 2021-11-07T03:00 --window hour $NY --format chart
expect_out "$(cat <<'EOF'
acme  hour windows, America/New_York
  2021-11-07T00:00:00-04:00  1 ████████████████████████▌
  2021-11-07T01:00:00-04:00  2 █████████████████████████████████████████████████
  2021-11-07T01:00:00-05:00  2 █████████████████████████████████████████████████
  2021-11-07T02:00:00-05:00  1 ████████████████████████▌
  total                      6
EOF
)" "the two 01:00 hours, each with its offset"
chart_widths "the two 01:00 hours" --customer acme --from 2021-11-07T00:00 --to 2021-11-07T03:00 --window hour $NY
chart_widths "the 25-hour day" --from 2021-11-06 --to 2021-11-09 --window day $NY
chart_widths "hours across the change, cut, grouped" --from 2021-11-07T00:30 --to 2021-11-07T03:30 $NY --group-by event_type
chart_widths "types named, one without events" --customer acme --customer nobody --from 2021-11-07 --to 2021-11-08 \
	--window day $NY --group-by event_type --event-type storage --event-type login
chart_widths "minutes" --customer acme --from 2021-11-07T01:10 --to 2021-11-07T01:20 --window minute $NY --skip-empty

# --- width ----------------------------------------------------------------------------------
run --database "$DB" count $REF --format chart
plain=$OUT
for bad in abc 0 -5 12x ""; do
	COLUMNS=$bad run --database "$DB" count $REF --format chart
	expect_eq "$OUT" "$plain" "COLUMNS='$bad' is not a width: 80"
done
COLUMNS=5 run --database "$DB" count $REF --format chart
expect_out "$(cat <<'EOF'
b4f9279a0196e40632e947dd1a88e857
  hour windows, UTC
  2021-03-01T04:00:00Z   408         ▍
  2021-03-01T05:00:00Z  1133         █
  2021-03-01T06:00:00Z   769 partial ▋
  total                 2310

partial: a window cut by --from/--to
EOF
)" "COLUMNS=5, narrower than the text: the text is never cut, the bars get one column"

# --- a terminal: its width, colour unless NO_COLOR ------------------------------------------
on_tty 60 $REF
grep -q "$ESC\[" "$WORK/tty" && ok || fail "no colour on a terminal: $(cat -v "$WORK/tty")"
COLUMNS=60 chart "the chart a 60-column terminal gets" $REF
plain=$(cat "$WORK/chart")
expect_eq "$(sed "s/$ESC\[[0-9;]*m//g" "$WORK/tty")" "$plain" "on a terminal, without the colour, the chart of COLUMNS=60"
grep -q "^$ESC\[1mb4f9279a0196e40632e947dd1a88e857  hour windows, UTC$ESC\[0m$" "$WORK/tty" && ok ||
	fail "the header is bold: $(cat -v "$WORK/tty")"
grep -q "^  2021-03-01T06:00:00Z   769 $ESC\[2mpartial [█▉▊▋▌▍▎▏]*$ESC\[0m$" "$WORK/tty" && ok ||
	fail "the partial bucket is dimmed: $(cat -v "$WORK/tty")"
NO_COLOR=1 on_tty 60 $REF
expect_eq "$(cat "$WORK/tty")" "$plain" "NO_COLOR=1 on a terminal: no colour"
NO_COLOR= on_tty 60 $REF
grep -q "$ESC\[" "$WORK/tty" && ok || fail "NO_COLOR set but empty does not turn colour off"
COLUMNS=100 on_tty 60 $REF
COLUMNS=100 run --database "$DB" count $REF --format chart
expect_eq "$(sed "s/$ESC\[[0-9;]*m//g" "$WORK/tty")" "$OUT" "COLUMNS wins over the terminal's size"
on_tty 0 $REF
run --database "$DB" count $REF --format chart
expect_eq "$(sed "s/$ESC\[[0-9;]*m//g" "$WORK/tty")" "$OUT" "a terminal that gives no size: 80 columns"
grep -q "$ESC" "$WORK/out" && fail "an escape byte when stdout is not a terminal" || ok

# --- errors ---------------------------------------------------------------------------------
"$SCLI" --database "$DB" count $REF --format chart >/dev/full 2>"$WORK/err"
RC=$? ERR=$(cat "$WORK/err")
expect_rc 1 "a chart that cannot be written"
expect_err_has "cannot write output" "the write error is named"
run --database "$DB" count $REF --format charts
expect_rc 2 "an unknown format"
expect_err_has "unknown format 'charts' (table, csv, json or chart)" "the formats are listed"
check_charts
done
finish
