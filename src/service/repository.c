/* The repository handle's public functions (include/scli/repository.h): the
 * port's wrappers that a program, which never sees the ops table, may call. */
#include <assert.h>

#include "scli/repository.h"
#include "scli/sys/repository.h"
#include "scli/service.h"

const char *scli_repo_name(const scli_repo *r)
{
	assert(r && r->ops);
	return r->ops->name;
}

bool scli_repo_replaced(scli_repo *r)
{
	assert(r && r->ops);
	return r->ops->replaced ? r->ops->replaced(r) : false;
}

void scli_repo_free(scli_repo *r)
{
	if (r && r->ops && r->ops->free)
		r->ops->free(r);
}

int scli_service_check_schema(scli_repo *repo)
{
	return scli_repo_check_schema(repo);
}

int scli_service_schema_version(int *version_out, scli_repo *repo)
{
	return scli_repo_schema_version(version_out, repo);
}
