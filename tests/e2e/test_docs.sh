# The man pages and the shell completions agree with --help: every command has
# a page that renders without warnings and lists the options its --help lists,
# every --help names its page, and the bash and zsh completions offer every
# option and every fixed value --help names (cmake/docs.cmake, completions/).
. "$(dirname "$0")/lib.sh"
: "${SCLI_SOURCE_DIR:?}"

# The build directory: the man pages are made beside the binary (man/).
BUILD_DIR=$(dirname "${SCLI_REAL:-$SCLI}")
MAN_DIR=${SCLI_MAN_DIR:-$BUILD_DIR/man}
BASH_COMPLETION=$SCLI_SOURCE_DIR/completions/scli.bash
ZSH_COMPLETION=$SCLI_SOURCE_DIR/completions/_scli

# The commands `scli --help` lists, and "" for scli itself.
COMMANDS=$("$SCLI" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$COMMANDS" ] && ok || fail "scli --help lists no command"

help_of() { # help_of COMMAND: its --help ("" for scli's own)
	if [ -n "$1" ]; then "$SCLI" "$1" --help; else "$SCLI" --help; fi
}
page_of() { echo "scli${1:+-$1}"; }
usage_of() { # usage_of COMMAND: its --help's usage, joined into one line
	help_of "$1" | sed -f "$SCLI_SOURCE_DIR/docs/man/help2man.sed" | sed -n 's/^Usage: //p'
}
options_of() { # options_of COMMAND: the options in its usage and its option list, sorted
	{
		usage_of "$1"
		help_of "$1" | sed -n 's/^  \(--[a-z].*\)$/\1/p' | sed 's/  .*//'
	} | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# ---- --help points to the man page, never to the README ------------------
for cmd in "" $COMMANDS; do
	help_of "$cmd" >"$WORK/help"
	expect_eq "$(tail -1 "$WORK/help")" "Full manual: \`man $(page_of "$cmd")\`" "scli $cmd --help names its man page"
	! grep -q README "$WORK/help" && ok || fail "scli $cmd --help points to the README"
done

# ---- the man pages ----------------------------------------------------------
command -v groff >/dev/null && command -v man >/dev/null && ok ||
	fail "groff or man is missing (make deps installs groff and man-db)"
for cmd in "" $COMMANDS; do
	page=$(page_of "$cmd")
	file=$MAN_DIR/$page.1
	if [ ! -f "$file" ]; then
		fail "$file is missing (the build makes it with help2man; make deps installs it)"
		continue
	fi
	warnings=$(groff -man -Tutf8 -ww -z "$file" 2>&1)
	expect_eq "$warnings" "" "groff warnings in $page.1"
	MANROFFSEQ= MANWIDTH=80 man -l "$file" >"$WORK/man" 2>"$WORK/man.err"
	expect_eq "$?:$(cat "$WORK/man.err")" "0:" "man -l $page.1 renders without a message"
	upper=$(echo "$page" | tr a-z A-Z)
	head -1 "$WORK/man" | grep -q "^$upper(1) " && ok || fail "$page.1 is titled $(head -1 "$WORK/man")"
	for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" "SEE ALSO"; do
		grep -q "^$section\$" "$WORK/man" && ok || fail "$page.1 has no $section section"
	done
	grep -q "^       $page - " "$WORK/man" && ok || fail "$page.1's NAME is not $page"
	grep -q "Full manual" "$WORK/man" && fail "$page.1 points to itself" || ok
	# Every option of --help, in the page (the roff source, where no line break
	# or hyphenation can split a name).
	sed 's/\\-/-/g' "$file" >"$WORK/roff"
	for opt in $(options_of "$cmd"); do
		grep -q -- "$opt\\b" "$WORK/roff" && ok || fail "$page.1 lacks $opt, which its --help lists"
	done
	# The synopsis is --help's usage, joined.
	usage=$(usage_of "$cmd")
	synopsis=$(sed -n '/^SYNOPSIS$/,/^[A-Z]/p' "$WORK/man" | sed '1d;$d' | tr -s ' \n' '  ' | sed 's/^ //;s/ $//')
	expect_eq "$synopsis" "$(echo "$usage" | tr -s ' ')" "$page.1's synopsis is --help's usage"
done
# SEE ALSO names only pages that exist.
for ref in $(cat "$MAN_DIR"/*.1 | sed 's/\\-/-/g' | grep -o '^\.BR scli[a-z-]* (1)' | sed 's/^\.BR \(scli[a-z-]*\) .*/\1/' | sort -u); do
	[ -f "$MAN_DIR/$ref.1" ] && ok || fail "a page refers to $ref(1), which does not exist"
done

# ---- bash completion ------------------------------------------------------
# complete_bash WORD...: what the completion offers for the last word, sorted, one a line.
complete_bash() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _scli; printf "%s\n" "${COMPREPLY[@]}" | sort' \
		complete "$BASH_COMPLETION" scli "$@"
}
words() { printf '%s\n' "$@" | sort; }

bash -n "$BASH_COMPLETION" && ok || fail "completions/scli.bash does not parse"
expect_eq "$(complete_bash "")" "$(words $COMMANDS)" "bash: the commands of scli --help"
expect_eq "$(complete_bash --)" "$(options_of "")" "bash: scli's global options"
for cmd in $COMMANDS; do
	expect_eq "$(complete_bash "$cmd" --)" "$({ options_of "$cmd" | grep -vx -- --database; echo --help; } | sort -u)" \
		"bash: the options of scli $cmd --help"
done
# Every `--option a|b|c` in a usage: the completion offers exactly a, b and c.
for cmd in $COMMANDS; do
	while read -r opt values; do
		expect_eq "$(complete_bash "$cmd" "$opt" "")" "$(words $(echo "$values" | tr '|' ' '))" \
			"bash: the values of scli $cmd $opt"
	done < <(usage_of "$cmd" | grep -o -- '--[a-z][a-z-]* [a-z0-9_]*|[a-z0-9_|]*' | sort -u)
done
expect_eq "$(complete_bash count --window "")" "$(words minute hour day month)" "bash: count --window"
expect_eq "$(complete_bash count --window = h)" "hour" "bash: count --window=h (split at =)"
expect_eq "$(complete_bash count --format "")" "$(words table csv json chart)" "bash: count --format"
expect_eq "$(complete_bash loads --format "")" "$(words table json)" "bash: loads --format"
expect_eq "$(complete_bash count --group-by "")" "event_type" "bash: count --group-by"
expect_eq "$(complete_bash --database "$WORK/x.db" count --s)" "--skip-empty" "bash: after --database URL"
expect_eq "$(complete_bash count --from "")" "" "bash: no guess for a timestamp"
if [ -f /usr/share/zoneinfo/America/New_York ]; then
	expect_eq "$(complete_bash count --tz America/New_Y)" "America/New_York" "bash: a zone name"
	expect_eq "$(complete_bash count --tz Europe/Lon)" "Europe/London" "bash: another zone name"
else
	fail "/usr/share/zoneinfo is missing (make deps installs tzdata)"
fi
mkdir -p "$WORK/in dir" && : >"$WORK/in dir/events.csv"
expect_eq "$(complete_bash load --config "$WORK/in dir/ev")" "$WORK/in dir/events.csv" "bash: --config completes a path"
expect_eq "$(complete_bash load --rejects "$WORK/in d")" "$WORK/in dir" "bash: --rejects completes a path"
# The same with the bash-completion package loaded, as on a Debian machine, where
# _filedir completes paths. (A path with a space cannot be tried outside readline:
# compgen dequotes the word only while readline completes.)
if [ -f /usr/share/bash-completion/bash_completion ]; then
	mkdir -p "$WORK/dir" && : >"$WORK/dir/events.csv"
	got=$(cd "$WORK" && bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
		COMP_WORDS=(scli load --config dir/ev); COMP_CWORD=3; _scli; printf "%s\n" "${COMPREPLY[@]}"' \
		complete "$BASH_COMPLETION")
	expect_eq "$got" "dir/events.csv" "bash: --config completes a path with bash-completion loaded"
	got=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
		COMP_WORDS=(scli count --window ""); COMP_CWORD=3; _scli; echo "${COMPREPLY[*]}"' complete "$BASH_COMPLETION")
	expect_eq "$got" "minute hour day month" "bash: count --window with bash-completion loaded"
else
	fail "bash-completion is missing (make deps installs it)"
fi

# ---- zsh completion -------------------------------------------------------
if command -v zsh >/dev/null; then
	zsh -n "$ZSH_COMPLETION" && ok || fail "completions/_scli does not parse"
	# zsh_block COMMAND: the _arguments of the command's case branch, or the global one.
	zsh_block() {
		if [ -z "$1" ]; then
			sed -n '/_arguments -C/,/&& ret=0/p' "$ZSH_COMPLETION"
		else
			awk -v c="$1" '!on && /^\t\t[a-z][a-z| -]*\)$/ {
				l = $0; gsub(/[\t )]/, "", l); n = split(l, a, "|")
				for (i = 1; i <= n; i++) if (a[i] == c) on = 1
			} on { print } on && /;;/ { exit }' "$ZSH_COMPLETION"
		fi
	}
	for cmd in "" $COMMANDS; do
		zsh_block "$cmd" >"$WORK/zsh"
		[ -s "$WORK/zsh" ] && ok || fail "zsh completion has no branch for $cmd"
		for opt in $(options_of "$cmd"; echo --help); do
			[ -n "$cmd" ] && [ "$opt" = --database ] && continue
			case $opt in
			--help) grep -q '\$help' "$WORK/zsh" ;;
			*) grep -q -- "'[*(]*[^']*$opt[=[]" "$WORK/zsh" ;;
			esac && ok || fail "zsh completion of scli $cmd lacks $opt, which its --help lists"
		done
	done
	for cmd in $COMMANDS; do
		grep -q "'$cmd:" "$ZSH_COMPLETION" && ok || fail "zsh completion lacks the command $cmd"
	done
