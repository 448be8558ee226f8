/* The option tables of options.h: one parser, one set of rules and messages. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

/* getopt_long's value for the long option at index i of a table. */
#define LONG_OPTION_VAL 256
#define MAX_OPTIONS 16

static void see_help(const char *cmd)
{
	fprintf(stderr, "\n(see `scli %s%s--help`)\n", cmd ? cmd : "", cmd ? " " : "");
}

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fputs("scli: error: ", stderr);
	fprintf(stderr, fmt, arg);
	see_help(cmd);
	return EXIT_USAGE;
}

/*
 * The option as typed, without any `=value`: a mistyped `--databse=postgresql://
 * user:secret@...` must not put the password on the screen.
 */
static const char *option_name(const char *arg)
{
	static char name[64];
	size_t len = strcspn(arg, "=");

	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, arg, len);
	name[len] = '\0';
	return name;
}

/* Optimal string alignment distance: Levenshtein, plus a swap of two neighbours. */
static size_t edit_distance(const char *a, size_t n, const char *b)
{
	enum { MAX = 64 };
	size_t rows[3][MAX + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
	size_t m = strlen(b), i, j;

	if (n > MAX || m > MAX)
		return (size_t)-1;
	for (j = 0; j <= m; j++)
		prev[j] = j;
	for (i = 1; i <= n; i++) {
		cur[0] = i;
		for (j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1], d = prev[j - 1] + cost;

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2, prev2 = prev, prev = cur, cur = t;
	}
	return prev[m];
}

/*
 * The real option a mistyped one most likely meant: the nearest by edit
 * distance when it is close (one edit for short names, two for longer ones),
 * else the only option the name begins (`--skip` for `--skip-empty`); NULL if
 * none fits.
 */
static const char *closest_option(const char *typed, size_t len, const struct option *opts)
{
	const struct option *o, *best = NULL, *prefix_of = NULL;
	size_t best_d = len <= 4 ? 1 : 2, d;
	int prefixes = 0;

	for (o = opts; o->name; o++) {
		if ((d = edit_distance(typed, len, o->name)) <= best_d && (!best || d < best_d))
			best = o, best_d = d;
		if (len && !strncmp(o->name, typed, len))
			prefix_of = o, prefixes++;
	}
	if (best)
		return best->name;
	return prefixes == 1 ? prefix_of->name : NULL;
}

/*
 * glibc's getopt_long takes any unambiguous prefix of a long option, so a
 * mistyped `--form` silently became `--format`. Before getopt_long reads a
 * vector, every long option in it must be a whole name: read the vector as
 * getopt_long will (a required value is the next element unless given with
 * '='; `stop_at_command` stops at the first non-option, like a leading '+'),
 * and report the first that is not, with a suggestion. 0, or -2 once reported.
 */
static int check_long_options(int argc, char **argv, const struct option *opts,
			      bool stop_at_command, const char *cmd)
{
	char msg[160];
	const struct option *o;
	const char *arg, *near;
	size_t len;
	int k;

	for (k = 1; k < argc && strcmp(argv[k], "--"); k++) {
		arg = argv[k];
		if (arg[0] != '-' || arg[1] == '\0') {
			if (stop_at_command)
				break;
			continue;
		}
		if (arg[1] != '-') /* short options: getopt_long checks them, none takes a value */
			continue;
		len = strcspn(arg + 2, "=");
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, arg + 2, len))
				break;
		if (!o->name) {
			near = closest_option(arg + 2, len, opts);
			snprintf(msg, sizeof(msg), "unknown option '%s'%s%s%s", option_name(arg),
				 near ? " (did you mean --" : "", near ? near : "",
				 near ? "?)" : "");
			return cli_usage_error(cmd, "%s", msg), -2;
		}
		if (arg[2 + len] == '=' && o->has_arg == no_argument)
			return cli_usage_error(cmd, "option '%s' takes no value", option_name(arg)),
			       -2;
		if (arg[2 + len] != '=' && o->has_arg == required_argument)
			k++;
	}
	return 0;
}

/*
 * getopt_long over a vector whose long options were checked: an unknown short
 * option or a missing value is reported as a usage error. -1 at the end, -2
 * once reported.
 */
