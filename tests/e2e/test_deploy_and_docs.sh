# The Kubernetes manifests parse and carry what operators rely on, and the
# README documents exactly the commands `scli --help` lists.
. "$(dirname "$0")/lib.sh"
: "${SCLI_SOURCE_DIR:?}"

if python3 -c 'import yaml' 2>/dev/null; then
	if python3 "$SCLI_SOURCE_DIR/tests/deploy/check_manifests.py" "$SCLI" "$SCLI_SOURCE_DIR/deploy/k8s" >"$WORK/m" 2>&1; then
		ok
	else
		fail "manifest checks: $(cat "$WORK/m")"
	fi
	tail -1 "$WORK/m"
else
	fail "python3-yaml is missing (make deps installs it)"
fi

# Commands in the README's synopsis = commands in `scli --help`.
readme=$(sed -n 's/^scli \[--database URL\] \([a-z-]*\).*/\1/p' "$SCLI_SOURCE_DIR/README.md" | sort -u)
helped=$("$SCLI" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort -u)
expect_eq "$readme" "$helped" "README synopsis lists the commands of scli --help"
for cmd in $helped; do
	"$SCLI" "$cmd" --help >"$WORK/h" 2>&1 && grep -q "usage: scli" "$WORK/h" && ok || fail "$cmd --help"
done
finish
