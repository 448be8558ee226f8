/* scli_zone_load: the public way to a zone by name. Fixed offsets are plain
 * data the domain builds itself; everything else comes from the system's
 * TZif files. A file is read per call: a zone is a few KiB and a count asks
 * for one, so a cache would buy nothing yet. */
#include "scli/error.h"
#include "scli/sys/zone_source.h"

int scli_zone_load(scli_zone **out, const char *name)
{
	scli_zone_source *src = NULL;
	int error = scli_zone_parse_fixed(out, name);

	if (error == SCLI_ENOMEM)
		return scli_error_set(error, "out of memory");
	if (error != SCLI_ENOTFOUND)
		return error;
	if ((error = scli_zone_source_tzif_new(&src, NULL)) == 0)
		error = scli_zone_source_load(out, src, name);
	scli_zone_source_free(src);
	return error;
}
