# Acceptance: the real data set reproduces the published answers exactly.
. "$(dirname "$0")/lib.sh"
DATA="${SCLI_SHARED_DATA:-}/metronome"
if [ ! -f "$DATA/events.csv" ]; then
	# CI always has ../shared; only a bare checkout elsewhere may lack it.
	if [ "${CI:-}" = "true" ]; then echo "FAIL: $DATA/events.csv missing in CI" >&2; exit 1; fi
	echo "SKIP: $DATA/events.csv not found"; exit 77
fi

suite() {
run init-db
expect_rc 0 "init-db"
run load --collector csv --config "$DATA/events.csv" --quiet
expect_rc 0 "load real data"
expect_out "$DATA/events.csv: rows_read=147370 inserted=147370 duplicates=0 rejected=0" "real data load report"

run count --customer b4f9279a0196e40632e947dd1a88e857 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z --format json
expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T06:30:00Z","window":"hour","time_zone":"UTC","customers":[{"customer_id":"b4f9279a0196e40632e947dd1a88e857","total":2310,"buckets":[{"start":"2021-03-01T04:00:00Z","count":408,"partial":false},{"start":"2021-03-01T05:00:00Z","count":1133,"partial":false},{"start":"2021-03-01T06:00:00Z","count":769,"partial":true}]}]}' "published answer, customer b4f9..."

run count --customer 30330c9c4e7173ba9474c46ee5191570 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z --format csv
expect_out "$(printf 'customer_id,bucket_start,count,partial\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T04:00:00Z,36,false\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T05:00:00Z,9,false\r\n30330c9c4e7173ba9474c46ee5191570,2021-03-01T06:00:00Z,9,true\r')" "published answer, customer 3033..."

# All customers over the whole 72 hours: 7 customers, 147370 events, and each
# hour's total equal to the published all-customer totals.
run count --from 2021-03-01 --to 2021-03-04 --format csv
expect_rc 0 "all-customer count"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f1 | sort -u | wc -l)" "7" "7 customers"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{s+=$3} END {print s}')" "147370" "every event counted once"
printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{h[$2]+=$3} END {for (k in h) print k "," h[k]}' | sort >"$WORK/ours"
tail -n +2 "$DATA/teakopp-simple-aggregator_output_hourly_totals_all_customers.csv" | tr -d '"\r' | sort >"$WORK/published"
if diff -q "$WORK/ours" "$WORK/published" >/dev/null; then ok; else fail "hourly totals differ from the published ones: $(diff "$WORK/ours" "$WORK/published" | head -5)"; fi
expect_eq "$(wc -l <"$WORK/ours")" "72" "72 hours"

# Loading it again changes nothing.
run load --collector csv --config "$DATA/events.csv" --quiet
expect_out_has "already loaded (load 1), skipped" "reload of the same file is skipped by the ledger"
run load --collector csv --config "$DATA/events.csv" --quiet --force
expect_out "$DATA/events.csv: rows_read=147370 inserted=0 duplicates=147370 rejected=0" "forced reload: all duplicates"
run count --customer b4f9279a0196e40632e947dd1a88e857 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:30:00Z --format csv
expect_out_has "b4f9279a0196e40632e947dd1a88e857,2021-03-01T05:00:00Z,1133,false" "counts unchanged after reload"
}

for BACKEND in $BACKENDS; do
	SCLI_DATABASE=$(fresh_db "$BACKEND" real) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE
	suite
done
finish
