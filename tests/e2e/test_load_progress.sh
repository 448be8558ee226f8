# On a terminal a long load shows a live progress line on stderr, updated at
# least every second: the file's place in the list, rows, rows/s, percent of
# bytes, elapsed time and ETA. --quiet and a non-terminal stderr show nothing.
. "$(dirname "$0")/lib.sh"
: "${SCLI_GEN:?}"
command -v script >/dev/null || { fail "script (util-linux) is missing"; finish; exit 1; }

export SCLI_DATABASE="sqlite:$WORK/progress.sqlite"
run init-db
"$SCLI_GEN" --rows 300000 --seed 5 --customers 4 --days 3 >"$WORK/a.csv"
"$SCLI_GEN" --rows 300000 --seed 6 --customers 4 --days 3 >"$WORK/b.csv"

# script(1) gives scli a terminal; its transcript holds what the terminal showed
script -qec "'$SCLI' load --collector csv --config '$WORK/a.csv' --config '$WORK/b.csv' --batch-size 100000" \
	"$WORK/typescript" >/dev/null 2>&1
tr '\r' '\n' <"$WORK/typescript" >"$WORK/lines"
grep -q "^.*\[1/2\] loading $WORK/a.csv: [0-9]* rows, [0-9]* rows/s, [0-9]*%, [0-9]*:[0-9][0-9] elapsed" "$WORK/lines" &&
	ok || fail "progress line for file 1 of 2: $(head -c 600 "$WORK/lines")"
grep -q "\[2/2\] loading $WORK/b.csv" "$WORK/lines" && ok || fail "progress names file 2 of 2"
grep -q ", ETA [0-9]*:[0-9][0-9]" "$WORK/lines" && ok || fail "progress shows an ETA"
updates=$(grep -c "\[1/2\] loading" "$WORK/lines")
[ "$updates" -ge 3 ] && ok || fail "progress updates while a batch of 100,000 fills (saw $updates)"
grep -q "a.csv: rows_read=300000" "$WORK/lines" && ok || fail "the report follows the progress"

"$SCLI" load --collector csv --config "$WORK/a.csv" --force --quiet >/dev/null 2>"$WORK/err"
[ ! -s "$WORK/err" ] && ok || fail "--quiet shows no progress: $(cat "$WORK/err")"
finish
