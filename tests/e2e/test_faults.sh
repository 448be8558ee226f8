# Faults a CronJob meets: the disk fills up, the database file is read-only, and
# the load is killed with SIGKILL at random points. Every time: a clean error, a
# consistent database (the rollup equals the raw events: no half batch), and a
# re-run that ends exactly as one clean load.
. "$(dirname "$0")/lib.sh"
: "${SCLI_GEN:?}"
command -v sqlite3 >/dev/null || { fail "sqlite3 is missing (make deps installs it)"; finish; exit 1; }

consistent() { # consistent DBFILE: prints "events rollup" sums
	sqlite3 "$1" "SELECT (SELECT count(*) FROM scli_events) || ' ' || (SELECT coalesce(sum(count), 0) FROM scli_rollup)"
}
# the SQLite tables' names, as the adapter makes them
sqlite3 ":memory:" "select 1" >/dev/null

rows=${SCLI_FAULT_ROWS:-1000000}
"$SCLI_GEN" --rows "$rows" --seed 21 --customers 8 --days 10 >"$WORK/events.csv"
export SCLI_DATABASE="sqlite:$WORK/ref.sqlite"
run init-db
run load --collector csv --config "$WORK/events.csv" --quiet
expect_rc 0 "reference load"
run count --from 2021-03-01 --to 2021-03-12 --format csv
reference=$OUT

# ---- a full disk (a 4 MiB tmpfs), when we may mount one ----------------------
if [ "$(id -u)" -eq 0 ] && mkdir -p "$WORK/small" && mount -t tmpfs -o size=4m tmpfs "$WORK/small" 2>/dev/null; then
	SCLI_DATABASE="sqlite:$WORK/small/full.sqlite"
	run init-db
	run load --collector csv --config "$WORK/events.csv" --quiet --batch-size 2000
	expect_rc 1 "load on a full disk"
	expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" "1" "one error line ($ERR)"
	expect_err_has "scli: error: sqlite:" "the error comes from the database"
	set -- $(consistent "$WORK/small/full.sqlite")
	expect_eq "$1" "$2" "after ENOSPC the rollup equals the stored events ($1)"
	[ "$1" -gt 0 ] && ok || fail "some batches should have been committed before the disk filled"
	run count --from 2021-03-01 --to 2021-03-12 --format csv
	expect_rc 0 "count still works on the full disk"
	umount "$WORK/small"
else
	echo "note: not root or no tmpfs: the full-disk case is skipped"
	[ "${CI:-}" = "true" ] && fail "CI must run the full-disk case (root, tmpfs)"
fi

# ---- a read-only database ---------------------------------------------------------
cp "$WORK/ref.sqlite" "$WORK/ro.sqlite"
if [ "$(id -u)" -eq 0 ] && mkdir -p "$WORK/romnt" && mount -t tmpfs -o size=1g tmpfs "$WORK/romnt" 2>/dev/null; then
	cp "$WORK/ro.sqlite" "$WORK/romnt/ro.sqlite"
	mount -o remount,ro "$WORK/romnt"
	rodb="$WORK/romnt/ro.sqlite"
else
	chmod 0444 "$WORK/ro.sqlite"; rodb="$WORK/ro.sqlite"
fi
printf 'r,INGEST,r1,2021-03-01 04:00:00+00\n' >"$WORK/one.csv"
SCLI_DATABASE="sqlite:$rodb"
run load --collector csv --config "$WORK/one.csv"
expect_rc 1 "load into a read-only database"
expect_err_has "scli: error: " "clear error"
case "$ERR" in *"readonly"*|*"read-only"*|*"read only"*|*"unable to open"*) ok ;; *) fail "the message should say why: $ERR" ;; esac
mountpoint -q "$WORK/romnt" 2>/dev/null && umount "$WORK/romnt"

# ---- SIGKILL at 20 random points (0.1-3 s into a 1M-row load), each followed by a re-run ----
SCLI_DATABASE="sqlite:$WORK/kill.sqlite"
run init-db
RANDOM=42
for point in $(seq 20); do
	"$SCLI" load --collector csv --config "$WORK/events.csv" --quiet --force --batch-size 5000 >/dev/null 2>&1 &
	pid=$!
	sleep "$(( RANDOM % 3 )).$(( RANDOM % 9 + 1 ))$(( RANDOM % 10 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	set -- $(consistent "$WORK/kill.sqlite")
	[ "$1" = "$2" ] || fail "kill $point: rollup $2 != events $1 (a half-applied batch)"
done
ok
run load --collector csv --config "$WORK/events.csv" --quiet --force
expect_rc 0 "re-run after 20 kills"
run count --from 2021-03-01 --to 2021-03-12 --format csv
expect_eq "$OUT" "$reference" "after 20 kills and a re-run the counts are exactly one clean load's"
run loads --format json --limit 30
expect_out_has '"state":"running"' "killed loads stay 'running' in the ledger"
finish
