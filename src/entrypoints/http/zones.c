/*
 * `scli serve`: the zones requests name, loaded once and shared. Loading one
 * reads a TZif file; a server asked for the same few zones all day keeps each
 * after its first request. Zones are immutable, so every worker may use one at
 * once; the lock guards only the list. The list is bounded (names are user
 * input, and the fixed offsets alone have thousands of spellings): past
 * ZONES_MAX a request loads its zone for itself and frees it afterwards.
 * Unknown names are never kept.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

#define ZONES_MAX 1024

struct zone_entry {
	char *name; /* as the request spelled it */
	scli_zone *zone;
};

void http_zones_init(server *s)
{
	pthread_mutex_init(&s->zones_lock, NULL);
}

void http_zones_free(server *s)
{
	size_t i;

	for (i = 0; i < s->nzones; i++) {
		free(s->zones[i].name);
		scli_zone_free(s->zones[i].zone);
	}
	free(s->zones);
	pthread_mutex_destroy(&s->zones_lock);
}

/* The cached zone spelled `name`, or NULL; with the lock held. */
static const scli_zone *cached(const server *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nzones; i++)
		if (!strcmp(s->zones[i].name, name))
			return s->zones[i].zone;
	return NULL;
}

/* Keep `*zone` under `name` (taking it) when there is room; with the lock held. */
static void keep(server *s, const char *name, scli_zone **zone)
{
	struct zone_entry *list;
	char *copy;

	if (s->nzones == ZONES_MAX)
		return;
	if (s->nzones == s->zones_cap) {
		size_t cap = s->zones_cap ? 2 * s->zones_cap : 16;

		if (!(list = realloc(s->zones, cap * sizeof(*list))))
			return;
		s->zones = list;
		s->zones_cap = cap;
	}
	if (!(copy = strdup(name)))
		return;
	s->zones[s->nzones].name = copy;
	s->zones[s->nzones].zone = *zone;
	s->nzones++;
	*zone = NULL;
}

int http_zone_lookup(const scli_zone **out, void *ctx, const char *name)
{
	zone_lookup *zl = ctx;
	server *s = zl->s;
	scli_zone *loaded = NULL;
	const scli_zone *z;
	int error;

	*out = NULL;
	pthread_mutex_lock(&s->zones_lock);
	z = cached(s, name);
	pthread_mutex_unlock(&s->zones_lock);
	if (z) {
		*out = z;
		return 0;
	}
	/* read the file without the lock; another worker may load the same zone meanwhile */
	if ((error = scli_zone_load(&loaded, name)) < 0)
		return error;
	pthread_mutex_lock(&s->zones_lock);
	if (!(z = cached(s, name))) {
		z = loaded;
		keep(s, name, &loaded);
	}
	pthread_mutex_unlock(&s->zones_lock);
	if (loaded && loaded != z) /* the other worker's is kept */
		scli_zone_free(loaded);
	else if (loaded) /* no room: this request's own */
		zl->owned = loaded;
	*out = z;
	return 0;
}
