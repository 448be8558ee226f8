# Install: `cmake --install` to a temporary prefix gives bin/scli, libscli.so.N,
# the headers, scli.pc and the CMake package; examples/count_hourly.c builds
# against the installed tree (pkg-config, and find_package) and counts the real
# data right; the installed scli finds the installed library (RUNPATH).
. "$(dirname "$0")/lib.sh"
if [ -n "${SCLI_SANITIZED:-}" ]; then
	# A sanitizer build's scli links the static layers and its libscli.so needs
	# the sanitizer runtime in the executable: not a tree anyone installs.
	echo "SKIP: sanitizer build"; exit 77
fi
BUILD=$(dirname "${SCLI_REAL:-$SCLI}")
SRC=${SCLI_SOURCE_DIR:?}
DATA="${SCLI_SHARED_DATA:-}/metronome/events.csv"
P=$WORK/prefix
unset LD_LIBRARY_PATH
SOVERSION=$(sed -n 's/^project(scli VERSION \([0-9]*\)\..*/\1/p' "$SRC/CMakeLists.txt")

# ---- the installed tree
if cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1; then ok; else fail "cmake --install: $(tail -5 "$WORK/install.log")"; fi
# lib, or lib/x86_64-linux-gnu in a tree configured for /usr (GNUInstallDirs).
L=$(cd "$P" && find . -name libscli.so | sed 's|^\./||; s|/libscli\.so$||')
: "${L:=lib}"
for f in bin/scli "$L/libscli.so.$SOVERSION" "$L/libscli.so" include/scli/service.h include/scli/export.h \
	include/scli/sys/repository.h include/scli/sys/collector.h include/scli/sys/zone_source.h \
	"$L/pkgconfig/scli.pc" "$L/cmake/scli/scliConfig.cmake" "$L/cmake/scli/scliConfigVersion.cmake" \
	"$L/cmake/scli/scliTargets.cmake"; do
	if [ -e "$P/$f" ]; then ok; else fail "not installed: $f"; fi
done
if [ -e "$P/include/scli/sys/adapters.h" ]; then fail "sys/adapters.h (the tree's registry) was installed"; else ok; fi
expect_eq "$(readelf -d "$P/$L/libscli.so.$SOVERSION" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" \
	"libscli.so.$SOVERSION" "soname"

# Only the runtime component: the binary and the versioned library, nothing to build with.
cmake --install "$BUILD" --prefix "$WORK/runtime" --component runtime >/dev/null 2>&1
expect_eq "$(cd "$WORK/runtime" && find . ! -type d | sort | tr '\n' ' ')" \
	"./bin/scli ./$L/libscli.so.$SOVERSION ./$L/libscli.so.$SOVERSION.$(sed -n 's/^project(scli VERSION [0-9]*\.\([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt") " \
	"runtime component"

