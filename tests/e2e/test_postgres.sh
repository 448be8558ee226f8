# PostgreSQL as operators meet it: concurrent loads end exact, connection and
# authentication failures are one clear line without the password, a server
# that goes away mid-load leaves no half batch and a re-run ends exact, and a
# schema that is too new is refused. Runs on a private server of its own,
# because it stops and restarts it.
if [ -z "${SCLI_TEST_PG_PRIVATE:-}" ]; then
	if ! command -v psql >/dev/null || [ -z "${SCLI_TEST_PG:-}" ]; then
		[ "${CI:-}" = "true" ] && { echo "FAIL: no PostgreSQL in CI" >&2; exit 1; }
		echo "SKIP: no PostgreSQL (run under tests/support/with-postgres.sh)"; exit 77
	fi
	SCLI_TEST_PG_PRIVATE=1 exec "$(dirname "$0")/../support/with-postgres.sh" bash "$0"
fi
. "$(dirname "$0")/lib.sh"
: "${SCLI_GEN:?}"
BACKEND=postgres
as_pg=(${SCLI_TEST_PG_AS:-})
pg_stop() { "${as_pg[@]}" "$SCLI_TEST_PG_BIN/pg_ctl" -D "$SCLI_TEST_PG_DIR/data" -m immediate -w stop >/dev/null; }
pg_start() { "${as_pg[@]}" "$SCLI_TEST_PG_BIN/pg_ctl" -D "$SCLI_TEST_PG_DIR/data" -l "$SCLI_TEST_PG_DIR/server.log" -w start >/dev/null; }

# --- two overlapping loads at the same time end exact ------------------------
# No duplicates inside a file here: with two copies of one identity at different
# times, which copy is "first" depends on which load gets there first.
"$SCLI_GEN" --rows 200000 --seed 7 --customers 6 --days 2 --dup-permille 0 >"$WORK/a.csv"
"$SCLI_GEN" --rows 100000 --seed 8 --customers 6 --days 2 --dup-permille 0 >"$WORK/b-new.csv"
{ tail -n 120000 "$WORK/a.csv"; cat "$WORK/b-new.csv"; } | sort -R --random-source=<(yes) >"$WORK/b.csv"

export SCLI_DATABASE
SCLI_DATABASE=$(fresh_db postgres concurrent)
run init-db
expect_rc 0 "init-db"
"$SCLI" load --collector csv --config "$WORK/a.csv" --batch-size 5000 >"$WORK/la" 2>&1 &
pa=$!
"$SCLI" load --collector csv --config "$WORK/b.csv" --batch-size 5000 >"$WORK/lb" 2>&1 &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
expect_eq "$ra/$rb" "0/0" "both concurrent loads succeed ($(cat "$WORK/la" "$WORK/lb"))"
ins=$(cat "$WORK/la" "$WORK/lb" | sed -n 's/.* inserted=\([0-9]*\) .*/\1/p' | awk '{s+=$1} END {print s}')
distinct=$(cat "$WORK/a.csv" "$WORK/b.csv" | cut -d, -f1,3 | sort -u | wc -l)
expect_eq "$ins" "$distinct" "inserted by both loads = distinct identities of both files"
run count --from 2021-03-01 --to 2021-03-03 --format csv
pg_counts=$OUT
pg_url=$SCLI_DATABASE
# the same files loaded one after the other into SQLite give the same answer
SCLI_DATABASE="sqlite:$WORK/ref.sqlite"
run init-db
run load --collector csv --config "$WORK/a.csv" --config "$WORK/b.csv"
run count --from 2021-03-01 --to 2021-03-03 --format csv
expect_eq "$pg_counts" "$OUT" "concurrent PostgreSQL loads count exactly like sequential SQLite loads"
expect_eq "$(printf '%s\n' "$pg_counts" | tail -n +2 | awk -F, '{s+=$3} END {print s}')" "$distinct" "every distinct event counted once"
# the rollup agrees with the raw events, hour by hour
drift=$(psql -X -At "$pg_url" -c \
	"SELECT count(*) FROM (SELECT customer_key, to_timestamp(floor(extract(epoch FROM ts) / 900) * 900) c, event_type, count(*) n FROM scli_events GROUP BY 1, 2, 3) e FULL JOIN scli_rollup r ON r.customer_key = e.customer_key AND r.cell = e.c AND r.event_type = e.event_type WHERE r.count IS DISTINCT FROM e.n")
