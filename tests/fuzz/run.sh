#!/bin/sh
# Build the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and run each
# for SECONDS (default 60), one after the other, from its seed corpus in
# tests/fuzz/corpus/<target>. New inputs go to build-fuzz/corpus/<target> (the
# checked-in seeds are never modified); a crash input is saved under
# build-fuzz/crashes/<target>/. Exits non-zero when any target crashed.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      TARGET: timestamp csv json http
#
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (build parallelism),
# FUZZ_ARGS (extra libFuzzer flags, e.g. -max_len=65536).
set -eu

cd "$(dirname "$0")/../.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-timestamp csv json http}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

case $seconds in
'' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

# clang 14 with libFuzzer and the sanitizer runtimes (LeakSanitizer included).
have_runtime() {
	ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1
}
cc=$(command -v clang-14 || true)
if [ -z "$cc" ] || ! have_runtime; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "fuzz: needs clang-14 and libclang-rt-14-dev (apt-get install clang-14 libclang-rt-14-dev)" >&2
		exit 1
	fi
	echo "fuzz: installing clang-14 and libclang-rt-14-dev" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		clang-14 libclang-rt-14-dev >/dev/null
	cc=$(command -v clang-14)
fi

start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSCLI_FUZZ=ON -DSCLI_TESTS=OFF -DSCLI_SANITIZE=address,undefined \
	-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
set --
for t in $targets; do
	set -- "$@" --target "fuzz_$t"
done
cmake --build "$build" -j "$jobs" "$@" >"$build/build.log" 2>&1 || {
	cat "$build/build.log" >&2
	echo "fuzz: build failed" >&2
	exit 1
}
echo "fuzz: built in $(($(date +%s) - start)) s"

status=0
for t in $targets; do
	corpus=$build/corpus/$t
	crashes=$build/crashes/$t
	log=$build/fuzz_$t.log
	mkdir -p "$corpus" "$crashes"
	: >"$build/.started_$t" # crash inputs newer than this are this run's
	# -timeout: an input taking longer is a hang, reported like a crash;
	# -rss_limit_mb: the collectors promise constant memory.
	# shellcheck disable=SC2086
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} \
		"$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		result=ok
	else
		result=CRASH
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	size=$(find "$corpus" -type f | wc -l)
	printf 'fuzz_%-10s %-5s executions run: %s, new corpus size: %s (%s)\n' \
		"$t" "$result" "${execs:-?}" "$size" "$corpus"
	if [ $result = CRASH ]; then
		grep -E 'ERROR: |SUMMARY: |fuzz invariant|runtime error|^ *#[0-9]+ ' "$log" |
			grep -v -E 'fuzzer::|libc\.so|__sanitizer_|in _start|in (abort|raise|__pthread_kill)' |
			head -n 40 >&2
		find "$crashes" -type f -newer "$build/.started_$t" | sed 's/^/  crash input: /' >&2
		echo "  full log: $log; see tests/fuzz/README.md to turn it into a regression case" >&2
	fi
done
echo "fuzz: done in $(($(date +%s) - start)) s"
exit $status
