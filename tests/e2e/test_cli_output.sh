# What scli writes on stdout: a failed write is a failure (exit 1) for every
# command, a failed command prints nothing, the count table lines up by display
# columns, and `scli loads` names each load's collector.
. "$(dirname "$0")/lib.sh"

# full ARGS...: runs scli with stdout on /dev/full (every write fails with ENOSPC).
full() {
	"$SCLI" "$@" >/dev/full 2>"$WORK/err"
	RC=$?
	ERR=$(cat "$WORK/err")
}
expect_write_error() { # expect_write_error DESCRIPTION
	expect_rc 1 "$1 with stdout on /dev/full"
	expect_err_has "scli: error: cannot write output: No space left on device" "$1 reports the write error"
}

# Commands that need no database.
full --help
expect_write_error "--help"
full --version
expect_write_error "--version"
full count --help
expect_write_error "count --help"
full --database "sqlite:$WORK/none.sqlite" config
expect_write_error "config"

printf 'customer_id,event_type,transaction_id,timestamp\na,E,t1,2021-03-01T00:10:00Z\n' >"$WORK/one.csv"
# ids whose bytes and columns differ: 2-byte ü (1 column), 3-byte CJK (2 columns each),
# one wider than the 32 columns the table used to reserve
LONG=customer-with-an-id-of-forty-characters
printf 'customer_id,event_type,transaction_id,timestamp\na,E,t1,2021-03-01T00:10:00Z\nü-客户,E,t2,2021-03-01T00:20:00Z\n%s,E,t3,2021-03-01T00:30:00Z\n' \
	"$LONG" >"$WORK/ids.csv"

for BACKEND in $BACKENDS; do
	DB=$(fresh_db "$BACKEND" output) || { fail "cannot create a database"; continue; }
	export SCLI_DATABASE="$DB"

	# `loads` before init-db (an existing file with no schema on SQLite): the
	# error, and not a table header, on stdout
	[ "$BACKEND" = sqlite ] && : >"${DB#sqlite:}"
	run loads
	expect_rc 1 "loads on an uninitialised database"
	expect_err_has "init-db" "loads names init-db"
	expect_out "" "loads prints nothing when it fails"

	full init-db
	expect_write_error "init-db"
	run init-db
	expect_rc 0 "init-db"

	full load --collector csv --config "$WORK/one.csv" --report json --quiet
	expect_write_error "load --report json"
	full load --collector csv --config "$WORK/one.csv" --force --quiet
	expect_write_error "load (text report)"
	full loads
	expect_write_error "loads"
	full loads --format json
	expect_write_error "loads --format json"
	full count --from 2021-03-01 --to 2021-03-02
	expect_write_error "count"

	# the collector of each load, in the table (after the state) and in JSON
	SCLI_DATABASE=$(fresh_db "$BACKEND" collector) || { fail "cannot create a database"; continue; }
	run init-db
	run load --collector csv --config "$WORK/ids.csv" --quiet
	expect_rc 0 "load ids.csv"
	run loads
	expect_rc 0 "loads"
	expect_eq "$(printf '%s\n' "$OUT" | awk 'NR == 1 { print $3 }')" "collector" "loads table has a collector column"
	expect_eq "$(printf '%s\n' "$OUT" | awk 'NR == 2 { print $2, $3 }')" "completed csv" "loads table shows the collector"
	run loads --format json
	expect_out_has '"state":"completed","collector":"csv"' "loads JSON has the collector"

	# the id column is as wide as the widest id, in columns: every bucket_start lines up
	run count --from 2021-03-01 --to 2021-03-01T01:00:00Z
	expect_rc 0 "count table"
	pad() { printf '%s%*s  ' "$1" "$2" ""; } # ID SPACES: the id padded to the column, then the gap
	W=${#LONG} # ASCII: bytes are columns
	for line in "$(pad customer_id $((W - 11)))bucket_start" "$(pad a $((W - 1)))2021-03-01T00:00:00Z" \
		"$(pad "$LONG" 0)2021-03-01T00:00:00Z" "$(pad ü-客户 $((W - 6)))2021-03-01T00:00:00Z" \
		"$(pad ü-客户 $((W - 6)))total"; do
		case "
$OUT" in *"
$line"*) ok ;; *) fail "count table lacks the line '$line':
$OUT" ;; esac
	done
done

finish