expect_eq "$drift" "0" "rollup equals raw events in every 15-minute cell and event type"

# --- a role allowed one connection still loads exactly ----------------------
# A load stores each batch over two connections; when the second cannot be had
# (here: CONNECTION LIMIT 1) it goes on with one, and the counts are the same.
SCLI_DATABASE=$(fresh_db postgres onelink)
run init-db
psql -X -q "$SCLI_DATABASE" -c "CREATE ROLE scli_one LOGIN CONNECTION LIMIT 1" \
	-c "GRANT ALL ON ALL TABLES IN SCHEMA public TO scli_one" \
	-c "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO scli_one" \
	-c "GRANT TEMP ON DATABASE $(printf '%s' "$SCLI_DATABASE" | sed 's/.*dbname=//') TO scli_one"
run --database "$SCLI_DATABASE user=scli_one" load --collector csv --config "$WORK/a.csv" --config "$WORK/b.csv" --batch-size 20000
expect_rc 0 "load as a role limited to one connection ($ERR)"
run --database "$SCLI_DATABASE user=scli_one" count --from 2021-03-01 --to 2021-03-03 --format csv
expect_eq "$OUT" "$pg_counts" "one connection counts exactly like two"
# --connections 1 does not even try a second connection (the server logs every refused one)
refused() { grep -c 'too many connections for role "scli_one"' "$SCLI_TEST_PG_DIR/server.log"; }
before=$(refused)
SCLI_CONNECTIONS=2 run --database "$SCLI_DATABASE user=scli_one" load --collector csv --config "$WORK/a.csv" --force --connections 1
expect_rc 0 "load --connections 1"
expect_eq "$(refused)" "$before" "--connections 1 opens one connection (the flag wins over SCLI_CONNECTIONS)"
SCLI_CONNECTIONS=2 run --database "$SCLI_DATABASE user=scli_one" load --collector csv --config "$WORK/a.csv" --force
expect_rc 0 "load with SCLI_CONNECTIONS=2"
expect_eq "$(( $(refused) > before ))" "1" "two connections are asked for by default"
run --database "$SCLI_DATABASE user=scli_one" count --from 2021-03-01 --to 2021-03-03 --format csv
expect_eq "$OUT" "$pg_counts" "forced re-loads over one and two connections change no count"

# --- a table lock queued behind a load does not hang it ----------------------
# A batch's two connections commit together, so while the client waits for one
# the other sits idle in its transaction. Here connection 1's share of batch 2 is
# held back (its staging table locked) until connection 0 has merged; then a
# DBA's LOCK TABLE queues behind connection 0, and connection 1 behind the DBA:
# no server sees that cycle. The load must bound the wait, roll the batch back,
# store it over one connection and end exact — not hang.
q() { psql -X -At "$SCLI_DATABASE" -c "$1"; }
poll() { # poll SQL: until the condition it selects is true (at most 10 s)
	for _ in $(seq 100); do [ "$(q "$1")" = "t" ] && return 0; sleep 0.1; done
	return 1
}
stage_of() { # stage_of first|last: the staging table of the load's first or second connection
	q "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = 'scli_stage' ORDER BY c.oid $([ "$1" = first ] && echo ASC || echo DESC) LIMIT 1"
}
timeouts() { grep -c 'canceling statement due to lock timeout' "$SCLI_TEST_PG_DIR/server.log"; }
# start_load NAME: load $WORK/lc.csv through a FIFO; returns once batch 1 is stored
start_load() {
	SCLI_DATABASE=$(fresh_db postgres "$1")
	run init-db
	rm -f "$WORK/lc.fifo" "$WORK/lock.fifo" "$WORK/lock.out"
	mkfifo "$WORK/lc.fifo" "$WORK/lock.fifo"
	timeout 60 "$SCLI" load --collector csv --config - --batch-size 2000 <"$WORK/lc.fifo" >"$WORK/lc.out" 2>&1 &
	lp=$!
	exec 3>"$WORK/lc.fifo"
	head -n 3000 "$WORK/lc.csv" >&3
	poll "SELECT (SELECT count(*) FROM scli_loads WHERE state = 'running') = 1 AND
		(SELECT count(*) FROM pg_class WHERE relname = 'scli_stage') = 2 AND
		(SELECT count(*) FROM scli_events) = 2000" || fail "batch 1 of $1 stored over two connections"
}
# hold_lock TABLE MODE: a session holding a lock until release_lock
hold_lock() {
	psql -X -At "$SCLI_DATABASE" <"$WORK/lock.fifo" >"$WORK/lock.out" 2>&1 3>&- &
	pl=$!
	exec 4>"$WORK/lock.fifo"
	echo "BEGIN; LOCK TABLE $1 IN $2 MODE; SELECT 'locked';" >&4
	for _ in $(seq 100); do grep -q locked "$WORK/lock.out" && break; sleep 0.1; done
}
release_lock() { echo "COMMIT;" >&4; exec 4>&-; wait $pl; }
"$SCLI_GEN" --rows 6000 --seed 3 --customers 6 --days 1 --dup-permille 0 >"$WORK/lc.csv"
distinct=$(cut -d, -f1,3 "$WORK/lc.csv" | sort -u | wc -l)