# Every installed header compiles on its own: the public ones as a program sees
# them (SCLI_PUBLIC_API_ONLY), the sys/ ones as an adapter author does.
for h in "$P"/include/scli/*.h "$P"/include/scli/sys/*.h; do
	rel=${h#"$P/include/"}
	case "$rel" in scli/sys/*) def= ;; *) def=-DSCLI_PUBLIC_API_ONLY ;; esac
	if printf '#include "%s"\nint header_alone;\n' "$rel" | cc -std=c11 -Wall -Wextra -Wpedantic -Werror $def \
		-I"$P/include" -x c -fsyntax-only - 2>"$WORK/cc.err"; then ok; else fail "$rel alone: $(head -3 "$WORK/cc.err")"; fi
done

# ---- the installed scli uses the installed library
runpath=$(readelf -d "$P/bin/scli" | sed -n 's/.*Library runpath: \[\(.*\)\]/\1/p')
if [ -z "$runpath" ] && [ "$L" != lib ]; then
	# Configured for a system libdir (the .deb): no RUNPATH by design, the loader finds it there.
	echo "SKIP (RUNPATH part): $L is a system libdir"
else
	# shellcheck disable=SC2016 # $ORIGIN is the loader's, not the shell's
	expect_eq "$runpath" '$ORIGIN/../'"$L" "scli's RUNPATH"
	expect_eq "$(readlink -f "$(ldd "$P/bin/scli" | awk '$1 ~ /^libscli\.so/ {print $3}')")" "$(readlink -f "$P/$L/libscli.so.$SOVERSION")" \
		"installed scli resolves the installed libscli"
fi
# The installed scli as a user runs it: through its RUNPATH when it has one.
installed_scli() {
	if [ -n "$runpath" ]; then "$P/bin/scli" "$@"; else LD_LIBRARY_PATH="$P/$L" "$P/bin/scli" "$@"; fi
}
if installed_scli --version >/dev/null 2>&1; then ok; else fail "installed scli --version"; fi

# ---- the example, built against the installed tree
export PKG_CONFIG_PATH="$P/$L/pkgconfig"
if flags=$(pkg-config --cflags --libs scli); then ok; else fail "pkg-config --cflags --libs scli"; fi
expect_eq "$(pkg-config --modversion scli)" "$(sed -n 's/^project(scli VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")" "pkg-config version"
# shellcheck disable=SC2086 # the flags are words
if cc -std=c11 -Wall -Wextra -Wpedantic -Werror -DSCLI_PUBLIC_API_ONLY "$SRC/examples/count_hourly.c" \
	$flags -o "$WORK/count_hourly" 2>"$WORK/cc.err"; then ok; else fail "example with pkg-config: $(head -5 "$WORK/cc.err")"; fi
unset PKG_CONFIG_PATH

mkdir -p "$WORK/proj"
cp "$SRC/examples/count_hourly.c" "$WORK/proj/"
cat >"$WORK/proj/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(count_hourly C)
find_package(scli 0 REQUIRED)
add_executable(count_hourly count_hourly.c)
target_compile_definitions(count_hourly PRIVATE SCLI_PUBLIC_API_ONLY)
target_compile_options(count_hourly PRIVATE -std=c11 -Wall -Wextra -Wpedantic -Werror)
target_link_libraries(count_hourly PRIVATE scli::scli)
CMAKE
if cmake -S "$WORK/proj" -B "$WORK/proj/build" -DCMAKE_PREFIX_PATH="$P" >"$WORK/proj.log" 2>&1 &&
	cmake --build "$WORK/proj/build" >>"$WORK/proj.log" 2>&1; then ok; else fail "example with find_package(scli): $(tail -8 "$WORK/proj.log")"; fi

# ---- both count the real data right
if [ ! -f "$DATA" ]; then
	if [ "${CI:-}" = "true" ]; then fail "$DATA missing in CI"; fi
	echo "SKIP (real data part): $DATA not found"
	finish; exit $?
fi
DB="sqlite:$WORK/real.db"
installed_scli --database "$DB" init-db >/dev/null 2>&1
if installed_scli --database "$DB" load --collector csv --config "$DATA" --quiet >/dev/null 2>&1; then ok; else fail "installed scli load"; fi
want=$(printf '%s\n' "2021-03-01T04:00:00Z 408" "2021-03-01T05:00:00Z 1133" "2021-03-01T06:00:00Z 769")
args="$DB b4f9279a0196e40632e947dd1a88e857 2021-03-01T04:00:00Z 2021-03-01T06:30:00Z"
# shellcheck disable=SC2086
OUT=$(LD_LIBRARY_PATH="$P/$L" "$WORK/count_hourly" $args 2>&1)
expect_out "$want" "count_hourly (pkg-config build), published answer"
# shellcheck disable=SC2086
OUT=$("$WORK/proj/build/count_hourly" $args 2>&1)
expect_out "$want" "count_hourly (find_package build), published answer"
expect_eq "$(readlink -f "$(ldd "$WORK/proj/build/count_hourly" | awk '$1 ~ /^libscli\.so/ {print $3}')")" \
	"$(readlink -f "$P/$L/libscli.so.$SOVERSION")" "find_package build links the installed libscli"
# A missing database is an error with scli's message, exit 1.
OUT=$(LD_LIBRARY_PATH="$P/$L" "$WORK/count_hourly" "sqlite:$WORK/none.db" x 2021-03-01 2021-03-02 2>&1)
RC=$?
expect_eq "$RC" 1 "count_hourly on a missing database exits 1"
expect_out_has "init-db" "the library's message reaches the program"
finish
