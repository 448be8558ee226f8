# The README's snippets run as written and print what the README shows, so
# they cannot rot:
#  - every ```console transcript: each `$ ` command runs (in order, one shell,
#    in a copy of the source tree's data/) and prints the lines under it
#    (the ledger's start/end times masked);
#  - every ```sh block followed by a bare ``` block: the block runs and prints
#    that block (the DST example is test_windows.sh's);
#  - "On a laptop": the build/scli lines run (make lines are the build's own);
#  - PostgreSQL: the scli lines run against the test server's database.
# `scli` in the snippets is the binary under test. Package installation lines
# (apt-get, make install, the .deb) are run on a fresh root by hand, see
# tools/image-check.sh.
. "$(dirname "$0")/lib.sh"
: "${SCLI_SOURCE_DIR:?}"
README=$SCLI_SOURCE_DIR/README.md

# Split the README into its fenced blocks: $WORK/blocks/N (text), N.lang, N.ctx
# (the last heading or bold paragraph title before it), N.adjacent when it
# starts on the line after the block before it ends.
mkdir "$WORK/blocks"
awk -v dir="$WORK/blocks" '
	!inb && /^```/ { n++; inb = 1; lang = substr($0, 4); print lang > (dir "/" n ".lang"); print ctx > (dir "/" n ".ctx"); printf "" > (dir "/" n); if (NR == closed + 1) printf "" > (dir "/" n ".adjacent"); next }
	inb && /^```$/ { inb = 0; close(dir "/" n); closed = NR; next }
	inb { print > (dir "/" n); next }
	/^#/ || /^\*\*/ { ctx = $0 }
' "$README"
nblocks=$(ls "$WORK/blocks" | grep -c '^[0-9]*$')