start_load lockchain
hold_lock "$(stage_of last).scli_stage" "ACCESS EXCLUSIVE"
before=$(timeouts)
tail -n +3001 "$WORK/lc.csv" >&3
exec 3>&-
# batch 2: connection 0 merged and waits, connection 1 waits for its staging table
poll "SELECT count(*) FILTER (WHERE state = 'idle in transaction' AND query LIKE 'WITH p AS%') = 1 AND
	count(*) FILTER (WHERE wait_event_type = 'Lock' AND query LIKE 'COPY%') = 1
	FROM pg_stat_activity WHERE datname = current_database()" || fail "the lock chain formed"
q "BEGIN; LOCK TABLE scli_rollup IN SHARE MODE; COMMIT" >/dev/null 2>&1 &
pd=$!
poll "SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 'scli_rollup'::regclass" ||
	fail "the DBA's lock queued"
release_lock # connection 1 goes on, into the queue behind the DBA's lock
wait $lp
expect_eq "$?" "0" "a load with a table lock queued behind it finishes ($(cat "$WORK/lc.out"))"
wait $pd
expect_eq "$(( $(timeouts) > before ))" "1" "the wait was cut by lock_timeout"
# expect_load_said TEXT DESCRIPTION: the FIFO load's report holds TEXT
expect_load_said() { case "$(cat "$WORK/lc.out")" in *"$1"*) ok ;; *) fail "$2: $(cat "$WORK/lc.out")" ;; esac; }
expect_load_said "inserted=$distinct duplicates=0" "the retried batch is reported once, as inserted"
expect_eq "$(q "SELECT (SELECT count(*) FROM scli_events) || ' ' || (SELECT sum(count) FROM scli_rollup)")" \
	"$distinct $distinct" "every event stored once and counted once in the rollup"

# --- connection 0's COMMIT waits for its staging table: no half batch ----------
# COMMIT empties the staging table (ON COMMIT DELETE ROWS), which takes a lock.
# Connection 1 has committed by then; connection 0 must wait, not give up and
# leave half of the batch behind.
start_load commitwait
hold_lock "$(stage_of first).scli_stage" "ACCESS SHARE"
# written from the background: the load may stop reading while its COMMIT
# waits, and a writer blocked on a full pipe must not block the test
tail -n +3001 "$WORK/lc.csv" >&3 &
tw=$!
exec 3>&-
poll "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND query LIKE '%COMMIT%') = 1
	FROM pg_stat_activity WHERE datname = current_database()" || fail "connection 0's COMMIT waits"
sleep 6 # longer than the two-connection lock_timeout
release_lock
wait $lp
rc=$?
wait $tw
expect_eq "$rc" "0" "a COMMIT kept waiting for its staging table still ends the load ($(cat "$WORK/lc.out"))"
expect_load_said "inserted=$distinct duplicates=0" "every event reported inserted, none as a duplicate"
expect_eq "$(q "SELECT (SELECT count(*) FROM scli_events) || ' ' || (SELECT sum(count) FROM scli_rollup)")" \
	"$distinct $distinct" "every event stored once and counted once after the wait"

