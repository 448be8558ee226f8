/* The zone source over TZif files (RFC 8536), the format of the system's time
 * zone database. It reads one file, checks its counts against its length,
 * and hands the domain the changes (64-bit data for version 2 and later, the
 * 32-bit data of version 1 otherwise) and the footer's POSIX rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scli/alloc.h"
#include "scli/error.h"
#include "scli/sys/zone_source.h"

/* The largest zone in tzdata is under 4 KiB; anything this big is not a zone. */
#define TZIF_MAX_BYTES (256 * 1024)
#define TZIF_HEADER 44
#define NAME_MAX_LEN 255

typedef struct tzif_source {
	scli_zone_source base;
	char *dir;
} tzif_source;

typedef struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

/* A file's bytes and where reading it has got to. */
typedef struct tzif_file {
	const unsigned char *p;
	size_t len;
	const char *path;
} tzif_file;

static int unknown(const char *name)
{
	return scli_error_set(SCLI_EINVALID,
			      "unknown time zone \"%s\" (an IANA name such as Europe/Berlin, or an "
			      "offset such as +05:30)",
			      name);
}

static int damaged(const tzif_file *f, const char *why)
{
	return scli_error_set(SCLI_EIO, "time zone file %s is damaged: %s", f->path, why);
}

/* Only names that stay inside the database: no absolute paths, no `..`, no
 * hidden files, nothing a shell or a path would read differently. */
