/**
 * @file sys/zone_source.h
 * The zone source port, for adapter authors: where zones come from (the
 * system's TZif files today). The domain does all the arithmetic; a source
 * only hands it a zone's transitions and rule through scli_zone_new.
 */
#ifndef SCLI_SYS_ZONE_SOURCE_H
#define SCLI_SYS_ZONE_SOURCE_H

#include "scli/export.h"

#ifdef SCLI_PUBLIC_API_ONLY
#error "include/scli/sys/ is for adapter authors; entry points and programs use include/scli/*.h"
#endif

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/zone.h"

#define SCLI_ZONE_SOURCE_OPS_VERSION 1

/**
 * Build a zone from its data (the domain's constructor, for sources). `n`
 * changes, at `at_s[i]` (Unix seconds, strictly increasing) to offset
 * `utoff_s[i]` (seconds east); `initial_utoff_s` before the first. `rule`
 * (a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0"; NULL or "" for none)
 * decides the offset from the last change on; without one the last offset
 * stays. Offsets beyond ±26 hours, unordered changes or a rule that does not
 * parse are SCLI_EINVALID with `*why` (when not NULL) pointing at a static
 * reason; SCLI_ENOMEM when out of memory. `name` is copied. The caller frees
 * `*out` with scli_zone_free.
 */
SCLI_API int scli_zone_new(scli_zone **out, const char *name, const int64_t *at_s,
			   const int32_t *utoff_s, size_t n, int32_t initial_utoff_s,
			   const char *rule, const char **why);

typedef struct scli_zone_source scli_zone_source;

typedef struct scli_zone_source_ops {
	int version;	  /**< SCLI_ZONE_SOURCE_OPS_VERSION */
	const char *name; /**< "tzif" */

	/**
	 * Load the zone called `name` (an IANA name, already known not to be a
	 * fixed offset): SCLI_EINVALID "unknown time zone …" when the source has
	 * no such zone, SCLI_EIO when it cannot read one it has; message set.
	 */
	int (*load)(scli_zone **out, scli_zone_source *src, const char *name);
	/** Free the source (zones it loaded stay valid). */
	void (*free)(scli_zone_source *src);
} scli_zone_source_ops;

/** Base struct every zone source embeds first. */
struct scli_zone_source {
	const scli_zone_source_ops *ops;
};

static inline int scli_zone_source_load(scli_zone **out, scli_zone_source *src, const char *name)
{
	assert(src && src->ops && src->ops->load);
	return src->ops->load(out, src, name);
}

/** Free a zone source (NULL-safe). */
static inline void scli_zone_source_free(scli_zone_source *src)
{
	if (src && src->ops && src->ops->free)
		src->ops->free(src);
}

/**
 * A source reading TZif files (RFC 8536, versions 1-4) under `dir` (copied;
 * NULL: SCLI_ZONEINFO_DIR), for tests that bring their own files. Names with a
 * leading `/`, an empty, `.` or `..` component, or characters outside
 * [A-Za-z0-9._+-/] are unknown zones. Free with scli_zone_source_free.
 */
SCLI_API int scli_zone_source_tzif_new(scli_zone_source **out, const char *dir);

#endif