else
	fail "zsh is missing (make deps installs it)"
fi

# ---- installed where man, bash and zsh look ----------------------------------
if cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1; then
	for page in "" $COMMANDS; do
		gz=$WORK/prefix/share/man/man1/$(page_of "$page").1.gz
		[ -f "$gz" ] && gzip -dc "$gz" | cmp -s - "$MAN_DIR/$(page_of "$page").1" && ok ||
			fail "cmake --install put no $(page_of "$page").1.gz (the built page, compressed) in share/man/man1"
	done
	cmp -s "$WORK/prefix/share/bash-completion/completions/scli" "$BASH_COMPLETION" && ok ||
		fail "cmake --install put no bash completion in share/bash-completion/completions/scli"
	cmp -s "$WORK/prefix/share/zsh/vendor-completions/_scli" "$ZSH_COMPLETION" && ok ||
		fail "cmake --install put no zsh completion in share/zsh/vendor-completions/_scli"
	MANPATH="$WORK/prefix/share/man" MANWIDTH=80 man scli-load >"$WORK/man" 2>&1 &&
		grep -q "^SCLI-LOAD(1)" "$WORK/man" && ok || fail "man scli-load from the install: $(head -3 "$WORK/man")"
else
	fail "cmake --install: $(cat "$WORK/install.log")"
fi

finish
