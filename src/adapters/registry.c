/* The collector registry: every collector kind in one const array, the way
 * curl lists its TLS backends. Add a collector here and `--collector NAME`,
 * directory inputs and the ledger know it. */
#include <string.h>

#include "scli/adapters.h"

static const char *const csv_extensions[] = {".csv", ".csv.gz", NULL};
static const char *const json_extensions[] = {".json", ".json.gz", ".ndjson", ".ndjson.gz", NULL};

static const scli_collector_kind csv_kind = {"csv", csv_extensions, scli_collector_csv_new};
static const scli_collector_kind json_kind = {"json", json_extensions, scli_collector_json_new};

const scli_collector_kind *const scli_collector_kinds[] = {&csv_kind, &json_kind, NULL};

const scli_collector_kind *scli_collector_kind_find(const char *name)
{
	size_t i;

	for (i = 0; scli_collector_kinds[i]; i++)
		if (!strcmp(scli_collector_kinds[i]->name, name))
			return scli_collector_kinds[i];
	return NULL;
}
