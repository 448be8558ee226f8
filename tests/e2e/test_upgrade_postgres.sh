# A PostgreSQL database written by the schema-2 code (tests/fixtures/v2, made
# by make.sh there) is upgraded in place by init-db: the same answers as before,
# its ledger kept, and a re-load of its first file finds every event there.
if [ -z "${SCLI_TEST_PG:-}" ] || ! command -v psql >/dev/null; then
	[ "${CI:-}" = "true" ] && { echo "FAIL: no PostgreSQL in CI" >&2; exit 1; }
	echo "SKIP: no PostgreSQL (run under tests/support/with-postgres.sh)"; exit 77
fi
. "$(dirname "$0")/lib.sh"
: "${SCLI_SOURCE_DIR:?}"
BACKEND=postgres
FIX="$SCLI_SOURCE_DIR/tests/fixtures/v2"
export SCLI_DATABASE
SCLI_DATABASE=$(fresh_db postgres upgrade)
q() { psql -X -At "$SCLI_DATABASE" -c "$1"; }

psql -X -q -v ON_ERROR_STOP=1 "$SCLI_DATABASE" -f "$FIX/postgres.sql" >"$WORK/restore.log" 2>&1
expect_eq "$?" "0" "the version-2 dump restores ($(cat "$WORK/restore.log"))"
events_before=$(q "SELECT count(*) FROM scli_events")

run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_rc 1 "a version-2 database is refused before init-db"
expect_err_has "run \`scli init-db\` to upgrade" "the refusal says what to do"

run init-db
expect_rc 0 "init-db upgrades version 2 ($ERR)"
expect_eq "$(q "SELECT value FROM scli_meta WHERE key = 'schema_version'")" "4" "schema version 4"
expect_eq "$(q "SELECT count(*) FROM scli_events")" "$events_before" "every event kept"
expect_eq "$(q "SELECT to_regclass('scli_hourly') IS NULL AND to_regclass('scli_events_v3') IS NULL")" "t" \
	"the old tables are gone"
expect_eq "$(q "SELECT length(value) FROM scli_meta WHERE key = 'identity_secret'")" "32" "an identity secret made"

run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_rc 0 "count after the upgrade"
printf '%s\n' "$OUT" | cmp -s - "$FIX/count-all.csv" && ok || fail "all customers: not the version-2 answer"
run count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
printf '%s\n' "$OUT" | cmp -s - "$FIX/count-bdd.csv" && ok || fail "one customer: not the version-2 answer"

run loads --format json
expect_rc 0 "loads after the upgrade"
expect_eq "$(printf '%s' "$OUT" | grep -o '"state":"completed"' | wc -l)" "2" "the two old loads are listed ($OUT)"

head -3000 "$SCLI_SOURCE_DIR/data/sample.csv" >"$WORK/a.csv"
run load --collector csv --config "$WORK/a.csv" --force
expect_rc 0 "re-load of the first file ($ERR)"
expect_out_has "inserted=0 duplicates=3000" "every event of the re-load is already there ($OUT $ERR)"
run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
printf '%s\n' "$OUT" | cmp -s - "$FIX/count-all.csv" && ok || fail "counts changed by the re-load"
run init-db
expect_rc 0 "init-db again is a no-op"
expect_eq "$(q "SELECT count(*) FROM scli_events")" "$events_before" "still every event, once"
finish
