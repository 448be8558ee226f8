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
# Whole option names only (getopt_long would take `--form` for `--format`), with
# the nearest real option suggested, for the global options and every command.
run count --form 2021-03-01 --to 2021-03-02
expect_rc 2 "count --form"
expect_err_has "scli: error: unknown option '--form' (did you mean --from?)" "--form is not --format"
run count --fro 2021-03-01 --to 2021-03-02
expect_rc 2 "abbreviated --from"
expect_err_has "unknown option '--fro' (did you mean --from?)" "abbreviation suggests the whole name"
run count --fro
expect_rc 2 "abbreviated --from without a value"
expect_err_has "unknown option '--fro' (did you mean --from?)" "abbreviation at the end"
run count --from 2021-03-01 --to 2021-03-02 --skip
expect_rc 2 "count --skip"
expect_err_has "unknown option '--skip' (did you mean --skip-empty?)" "a prefix of one option"
run count --from 2021-03-01 --to 2021-03-02 --skip-empty=yes
expect_rc 2 "a value for a flag that takes none"
expect_err_has "option '--skip-empty' takes no value" "flag value message"
run count --f 2021-03-01 --to 2021-03-02
expect_rc 2 "ambiguous --f"
expect_err_has "unknown option '--f'" "ambiguous abbreviation"
run count -x
expect_rc 2 "unknown short option"
expect_err_has "unknown option '-x'" "short option named"
run loads --lim 5
expect_rc 2 "loads --lim"
expect_err_has "unknown option '--lim' (did you mean --limit?)" "loads suggestion"
run load --colector csv --config /dev/null
expect_rc 2 "load --colector"
expect_err_has "unknown option '--colector' (did you mean --collector?)" "load suggestion"
run serve --listn 127.0.0.1:0
expect_rc 2 "serve --listn"
expect_err_has "unknown option '--listn' (did you mean --listen?)" "serve suggestion"
run init-db --hel
expect_rc 2 "init-db --hel"
expect_err_has "unknown option '--hel' (did you mean --help?)" "init-db suggestion"
run config --bogus
expect_rc 2 "config --bogus"
expect_err_has "unknown option '--bogus'" "config unknown option"
case "$ERR" in *"did you mean"*) fail "a suggestion for an option nothing like it: $ERR" ;; *) ok ;; esac
run --vers
expect_rc 2 "global --vers"
expect_err_has "unknown option '--vers' (did you mean --version?)" "global suggestion"
run --datab "sqlite:$WORK/x.sqlite" init-db
expect_rc 2 "global --datab"
expect_err_has "unknown option '--datab' (did you mean --database?)" "--datab is not --database"
[ ! -e "$WORK/x.sqlite" ] && ok || fail "--datab was taken for --database"
run --databse=postgresql://u:s3cretpw@127.0.0.1:1/db count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "--databse=URL"
expect_err_has "unknown option '--databse' (did you mean --database?)" "--databse suggestion"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac
run --databse postgresql://u:s3cretpw@127.0.0.1:1/db count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "--databse URL"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac
run count --from 2021-03-01 --to 2021-03-02 --custmer=postgresql://u:s3cretpw@h/db
expect_rc 2 "--custmer=VALUE"
expect_err_has "unknown option '--custmer' (did you mean --customer?)" "--custmer suggestion"
case "$ERR" in *s3cretpw*) fail "value printed: $ERR" ;; *) ok ;; esac

run count --from 2021-03-01
expect_rc 2 "count without --to"
# Bad values: every message names the option and the value, then points at --help.
run count --from 2021-03-01 --to 2021-03-02 --format xml
expect_err_has "$(printf "scli: error: unknown format 'xml' (table, csv, json or chart)\n(see \`scli count --help\`)")" "bad --format message"
run loads --limit 0
expect_rc 2 "--limit 0"
expect_err_has "$(printf "scli: error: --limit takes a positive count, not '0'\n(see \`scli loads --help\`)")" "bad --limit message"
run --database= count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "empty --database"
expect_err_has "$(printf "scli: error: --database needs a URL, not an empty string\n(see \`scli --help\`)")" "empty --database message"
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
expect_out '{"from":"2021-03-01T04:00:00Z","to":"2021-03-01T04:00:00Z","window":"hour","time_zone":"UTC","customers":[]}' "A == B gives no buckets"
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
# A bare path is most likely a SQLite file: say how to write it, and create nothing.
run --database "$WORK/x.db" count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "a bare path as the database"
expect_err_has "write sqlite:$WORK/x.db" "bare path gets the sqlite: hint"
SCLI_DATABASE=x.db run init-db
expect_rc 2 "a bare path in SCLI_DATABASE"
expect_err_has "write sqlite:x.db" "SCLI_DATABASE gets the hint too"
[ ! -e x.db ] && [ ! -e "$WORK/x.db" ] && ok || fail "a bare path created a file"
# ... but never one that may hold a password
run --database "postgresq://u:s3cretpw@127.0.0.1:1/db" count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "a mistyped scheme"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac
run --database "u:s3cretpw@db.example/metering" count --from 2021-03-01 --to 2021-03-02
expect_rc 2 "credentials without a scheme"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac

# --opt=value works for the global options and the commands' alike
run "--database=sqlite:$WORK/db.sqlite" count --from=2021-03-01 --to=2021-03-02 --format=csv
expect_rc 0 "--opt=value"
expect_out_has "customer_id,bucket_start,count,partial" "--format=csv taken"

# A password in a database URL never appears in a message.
run --database "postgresql://alice:s3cretpw@127.0.0.1:1/db" count --from 2021-03-01 --to 2021-03-02
expect_rc 1 "postgres URL"
case "$ERR" in *s3cretpw*) fail "password printed: $ERR" ;; *) ok ;; esac

finish
