/* The schema version verdict every repository adapter gives (repo_schema.h). */
#include "adapters/repo_schema.h"

#include "scli/sys/repository.h"

int repo_schema_too_new(int version)
{
	return scli_error_set(
	    SCLI_ESCHEMA,
	    "database schema version %d is newer than this scli understands (%d); "
	    "upgrade scli",
	    version, SCLI_SCHEMA_VERSION);
}

int repo_schema_check_version(int version)
{
	if (version == 0)
		return scli_error_set(SCLI_ESCHEMA,
				      "database is not initialised; run `scli init-db` first");
	if (version < SCLI_SCHEMA_VERSION)
		return scli_error_set(SCLI_ESCHEMA,
				      "database schema version %d is older than this scli (%d); "
				      "run `scli init-db` to upgrade",
				      version, SCLI_SCHEMA_VERSION);
	if (version > SCLI_SCHEMA_VERSION)
		return repo_schema_too_new(version);
	return 0;
}
