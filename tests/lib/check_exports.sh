#!/bin/bash
# libscli.so exports exactly what the installed headers declare with SCLI_API:
# a symbol exported but not declared is a leak (an internal that became ABI by
# accident), one declared but not exported is a program that will not link.
# Usage: check_exports.sh LIBSCLI_SO INCLUDE_DIR
set -eu
lib=$1
inc=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Declared: every `SCLI_API ... scli_name(` or `scli_name[` in the headers
# that are installed (cmake/install.cmake leaves out sys/adapters.h).
find "$inc/scli" -name '*.h' ! -name adapters.h -print0 |
	xargs -0 perl -0777 -ne 'while (/^(?:extern[ \t]+)?SCLI_API\b[^;{]*?\b(scli_\w+)\s*[\(\[]/mg) { print "$1\n" }' |
	sort -u >"$work/declared"

# Exported: defined symbols of the dynamic symbol table, without the linker's own.
nm -D --defined-only "$lib" | awk '{print $NF}' |
	grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' | sort -u >"$work/exported"

if [ ! -s "$work/declared" ]; then
	echo "FAIL: no SCLI_API declarations found under $inc" >&2
	exit 1
fi
if ! diff -u "$work/declared" "$work/exported" >"$work/diff"; then
	echo "FAIL: exported symbols differ from the SCLI_API declarations (- declared only, + exported only):" >&2
	grep '^[-+][^-+]' "$work/diff" >&2
	exit 1
fi
echo "ok: $(wc -l <"$work/exported") symbols exported, each declared with SCLI_API"
