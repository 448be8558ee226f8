/*
 * The options of scli's commands, declared as data: each command lists its
 * options in a `const cli_option[]` (name, kind, environment variable, bounds,
 * where the value goes) and calls cli_options_parse() once. The parser gives
 * every command the same rules: the environment is read first and a flag wins
 * over it; values are checked against their bounds wherever they come from;
 * long options must be typed whole (a near miss gets "did you mean"); every
 * problem is a usage error (exit 2).
 */
#ifndef SCLI_OPTIONS_H
#define SCLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cli_options_parse(): parsed, the command goes on. Any other value is an exit code. */
enum { CLI_OPTIONS_GO = -1 };

/* How an option's value is read and where it goes (the field at `offset`). */
typedef enum cli_option_kind {
	CLI_OPT_FLAG,	/* no value; bool, set true (the variable: cli_env_flag) */
	CLI_OPT_STRING, /* const char * (borrowed from argv or environ), `min` bytes at least */
	CLI_OPT_LIST,	/* cli_strings: each flag appends; no flag: the variable split at ':' */
	CLI_OPT_CHOICE, /* int: the value of the `choices` entry whose text is the value */
	CLI_OPT_SIZE,	/* size_t, decimal, in [min, max] */
	CLI_OPT_INT64,	/* int64_t, decimal, in [min, max] */
	CLI_OPT_HELP,	/* print the set's usage on stdout; exit 0 */
	CLI_OPT_ACTION, /* run `action`; exit with what it returns */
} cli_option_kind;

/* One accepted value of a CLI_OPT_CHOICE, and what is stored for it. */
typedef struct cli_choice {
	const char *text;
	int value;
} cli_choice;

typedef struct cli_option {
	const char *name; /* the long name, without "--" */
	cli_option_kind kind;
	size_t offset;		   /* offsetof() the field in the command's struct */
	const char *env;	   /* read before the flags (a flag wins), or NULL */
	int64_t min;		   /* numbers: the least value; strings: the least length */
	uint64_t max;		   /* numbers: the greatest value; 0: the type's own limit */
	const cli_choice *choices; /* CLI_OPT_CHOICE: ends with {NULL} */
	/*
	 * The message for a value out of bounds or not among the choices: {name} is
	 * replaced by the flag (`--batch-size`) or the variable (`SCLI_BATCH_SIZE`)
	 * the value came from, {value} by the value.
	 */
	const char *bad;
	int (*action)(void); /* CLI_OPT_ACTION */
	char short_name;     /* a one-letter alias (`-h`), or 0 */
} cli_option;

/* A command's options and how its messages read. */
typedef struct cli_option_set {
	const char *command;	    /* in "(see `scli COMMAND --help`)"; NULL: the global options */
	const char *usage;	    /* what CLI_OPT_HELP prints */
	const cli_option *options;  /* ends with {NULL} */
	bool bad_value_no_see_help; /* a bad value's message has no pointer to --help (load's) */
	bool stop_at_command;	    /* the first argument that is no option ends them */
	const char *unexpected;	    /* an argument left ('%s'); NULL: "unexpected argument '%s'" */
} cli_option_set;

/* A CLI_OPT_LIST value; zero-initialised before the parse, cli_strings_free() after. */
typedef struct cli_strings {
	const char **items; /* borrowed from argv, or pointing into env_copy */
	size_t n, cap;
	char *env_copy;
} cli_strings;

void cli_strings_free(cli_strings *l);

/*
 * Read a command's options into the struct at `dst`: first the variables of
 * the options that have one, in table order, then the flags in the order typed.
 * Fields of options that are not given keep what the caller put there (the
 * defaults). Returns CLI_OPTIONS_GO to go on; else the exit code, the message
 * (or --help) printed. With stop_at_command, *rest_out is the index of the
 * first argument left (argc if none); rest_out may be NULL.
 */
int cli_options_parse(void *dst, int *rest_out, const cli_option_set *set, int argc, char **argv);

/* cli_options_parse() for a command that takes no option but --help. */
int cli_options_parse_help_only(const char *command, const char *usage, int argc, char **argv);

#endif