# only_scli FILE: every command in FILE is scli or cat (heredoc bodies and
# continuation lines aside): snippets that install, build or deploy never run here.
only_scli() {
	awk 'hd { if ($0 == hd) hd = ""; next }
	     cont { cont = /\\$/; next }
	     !/^(scli|cat) / { bad = 1 }
	     { cont = /\\$/; if (match($0, /<<.[A-Z]+.$/)) hd = substr($0, RSTART + 3, RLENGTH - 4) }
	     END { exit bad }' "$1"
}
scli() { "$SCLI" "$@"; }
export -f scli
export SCLI
# a fresh directory with the repository's data files, as a reader's checkout has
fresh_dir() {
	local d
	d=$(mktemp -d "$WORK/run.XXXXXX")
	mkdir "$d/data" && cp "$SCLI_SOURCE_DIR"/data/*.csv "$d/data/"
	echo "$d"
}
mask() { tr -d '\r' | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z  /TIME  /g'; }

checked=0
for n in $(seq 1 "$nblocks"); do
	b=$WORK/blocks/$n lang=$(cat "$WORK/blocks/$n.lang") ctx=$(cat "$WORK/blocks/$n.ctx")
	case "$lang" in
	console)
		# one script: a marker, then each command with stderr merged; the
		# expected text: the same markers and the lines the README shows
		awk '/^\$ / { n++; print "echo \"@@ " n "\""; print "{ " substr($0, 3) "\n} 2>&1"; next }' "$b" >"$WORK/t.sh"
		awk '/^\$ / { n++; print "@@ " n; next } { print }' "$b" | mask >"$WORK/t.expected"
		d=$(fresh_dir)
		got=$(cd "$d" && env -u SCLI_DATABASE bash "$WORK/t.sh" 2>&1 | mask)
		expect_eq "$got" "$(cat "$WORK/t.expected")" "README transcript $n ($ctx)"
		checked=$((checked + 1))
		;;
	sh)
		next=$((n + 1))
		if [ -f "$WORK/blocks/$next.adjacent" ] && [ -z "$(cat "$WORK/blocks/$next.lang")" ] \
			&& ! grep -q '^cat >dst.csv' "$b"; then
			only_scli "$b" || { fail "README snippet $n ($ctx) shows output but runs more than scli: $(cat "$b")"; continue; }
			d=$(fresh_dir)
			got=$(cd "$d" && env -u SCLI_DATABASE bash -e "$b" 2>&1 | tr -d '\r')
			expect_eq "$got" "$(cat "$WORK/blocks/$next")" "README snippet $n ($ctx) prints what the README shows"
			checked=$((checked + 1))
		fi
		case "$ctx" in
		"**On a laptop**"*)
			d=$(fresh_dir)
			got=$(cd "$d" && grep -v '^make ' "$b" | sed 's|^build/scli |scli |' | env -u SCLI_DATABASE bash -e 2>&1 | tr -d '\r')
			if [ $? -eq 0 ]; then ok; else fail "README's laptop example: $got"; fi
			total=$(printf '%s\n' "$got" | awk '$2 == "total" { print $3 }')
			[ "${total:-0}" -gt 0 ] && ok || fail "README's laptop example counts nothing: $got"
			checked=$((checked + 1))
			;;
		"## HTTP API"*)
			# the server on a free port instead of 8080, on the Usage section's database
			grep -q '^scli serve ' "$b" || continue
			port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
			d=$(fresh_dir)
			(cd "$d" && "$SCLI" init-db >/dev/null && "$SCLI" load --collector csv --config data/sample.csv --quiet) \
				|| fail "README's HTTP example: the Usage database"
			# scli on PATH as a program, not the function: `kill %1` must reach the server itself
			mkdir -p "$WORK/bin" && ln -sf "$SCLI" "$WORK/bin/scli"
			sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$b" >"$WORK/http.sh"
			got=$(cd "$d" && env -u SCLI_DATABASE -u SCLI_API_TOKEN PATH="$WORK/bin:$PATH" \
				timeout 60 bash -ec 'unset -f scli; . "$1"' sh "$WORK/http.sh" </dev/null 2>"$WORK/http.err")
			rc=$?
			got=$(printf '%s\n' "$got" | tr -d '\r')
			[ "$rc" -eq 0 ] && ok || fail "README's HTTP example exits $rc: $(cat "$WORK/http.err")"
			for want in '"total":128' 'customer_id,event_type,bucket_start,count,partial' \
				'bdd732262feb6e9528efe333b266f103,QUERY,2021-03-01T00:00:00-05:00,358,false' \
				'"event_types":["QUERY"]' '"time_zone":"+05:30"' '{"status":"ok"}' \
				'scli_http_requests_total' 'HTTP/1.1 401' 'WWW-Authenticate: Bearer'; do
				case "$got" in *"$want"*) ok ;; *) fail "README's HTTP example does not print $want: $got" ;; esac
			done
			[ "$(printf '%s\n' "$got" | grep -c '^{"from":"2021-03-01T00:00:00Z","to":"2021-03-01T03:00:00Z","window":"hour"')" -eq 2 ] \
				&& ok || fail "README's HTTP example: the token example does not answer with the token: $got"
			checked=$((checked + 1))
			;;
		"## PostgreSQL"*)
			if [ -n "${SCLI_TEST_PG:-}" ]; then
				db=$(fresh_db postgres readme) || fail "a database for the README's PostgreSQL example"
				d=$(fresh_dir)
				got=$(cd "$d" && grep '^scli ' "$b" | SCLI_DATABASE=$db bash -e 2>&1)
				if [ $? -eq 0 ]; then ok; else fail "README's PostgreSQL example: $got"; fi
				case "$got" in *'"total":'[1-9]*) ok ;; *) fail "README's PostgreSQL example counts nothing: $got" ;; esac
				checked=$((checked + 1))
			fi
			;;
		esac
		;;
	esac
done
[ "$checked" -ge 3 ] && ok || fail "only $checked README snippets were found to check"
echo "README snippets checked: $checked"
finish