# --- connection and authentication failures ---------------------------------
run --database "host=$SCLI_TEST_PG_DIR port=1 user=postgres dbname=postgres password=hunter2-secret" count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "connection refused"
expect_err_has "scli: error: postgres: cannot connect" "connection refused message"
expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" "1" "one line"
case "$ERR" in *hunter2-secret*) fail "password printed: $ERR" ;; *) ok ;; esac
run --database "postgresql://$SCLI_TEST_PG_PWUSER:wrong-$SCLI_TEST_PG_PASSWORD@/postgres?host=$SCLI_TEST_PG_DIR" init-db
expect_rc 1 "authentication failure"
expect_err_has "password authentication failed" "authentication failure message"
case "$ERR" in *"$SCLI_TEST_PG_PASSWORD"*) fail "password printed: $ERR" ;; *) ok ;; esac
PGPASSWORD=$SCLI_TEST_PG_PASSWORD run --database "postgresql://$SCLI_TEST_PG_PWUSER@/postgres?host=$SCLI_TEST_PG_DIR" count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "PGPASSWORD works (database just not initialised)"
expect_err_has "scli init-db" "PGPASSWORD authenticated and reached the schema check"

# a connection string libpq cannot parse is not quoted back (it holds the password)
for bad in "postgresql://u:Sup3r%zzSecret@/postgres?host=$SCLI_TEST_PG_DIR" "host=$SCLI_TEST_PG_DIR user=u password=Sup3r Secret"; do
	run --database "$bad" count --from 2021-03-01 --to 2021-03-02
	expect_rc 2 "unparseable connection string"
	case "$ERR" in *Sup3r*|*Secret*) fail "password printed: $ERR" ;; *) ok ;; esac
done
run --databse="postgresql://u:Sup3rSecret@/postgres" count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "mistyped option with a URL"
case "$ERR" in *Sup3r*) fail "password printed: $ERR" ;; *) ok ;; esac

# a role that may only read can count (no temp tables needed)
psql -X -q "$pg_url" -c "CREATE ROLE reader LOGIN" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader" \
	-c "REVOKE TEMP ON DATABASE $(psql -X -At "$pg_url" -c 'SELECT current_database()') FROM PUBLIC" >/dev/null
run --database "$pg_url user=reader" count --from 2021-03-01 --to 2021-03-03 --format csv
expect_rc 0 "read-only role counts ($ERR)"
expect_eq "$OUT" "$pg_counts" "read-only role sees the same counts"

# --- schema too new -----------------------------------------------------------
SCLI_DATABASE=$(fresh_db postgres toonew)
run init-db
psql -X -q "$SCLI_DATABASE" -c "UPDATE scli_meta SET value = '99' WHERE key = 'schema_version'"
run count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "count on a too-new schema"
expect_err_has "newer than this scli understands" "too-new message"
run init-db
expect_rc 1 "init-db on a too-new schema"

# --- the server goes away mid-load ---------------------------------------------
"$SCLI_GEN" --rows 600000 --seed 9 --customers 6 --days 2 >"$WORK/big.csv"
SCLI_DATABASE=$(fresh_db postgres crash)
run init-db
"$SCLI" load --collector csv --config "$WORK/big.csv" --batch-size 5000 >"$WORK/lc" 2>"$WORK/lc.err" &
pc=$!
for _ in $(seq 100); do # wait until some batches are committed
	n=$(psql -X -At "$SCLI_DATABASE" -c "SELECT count(*) FROM scli_events" 2>/dev/null || echo 0)
	[ "${n:-0}" -gt 20000 ] && break
	sleep 0.1
done
pg_stop
wait $pc; rc=$?
expect_eq "$rc" "1" "load exits 1 when the server goes away ($(cat "$WORK/lc.err"))"
expect_eq "$(grep -c . "$WORK/lc.err")" "1" "one error line"
pg_start
committed=$(psql -X -At "$SCLI_DATABASE" -c "SELECT count(*) FROM scli_events")
expect_eq "$(( committed % 5000 == 0 || committed > 0 ))" "1" "committed batches stay"
rollup=$(psql -X -At "$SCLI_DATABASE" -c "SELECT coalesce(sum(count), 0) FROM scli_rollup")
expect_eq "$rollup" "$committed" "no half-applied batch: rollup = stored events ($committed)"
run load --collector csv --config "$WORK/big.csv" --quiet
expect_rc 0 "re-run after restart"
run count --from 2021-03-01 --to 2021-03-03 --format csv
after=$OUT
SCLI_DATABASE="sqlite:$WORK/big.sqlite"
run init-db
run load --collector csv --config "$WORK/big.csv" --quiet
run count --from 2021-03-01 --to 2021-03-03 --format csv
expect_eq "$after" "$OUT" "a killed-then-rerun load ends exactly as one clean load"

finish