static bool name_ok(const char *name)
{
	size_t len = strlen(name), i, comp = 0;

	if (len == 0 || len > NAME_MAX_LEN || name[0] == '/' || name[len - 1] == '/')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '/') {
			comp = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '+' || (c == '.' && comp > 0)))
			return false;
		comp++;
	}
	return strstr(name, "//") == NULL;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_header(tzif_header *h, const tzif_file *f, size_t at)
{
	const unsigned char *p = f->p + at;

	if (f->len - at < TZIF_HEADER || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return true;
}

/* Bytes of the data block after a header; 0 if its counts break RFC 8536's
 * rules. Counts are bounded first so the sum cannot overflow. */
static size_t block_size(const tzif_header *h, size_t timesize)
{
	if (h->typecnt == 0 || h->charcnt == 0 || h->timecnt > TZIF_MAX_BYTES || h->typecnt > 256 ||
	    h->charcnt > TZIF_MAX_BYTES || h->leapcnt > TZIF_MAX_BYTES ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return 0;
	return (size_t)h->timecnt * (timesize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/* The footer of a version 2+ file: "\n" rule "\n" right after the data. */
static int read_footer(char **rule_out, const tzif_file *f, size_t at)
{
	const unsigned char *nl;

	*rule_out = NULL;
	if (at >= f->len || f->p[at] != '\n' ||
	    !(nl = memchr(f->p + at + 1, '\n', f->len - at - 1)))
		return damaged(f, "the footer is missing");
	if (memchr(f->p + at + 1, '\0', (size_t)(nl - f->p) - at - 1))
		return damaged(f, "the footer holds a NUL");
	if (!(*rule_out = scli_malloc((size_t)(nl - f->p) - at)))
		return scli_error_set(SCLI_ENOMEM, "out of memory reading a time zone");
	memcpy(*rule_out, f->p + at + 1, (size_t)(nl - f->p) - at - 1);
	(*rule_out)[(size_t)(nl - f->p) - at - 1] = '\0';
	return 0;
}

static int make_zone(scli_zone **out, const tzif_file *f, const char *name, const int64_t *at_s,
		     const int32_t *utoff, size_t n, int32_t initial, const char *rule)
{
	const char *why = "";
	int error = scli_zone_new(out, name, at_s, utoff, n, initial, rule, &why);

	if (error == SCLI_ENOMEM)
		return scli_error_set(error, "out of memory reading a time zone");
	return error < 0 ? damaged(f, why) : 0;
}

/* Decodes the block at `at` (after header `h`) and builds the zone. */
static int decode(scli_zone **out, const tzif_file *f, const char *name, const tzif_header *h,
		  size_t at, size_t timesize, const char *rule)
{
	const unsigned char *times = f->p + at, *idx = times + (size_t)h->timecnt * timesize;
	const unsigned char *types = idx + h->timecnt;
	int64_t *at_s = scli_calloc(h->timecnt + 1, sizeof(*at_s));
	int32_t *utoff = scli_calloc(h->timecnt + 1, sizeof(*utoff));
	int error = 0;
	size_t i;

	if (!at_s || !utoff) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory reading a time zone");
		goto done;
	}
	for (i = 0; i < h->timecnt; i++) {
		if (idx[i] >= h->typecnt) {
			error = damaged(f, "a change names a type it does not have");
			goto done;
		}
		at_s[i] = timesize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
		utoff[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
	}
	/* RFC 8536: time type 0 holds for instants before the first change */
	error = make_zone(out, f, name, at_s, utoff, h->timecnt, (int32_t)be32(types), rule);
done:
	scli_free(at_s);
	scli_free(utoff);
	return error;
}

static int parse(scli_zone **out, const tzif_file *f, const char *name)
{
	tzif_header h1, h2;
	size_t b1, b2, at2;
	char *rule = NULL;
	int error;

	if (!read_header(&h1, f, 0))
		return unknown(name); /* zone.tab, a README: not a zone */
	if (!(b1 = block_size(&h1, 4)) || f->len - TZIF_HEADER < b1)
		return damaged(f, "the version 1 data is cut short or its counts are wrong");
	if (h1.version == '\0')
		return h1.leapcnt ? damaged(f, "leap seconds are not supported")
				  : decode(out, f, name, &h1, TZIF_HEADER, 4, NULL);
	at2 = TZIF_HEADER + b1;
	if (!read_header(&h2, f, at2) || !(b2 = block_size(&h2, 8)) ||
	    f->len - at2 - TZIF_HEADER < b2)
		return damaged(f, "the 64-bit data is cut short or its counts are wrong");
	if (h2.leapcnt)
		return damaged(f, "leap seconds (right/ zones) are not supported");
	if ((error = read_footer(&rule, f, at2 + TZIF_HEADER + b2)) < 0)
		return error;
	error = decode(out, f, name, &h2, at2 + TZIF_HEADER, 8, rule);
	scli_free(rule);
	return error;
}

/* Reads the whole file; a missing file or a directory is an unknown zone. */
static int slurp(unsigned char **buf_out, size_t *len_out, const char *path, const char *name)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t got = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC), error = 0;

	*buf_out = NULL;
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG
			   ? unknown(name)
			   : scli_error_set(SCLI_EIO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TZIF_MAX_BYTES) {
		error = unknown(name);
		goto done;
	}
	if (!(buf = scli_malloc((size_t)st.st_size + 1))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory reading a time zone");
		goto done;
	}
	while (len < (size_t)st.st_size && got > 0)
		if ((got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
			len += (size_t)got;
		else if (got < 0 && errno == EINTR)
			got = 1;
	if (got < 0)
		error = scli_error_set(SCLI_EIO, "cannot read %s: %s", path, strerror(errno));
done:
	close(fd);
	if (error < 0) {
		scli_free(buf);
		return error;
	}
	*buf_out = buf;
	*len_out = len;
	return 0;
}

static int tzif_load(scli_zone **out, scli_zone_source *src, const char *name)
{
	tzif_source *s = (tzif_source *)src;
	size_t plen = strlen(s->dir) + strlen(name) + 2;
	char *path = NULL;
	unsigned char *buf = NULL;
	tzif_file f = {NULL, 0, NULL};
	int error;

	*out = NULL;
	if (!name_ok(name))
		return unknown(name);
	if (!(path = scli_malloc(plen)))
		return scli_error_set(SCLI_ENOMEM, "out of memory reading a time zone");
	snprintf(path, plen, "%s/%s", s->dir, name);
	if ((error = slurp(&buf, &f.len, path, name)) == 0) {
		f.p = buf;
		f.path = path;
		error = parse(out, &f, name);
	}
	scli_free(buf);
	scli_free(path);
	return error;
}

static void tzif_free(scli_zone_source *src)
{
	tzif_source *s = (tzif_source *)src;

	scli_free(s->dir);
	scli_free(s);
}

static const scli_zone_source_ops tzif_ops = {SCLI_ZONE_SOURCE_OPS_VERSION, "tzif", tzif_load,
					      tzif_free};

int scli_zone_source_tzif_new(scli_zone_source **out, const char *dir)
{
	tzif_source *s = scli_calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->dir = scli_strdup(dir ? dir : SCLI_ZONEINFO_DIR))) {
		scli_free(s);
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	s->base.ops = &tzif_ops;
	*out = &s->base;
	return 0;
}