static int getopt_checked(int argc, char **argv, const char *optstring, const struct option *opts,
			  const char *cmd)
{
	char short_opt[3] = "-?";
	int c = getopt_long(argc, argv, optstring, opts, NULL);

	if (c == '?') { /* long options were checked: an unknown short one */
		short_opt[1] = (char)optopt;
		return cli_usage_error(cmd, "unknown option '%s'",
				       optopt ? short_opt : option_name(argv[optind - 1])),
		       -2;
	}
	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs a value",
				       option_name(argv[optind - 1])),
		       -2;
	return c;
}

/* ---- the option tables ---------------------------------------------------- */

void cli_strings_free(cli_strings *l)
{
	free(l->items);
	free(l->env_copy);
	*l = (cli_strings){0};
}

static int strings_add(cli_strings *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		const char **items = realloc(l->items, cap * sizeof(*items));

		if (!items)
			return -1;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = s;
	return 0;
}

static int strings_split(cli_strings *l, const char *text)
{
	char *save = NULL, *tok;

	if (!(l->env_copy = strdup(text)))
		return -1;
	for (tok = strtok_r(l->env_copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		if (strings_add(l, tok) < 0)
			return -1;
	return 0;
}

static void *field(void *dst, const cli_option *o)
{
	return (char *)dst + o->offset;
}

/* Check `text` against the option's kind and bounds and store it: 0, or -1 when it is outside. */
static int store(void *dst, const cli_option *o, const char *text)
{
	const cli_choice *choice;
	char *end;

	switch (o->kind) {
	case CLI_OPT_STRING:
		if (strlen(text) < (size_t)o->min)
			return -1;
		*(const char **)field(dst, o) = text;
		return 0;
	case CLI_OPT_CHOICE:
		for (choice = o->choices; choice->text; choice++) {
			if (!strcmp(text, choice->text)) {
				*(int *)field(dst, o) = choice->value;
				return 0;
			}
		}
		return -1;
	case CLI_OPT_SIZE: {
		unsigned long long v;

		assert(o->min >= 0);
		errno = 0;
		v = strtoull(text, &end, 10);
		if (errno || *end || !*text || text[0] == '-' || v < (uint64_t)o->min ||
		    (o->max && v > o->max))
			return -1;
		*(size_t *)field(dst, o) = (size_t)v;
		return 0;
	}
	case CLI_OPT_INT64: {
		long long v;

		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || *end || !*text || v < o->min ||
		    (o->max && v > 0 && (uint64_t)v > o->max))
			return -1;
		*(int64_t *)field(dst, o) = (int64_t)v;
		return 0;
	}
	default:
		assert(!"an option kind that takes no value");
		return -1;
	}
}

/* The option's `bad` message for a value, {name} and {value} filled in. */
static int bad_value(const cli_option_set *set, const cli_option *o, const char *name,
		     const char *value)
{
	const char *p;

	assert(o->bad);
	fputs("scli: error: ", stderr);
	for (p = o->bad; *p;) {
		if (!strncmp(p, "{name}", 6))
			fputs(name, stderr), p += 6;
		else if (!strncmp(p, "{value}", 7))
			fputs(value, stderr), p += 7;
		else
			fputc(*p++, stderr);
	}
	if (set->bad_value_no_see_help)
		fputc('\n', stderr);
	else
		see_help(set->command);
	return EXIT_USAGE;
}

static int out_of_memory(void)
{
	cli_error("out of memory");
	return EXIT_RUNTIME;
}

/* An option's variable, when it is set. A list's is read after the flags (parse_vector). */
static int from_environment(void *dst, const cli_option_set *set, const cli_option *o)
{
	const char *text = cli_env(o->env);

	if (o->kind == CLI_OPT_FLAG)
		*(bool *)field(dst, o) = cli_env_flag(o->env);
	else if (o->kind != CLI_OPT_LIST && text && store(dst, o, text) < 0)
		return bad_value(set, o, o->env, text);
	return CLI_OPTIONS_GO;
}

/* A list no flag gave: its variable, split at ':' like PATH. */
static int list_from_environment(void *dst, const cli_option *o)
{
	cli_strings *l = field(dst, o);
	const char *text = cli_env(o->env);

	if (l->n || !text)
		return CLI_OPTIONS_GO;
	return strings_split(l, text) < 0 ? out_of_memory() : CLI_OPTIONS_GO;
}

static const cli_option *short_option(const cli_option_set *set, int c)
{
	const cli_option *o;

	for (o = set->options; o->name && o->short_name != c; o++)
		;
	assert(o->name);
	return o;
}

void cli_print_manual_pointer(FILE *out, const char *command)
{
	fprintf(out, "\nFull manual: `man scli%s%s`\n", command ? "-" : "", command ? command : "");
}

/* An option typed on the command line, with its value (NULL if it takes none). */
static int from_flag(void *dst, const cli_option_set *set, const cli_option *o, const char *text)
{
	char name[80];

	switch (o->kind) {
	case CLI_OPT_HELP:
		fputs(set->usage, stdout);
		cli_print_manual_pointer(stdout, set->command);
		return EXIT_OK;
	case CLI_OPT_ACTION:
		return o->action();
	case CLI_OPT_FLAG:
		*(bool *)field(dst, o) = true;
		return CLI_OPTIONS_GO;
	case CLI_OPT_LIST:
		return strings_add(field(dst, o), text) < 0 ? out_of_memory() : CLI_OPTIONS_GO;
	default:
		snprintf(name, sizeof(name), "--%s", o->name);
		return store(dst, o, text) < 0 ? bad_value(set, o, name, text) : CLI_OPTIONS_GO;
	}
}

/* The flags, in the order typed; then the lists no flag gave, from their variables. */
static int parse_vector(void *dst, int *rest_out, const cli_option_set *set, int argc, char **argv,
			const struct option *longopts, const char *optstring)
{
	const cli_option *o;
	int c, rc;

	optind = 0; /* glibc: 0 re-initialises getopt for a new vector */
	if (check_long_options(argc, argv, longopts, set->stop_at_command, set->command) < 0)
		return EXIT_USAGE;
	while ((c = getopt_checked(argc, argv, optstring, longopts, set->command)) != -1) {
		if (c == -2)
			return EXIT_USAGE;
		o = c >= LONG_OPTION_VAL ? &set->options[c - LONG_OPTION_VAL]
					 : short_option(set, c);
		if ((rc = from_flag(dst, set, o, optarg)) != CLI_OPTIONS_GO)
			return rc;
	}
	if (!set->stop_at_command && optind < argc)
		return cli_usage_error(
		    set->command, set->unexpected ? set->unexpected : "unexpected argument '%s'",
		    argv[optind]);
	for (o = set->options; o->name; o++)
		if (o->kind == CLI_OPT_LIST && o->env &&
		    (rc = list_from_environment(dst, o)) != CLI_OPTIONS_GO)
			return rc;
	if (rest_out)
		*rest_out = optind;
	return CLI_OPTIONS_GO;
}

int cli_options_parse(void *dst, int *rest_out, const cli_option_set *set, int argc, char **argv)
{
	struct option longopts[MAX_OPTIONS + 1] = {{0}};
	char optstring[4 + MAX_OPTIONS] = "", *s = optstring;
	const cli_option *o;
	size_t i;
	int rc;

	if (set->stop_at_command)
		*s++ = '+';
	*s++ = ':'; /* a missing value is ':', not '?' */
	for (i = 0, o = set->options; o->name; i++, o++) {
		assert(i < MAX_OPTIONS);
		longopts[i].name = o->name;
		longopts[i].has_arg =
		    o->kind == CLI_OPT_FLAG || o->kind == CLI_OPT_HELP || o->kind == CLI_OPT_ACTION
			? no_argument
			: required_argument;
		longopts[i].val = LONG_OPTION_VAL + (int)i;
		if (o->short_name) /* aliases take no value */
			*s++ = o->short_name;
	}
	/* The environment first (what a CronJob or a Deployment sets); the flags then win. */
	for (o = set->options; o->name; o++)
		if (o->env && (rc = from_environment(dst, set, o)) != CLI_OPTIONS_GO)
			return rc;
	return parse_vector(dst, rest_out, set, argc, argv, longopts, optstring);
}

int cli_options_parse_help_only(const char *command, const char *usage, int argc, char **argv)
{
	static const cli_option help_only[] = {
	    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
	    {0},
	};
	const cli_option_set set = {.command = command, .usage = usage, .options = help_only};

	return cli_options_parse(NULL, NULL, &set, argc, argv);
}
