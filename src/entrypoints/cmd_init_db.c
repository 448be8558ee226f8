/* `scli init-db`: create the schema, or upgrade an older one. */
#include "cli.h"
#include "options.h"

static const char usage[] =
    "usage: scli [--database URL] init-db\n"
    "\n"
    "Create the schema, or upgrade an older one. Safe to run again. Refuses a\n"
    "database whose schema is newer than this scli.\n";

int cli_cmd_init_db(const cli_globals *g, int argc, char **argv)
{
	scli_repo *repo = NULL;
	int error, rc;

	if ((rc = cli_options_parse_help_only("init-db", usage, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	rc = EXIT_OK;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), true)) < 0 ||
	    (error = scli_service_init_db(repo)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	printf("database ready (schema version %d)\n", SCLI_SCHEMA_VERSION);
done:
	scli_repo_free(repo);
	return rc;
}
