# Configuration as a CronJob sets it: every load flag has an environment form,
# flags win, bad values name their variable, and `scli config` shows the
# effective settings with every secret masked.
. "$(dirname "$0")/lib.sh"
export SCLI_DATABASE="sqlite:$WORK/env.sqlite"

printf 'a,INGEST,t1,2021-03-01 04:00:00+00\na,INGEST,t2,2021-03-01 04:10:00+00\nbad row\n' >"$WORK/one.csv"
printf '{"customer_id":"b","event_type":"INGEST","transaction_id":"j1","timestamp":"2021-03-01T04:00:00Z"}\n' >"$WORK/two.ndjson"
run init-db
SCLI_COLLECTOR=csv SCLI_CONFIG="$WORK/one.csv" SCLI_REJECTS="$WORK/rej.csv" SCLI_REPORT=json SCLI_QUIET=1 run load
expect_rc 3 "load configured by the environment"
expect_out_has '"status":"completed","load_id":1,"rows_read":3,"inserted":2' "SCLI_COLLECTOR/SCLI_CONFIG/SCLI_REPORT used"
expect_eq "$(grep -c 'bad row' "$WORK/rej.csv")" "1" "SCLI_REJECTS used"
SCLI_COLLECTOR=csv SCLI_CONFIG="$WORK/missing.csv" run load --collector json --config "$WORK/two.ndjson"
expect_rc 0 "flags win over the environment"
expect_out "$WORK/two.ndjson: rows_read=1 inserted=1 duplicates=0 rejected=0" "flag values used"
SCLI_BATCH_SIZE=lots run load --collector csv --config "$WORK/one.csv"
expect_rc 2 "bad SCLI_BATCH_SIZE"
expect_err_has "SCLI_BATCH_SIZE must be 1..1000000, not 'lots'" "bad value names its variable"
SCLI_CONNECTIONS=3 run load --collector csv --config "$WORK/one.csv"
expect_rc 2 "bad SCLI_CONNECTIONS"
expect_err_has "SCLI_CONNECTIONS must be 1 or 2, not '3'" "bad connections names its variable"
run load --collector csv --config "$WORK/one.csv" --connections 0
expect_rc 2 "bad --connections"
expect_err_has "--connections must be 1 or 2, not '0'" "bad --connections names the flag"
SCLI_MAX_REJECTS=-1 run load --collector csv --config "$WORK/one.csv"
expect_rc 2 "bad SCLI_MAX_REJECTS"
# A variable is checked even when its flag is given; a good one loses to the flag.
SCLI_CONNECTIONS=3 run load --collector csv --config "$WORK/one.csv" --connections 1
expect_rc 2 "bad SCLI_CONNECTIONS with --connections"
SCLI_MAX_REJECTS=0 SCLI_QUIET=1 run load --collector csv --config "$WORK/one.csv" --force --max-rejects 5
expect_rc 3 "--max-rejects wins over SCLI_MAX_REJECTS"
run load --collector csv
expect_rc 2 "no --config and no SCLI_CONFIG"
expect_err_has "SCLI_CONFIG" "the message names the variable"

# scli config: effective values and their sources, secrets masked
SCLI_API_TOKEN=tok-s3cret PGPASSWORD=pg-s3cret SCLI_COLLECTOR=json \
	run --database "postgresql://alice:url-s3cret@db.example/metering?sslmode=require" config
expect_rc 0 "config"
expect_out_has "postgresql://alice:***@db.example/metering?sslmode=require" "URL password masked"
expect_out_has "flag --database" "database source is the flag"
expect_out_has "env SCLI_COLLECTOR" "collector source is the environment"
expect_out_has "api_token    ***" "token masked"
case "$OUT" in *s3cret*) fail "a secret was printed: $OUT" ;; *) ok ;; esac
for url in "host=db user=u password=kv-s3cret dbname=x" "host=db password='q s3cret' dbname=x" "postgres://u@db/x?password=q-s3cret&x=1"; do
	run --database "$url" config
	case "$OUT" in *s3cret*) fail "password printed for $url: $OUT" ;; *"password=***"*) ok ;; *) fail "not masked: $OUT" ;; esac
done
# serve takes SCLI_LISTEN and SCLI_THREADS
SCLI_LISTEN=127.0.0.1:0 SCLI_THREADS=3 timeout 3 "$SCLI" serve >/dev/null 2>"$WORK/serve.log"
grep -q 'serving on http://127.0.0.1:[0-9]* (3 threads' "$WORK/serve.log" && ok || fail "SCLI_LISTEN/SCLI_THREADS not used: $(cat "$WORK/serve.log")"
SCLI_THREADS=0 run serve
expect_rc 2 "bad SCLI_THREADS"
unset SCLI_DATABASE
run config
expect_out_has "sqlite:scli.db" "default database"
printf '%s\n' "$OUT" | grep -q '^connections *2 *default$' && ok || fail "connections default 2: $OUT"
SCLI_CONNECTIONS=1 run config
printf '%s\n' "$OUT" | grep -q '^connections *1 *env SCLI_CONNECTIONS$' && ok || fail "connections from the environment: $OUT"
# values are padded by display columns: a non-ASCII path keeps the source column in line
# ("sqlite:données.db" is 18 bytes, 17 columns)
run --database "sqlite:données.db" config
expect_out_has "$(printf 'database     sqlite:données.db%31s flag --database' '')" "config pads by columns, not bytes"
finish
