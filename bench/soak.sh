#!/usr/bin/env bash
# bench/soak.sh (`make soak`): `scli serve` on PostgreSQL under wrk at 64
# connections for 60 s. Passes when every response is a 200, there are no socket
# errors, and the server's RSS after the run is within 10% (+2 MiB) of its RSS
# after warm-up. Writes bench/results/soak-YYYY-MM-DD.md.
# Settings (environment): ROWS (500000), CONN (64), DURATION (60), THREADS (4), BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
ROWS=${ROWS:-500000} CONN=${CONN:-64} DURATION=${DURATION:-60} THREADS=${THREADS:-4}
SCLI=$BUILD/scli GEN=$BUILD/scli-gen

if [ -z "${SCLI_TEST_PG:-}" ]; then
	command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	exec tests/support/with-postgres.sh bash "$0" "$@"
fi
work=$(mktemp -d /tmp/scli-soak.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

psql -X -q "$SCLI_TEST_PG dbname=postgres" -c "CREATE DATABASE soak"
DB="$SCLI_TEST_PG dbname=soak"
"$SCLI" --database "$DB" init-db >/dev/null
"$GEN" --rows "$ROWS" --seed 3 --customers 50 --days 30 >"$work/e.csv"
"$SCLI" --database "$DB" load --collector csv --config "$work/e.csv" --quiet
customer=$(cut -d, -f1 "$work/e.csv" | sort | uniq -c | sort -rn | awk 'NR==1 {print $2}')

"$SCLI" --database "$DB" serve --listen 127.0.0.1:0 --threads "$THREADS" --quiet 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
	base=$(sed -n 's/^scli: serving on \(http:[^ ]*\).*/\1/p' "$work/log")
	[ -n "$base" ] && break
	sleep 0.1
done
[ -n "$base" ] || { cat "$work/log" >&2; exit 1; }
url="$base/v1/customers/$customer/hourly?from=2021-03-05T00:00:00Z&to=2021-03-06T00:00:00Z"
curl -sf "$url" >/dev/null
wrk -t2 -c"$CONN" -d10s "$url" >/dev/null # warm-up: every worker connected, caches filled
before=$(rss "$pid")
wrk -t2 -c"$CONN" -d"${DURATION}s" --latency "$url" >"$work/wrk"
after=$(rss "$pid")
cat "$work/wrk"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=

requests=$(awk '/requests in/ {print $1}' "$work/wrk")
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk"); non2xx=${non2xx:-0}
sockerr=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$work/wrk"); sockerr=${sockerr:-none}
limit=$(( before + before / 10 + 2048 ))
verdict=pass
[ "$non2xx" = 0 ] && [ "$sockerr" = none ] && [ "$after" -le "$limit" ] && [ "$rc" = 0 ] || verdict=FAIL

mkdir -p bench/results
out=bench/results/soak-$(date -u +%Y-%m-%d).md
{
	echo "# serve soak, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "Machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'). PostgreSQL private server, $ROWS events."
	echo
	echo "| what | value |"
	echo "|---|---|"
	echo "| connections / duration / server threads | $CONN / ${DURATION} s / $THREADS |"
	echo "| requests | $requests ($rps req/s) |"
	echo "| non-2xx responses | $non2xx |"
	echo "| socket errors | $sockerr |"
	echo "| server RSS after warm-up → after the run | $before KiB → $after KiB |"
	echo "| exit code after SIGTERM | $rc |"
	echo "| verdict | $verdict |"
} | tee "$out"
[ "$verdict" = pass ]
