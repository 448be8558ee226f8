# data/sample.csv is what the project's generator makes (deterministic), and the
# README's main command works on it.
. "$(dirname "$0")/lib.sh"
: "${SCLI_GEN:?}" "${SCLI_SOURCE_DIR:?}"

"$SCLI_GEN" --rows 5000 --seed 42 --customers 5 --days 3 --start 2021-03-01 >"$WORK/sample.csv"
if cmp -s "$WORK/sample.csv" "$SCLI_SOURCE_DIR/data/sample.csv"; then ok; else fail "data/sample.csv differs from the generator's output (run make sample)"; fi
"$SCLI_GEN" --rows 5000 --seed 42 --customers 5 --days 3 --start 2021-03-01 | cmp -s - "$WORK/sample.csv" && ok || fail "generator is not deterministic"

export SCLI_DATABASE="sqlite:$WORK/db.sqlite"
run init-db
run load --collector csv --config "$SCLI_SOURCE_DIR/data/sample.csv"
expect_rc 0 "sample loads without rejects"
rows=$(grep -c . "$SCLI_SOURCE_DIR/data/sample.csv")
dups=$(cut -d, -f1,3 "$SCLI_SOURCE_DIR/data/sample.csv" | sort | uniq -c | awk '{s += $1 - 1} END {print s + 0}')
expect_out_has "rows_read=$rows inserted=$((rows - dups)) duplicates=$dups rejected=0" "sample report matches the file's distinct identities"
run count --from 2021-03-01 --to 2021-03-04 --format csv
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{s+=$3} END {print s}')" "$((rows - dups))" "all distinct events counted"

finish
