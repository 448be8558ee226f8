# bash completion for scli: commands, options, their fixed values, file paths
# and time zone names. Installed as bash-completion/completions/scli (cmake/docs.cmake).
# Every option `scli COMMAND --help` lists must be offered here: tests/e2e/test_docs.sh
# compares them, so the two cannot drift apart.

_scli_options()
{
	case $1 in
	'') echo --database --help --version ;;
	init-db | config) echo --help ;;
	load) echo --collector --config --rejects --max-rejects --force --report --batch-size \
		--connections --cache-mib --quiet --help ;;
	loads) echo --limit --format --help ;;
	count) echo --customer --from --to --window --tz --event-type --group-by --format \
		--skip-empty --collector --config --threads --memory-mib --help ;;
	serve) echo --listen --threads --quiet --help ;;
	esac
}

# IANA names under /usr/share/zoneinfo, one directory level at a time.
_scli_zones()
{
	local dir=/usr/share/zoneinfo path name
	local -a names=()
	for path in "$dir/$cur"*; do
		[[ -e $path ]] || continue
		name=${path#"$dir"/}
		case $name in
		posix | posix/* | right | right/* | *.tab | *.zi | *.list | leapseconds | leap-seconds* | \
			SECURITY | localtime | posixrules | Factory) continue ;;
		esac
		if [[ -d $path ]]; then
			names+=("$name/")
		else
			names+=("$name")
		fi
	done
	COMPREPLY=("${names[@]}")
	[[ ${#names[@]} -eq 1 && ${names[0]} == */ ]] && compopt -o nospace 2>/dev/null
	return 0
}

_scli_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

_scli()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= prefix= i
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# --opt=value: split at '=' (the default COMP_WORDBREAKS), or one word,
	# whose completions then keep the --opt= in front.
	if [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		prefix=$prev=
		cur=${cur#*=}
	elif [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	_scli_reply
	if [[ -n $prefix ]]; then
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=$prefix${COMPREPLY[i]}
		done
	fi
	return 0
}

# COMPREPLY for cur and prev, the option whose value it is (set by _scli).
_scli_reply()
{
	local cmd= word i

	# The command: the first word that is neither an option nor --database's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--database)
			[[ ${COMP_WORDS[i + 1]-} == = ]] && ((i++))
			((i++))
			;;
		-* | =) ;;
		*)
			cmd=$word
			break
			;;
		esac
	done

	case $prev in
	--collector) mapfile -t COMPREPLY < <(compgen -W 'csv json' -- "$cur"); return 0 ;;
	--format)
		if [[ $cmd == loads ]]; then
			mapfile -t COMPREPLY < <(compgen -W 'table json' -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W 'table csv json chart' -- "$cur")
		fi
		return 0
		;;
	--window) mapfile -t COMPREPLY < <(compgen -W 'minute hour day month' -- "$cur"); return 0 ;;
	--report) mapfile -t COMPREPLY < <(compgen -W 'text json' -- "$cur"); return 0 ;;
	--group-by) mapfile -t COMPREPLY < <(compgen -W 'event_type' -- "$cur"); return 0 ;;
	--connections) mapfile -t COMPREPLY < <(compgen -W '1 2' -- "$cur"); return 0 ;;
	--tz) _scli_zones; return 0 ;;
	--config | --rejects) _scli_files; return 0 ;;
	--database | --customer | --from | --to | --event-type | --max-rejects | --batch-size | \
		--cache-mib | --memory-mib | --limit | --listen | --threads)
		return 0 # a value of the user's own
		;;
	esac

	if [[ -z $cmd && $cur != -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W 'init-db load loads count config serve' -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$(_scli_options "$cmd")" -- "$cur")
	fi
	return 0
}

complete -F _scli scli
