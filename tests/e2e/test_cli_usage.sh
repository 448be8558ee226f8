# The CLI's contract for arguments: help, version, usage errors and their exit codes.
. "$(dirname "$0")/lib.sh"
export SCLI_DATABASE="sqlite:$WORK/db.sqlite"

run --help
expect_rc 0 "--help"
for cmd in init-db load count; do
	expect_out_has "$cmd" "--help lists $cmd"
done
run --version
expect_rc 0 "--version"
expect_out_has "scli 0." "--version prints the version"
for cmd in init-db load count; do
	run "$cmd" --help
	expect_rc 0 "$cmd --help"
	expect_out_has "usage: scli" "$cmd --help prints usage"
done

run
expect_rc 2 "no command"
run frobnicate
expect_rc 2 "unknown command"
expect_err_has "scli: error: unknown command 'frobnicate'" "unknown command message"
run --bogus
expect_rc 2 "unknown global flag"
run count --bogus
expect_rc 2 "unknown count flag"
expect_err_has "scli: error: unknown option '--bogus'" "unknown flag message"
run count --from 2021-03-01
expect_rc 2 "count without --to"
run count --from
expect_rc 2 "flag without value"

# Everything below needs a database.
run init-db
expect_rc 0 "init-db"
run init-db
expect_rc 0 "init-db again (idempotent)"

run count --from 2021-02-29 --to 2021-03-02
expect_rc 2 "impossible date in --from"
expect_err_has 'scli: error: --from: invalid timestamp "2021-02-29"' "bad --from message"
run count --from 2021-03-01T24:00:00Z --to 2021-03-02
expect_rc 2 "hour 24"
run count --from 2021-03-01 --to 2021-03-02x
expect_rc 2 "trailing garbage"
expect_err_has '--to: invalid timestamp' "bad --to message"
run count --from 2021-03-02 --to 2021-03-01
expect_rc 2 "from after to"
expect_err_has "--from is after --to" "from > to message"
run count --from 2000-01-01 --to 2020-01-01
expect_rc 2 "more than 100000 buckets"
expect_err_has "100000" "bucket limit named"
run count --from 2021-03-01T04:00:00Z --to 2021-03-01T04:00:00Z --format json
expect_rc 0 "A == B"
expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T04:00:00Z","window":"hour","customers":[]}' "A == B gives no buckets"
run count --from 2021-03-01 --to 2021-03-02 --format xml
expect_rc 2 "unknown format"
run load --collector csv
expect_rc 2 "load without --config"
run load --collector xml --config /dev/null
expect_rc 2 "unknown collector"
run load --config /dev/null
expect_rc 2 "load without --collector"

# A missing database is a runtime error that says what to do.
run --database "sqlite:$WORK/missing.sqlite" count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "count on a missing database"
expect_err_has "scli init-db" "missing database names init-db"
[ ! -e "$WORK/missing.sqlite" ] && ok || fail "count created the database file"

run --database "nonsense" count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "unrecognised database URL"
expect_err_has "unrecognised database URL" "bad URL message"

# A password in a database URL never appears in a message.
run --database "postgresql://alice:s3cretpw@127.0.0.1:1/db" count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "postgres URL"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac

finish
