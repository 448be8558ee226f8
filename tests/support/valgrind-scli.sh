#!/usr/bin/env bash
# Runs the real scli under valgrind memcheck (make valgrind points the e2e tests'
# $SCLI here). Any memory error or definite/indirect leak makes the command exit
# 99, which fails the test that ran it.
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--suppressions="$(dirname "$0")/valgrind.supp" "${SCLI_REAL:?}" "$@"
