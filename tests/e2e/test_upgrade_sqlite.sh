# A SQLite database written by the schema-2 code (tests/fixtures/v2, see make.sh)
# upgraded in place by init-db to the current schema: the same answers, the old
# loads still listed, every event still there (a re-load is all duplicates), and
# no table of the old names left.
. "$(dirname "$0")/lib.sh"
: "${SCLI_SOURCE_DIR:?}"
command -v sqlite3 >/dev/null || { fail "sqlite3 is missing (make deps installs it)"; finish; exit 1; }

FIX="$SCLI_SOURCE_DIR/tests/fixtures/v2"
DB="$WORK/v2.sqlite"
sqlite3 "$DB" <"$FIX/sqlite.sql" || fail "the v2 dump does not load"
export SCLI_DATABASE="sqlite:$DB"
expect_eq "$(sqlite3 "$DB" "SELECT value FROM scli_meta WHERE key = 'schema_version'")" "2" "the fixture is a version-2 database"

run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_rc 1 "count refuses the old schema"
expect_err_has "run \`scli init-db\` to upgrade" "count says to upgrade"

run init-db
expect_rc 0 "init-db upgrades"
expect_out_has "schema version 4" "init-db reports version 4"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'hourly')")" "0" "no table named events or hourly remains"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'scli\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\\'")" "0" "every table is scli_…"

run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_rc 0 "count after the upgrade"
expect_eq "$OUT" "$(cat "$FIX/count-all.csv")" "all customers: the version-2 answers"
run count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_eq "$OUT" "$(cat "$FIX/count-bdd.csv")" "one customer: the version-2 answers"
# edges from raw events too: a range that cuts hours
run count --from 2021-03-01T00:20:00Z --to 2021-03-07T23:40:00Z --format csv
expect_rc 0 "count with partial hours"
sum() { printf '%s\n' "$1" | tail -n +2 | awk -F, '{s += $3} END {print s + 0}'; }
expect_eq "$(sum "$OUT")" "$(sqlite3 "$DB" "SELECT count(*) FROM scli_events WHERE ts_us >= 1614558000000000 AND ts_us < 1615160400000000")" "partial hours count the raw events"

run loads --format json
expect_rc 0 "loads after the upgrade"
expect_eq "$(printf '%s\n' "$OUT" | grep -o '"state":"completed"' | wc -l | tr -d ' ')" "2" "the two version-2 loads are still listed"

head -3000 "$SCLI_SOURCE_DIR/data/sample.csv" >"$WORK/a.csv"
run load --collector csv --config "$WORK/a.csv" --force
expect_rc 0 "re-load after the upgrade"
expect_out_has "rows_read=3000 inserted=0 duplicates=3000 rejected=0" "every event was already there"
run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_eq "$OUT" "$(cat "$FIX/count-all.csv")" "counts unchanged by the re-load"

run init-db
expect_rc 0 "init-db again is a no-op"
run count --from 2021-03-01T00:00:00Z --to 2021-03-08T00:00:00Z --format csv
expect_eq "$OUT" "$(cat "$FIX/count-all.csv")" "counts unchanged by a second init-db"
finish
