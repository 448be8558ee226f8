/*
 * The byte source every collector reads from: a file or stdin (gzip read
 * decompressed through zlib's inflate, anything else as is), a memory buffer
 * (a copy, or borrowed), or the rest of a plain file from an offset.
 *
 * A regular file is hashed as it is read, and can be checked against what it
 * was when it was opened (scli_source_check): a file that is appended to,
 * truncated or copied over while it loads must never be recorded as loaded
 * with content that was not read. We read the descriptor ourselves (not
 * gzread) so that the bytes hashed are exactly the bytes decoded.
 */
#include "scli/alloc.h"
#include "scli/sys/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

/* Large reads keep the per-call overhead low (as zlib's own gzbuffer did). */
#define SOURCE_BUFFER (256u * 1024u)

typedef enum { MODE_UNKNOWN, MODE_PLAIN, MODE_GZIP, MODE_DRAIN } source_mode;

struct scli_source {
	int fd;			  /* -1 for a memory or tail source */
	const unsigned char *mem; /* the memory source's data */
	unsigned char *mem_owned; /* mem, when it is a copy of the caller's */
	size_t mem_len;
	size_t mem_pos;
	const scli_source *parent; /* a tail source: the file it reads, from parent_pos */
	int64_t parent_pos;
	unsigned char *in; /* raw bytes read from fd, in[in_pos..in_len) not yet used */
	size_t in_pos, in_len;
	int raw_eof;	  /* read() returned 0 */
	int64_t raw_read; /* raw bytes read from fd so far */
	source_mode mode;
	z_stream z;
	int z_live;	    /* inflateInit2 done */
	int failed;	    /* sticky: a read error is not retried */
	int regular;	    /* a regular file: size, hash and check apply */
	int64_t size;	    /* of a regular file as stored; -1 otherwise */
	struct stat opened; /* fstat when opened, for scli_source_check */
	XXH3_state_t *hash; /* XXH3-128 of the raw bytes as read (regular files) */
	char name[];
};

static int source_alloc(scli_source **out, const char *name)
{
	size_t len = strlen(name);
	scli_source *s = scli_calloc(1, sizeof(*s) + len + 1);

	if (!s)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	memcpy(s->name, name, len + 1);
	s->fd = -1;
	s->size = -1;
	*out = s;
	return 0;
}

static void hex_digest(char hex_out[33], XXH3_state_t *state)
{
	static const char digits[] = "0123456789abcdef";
	XXH128_canonical_t canon;
	int i;

	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(state));
	for (i = 0; i < 16; i++) {
		hex_out[2 * i] = digits[canon.digest[i] >> 4];
		hex_out[2 * i + 1] = digits[canon.digest[i] & 15];
	}
	hex_out[32] = '\0';
}

/* read() that retries on EINTR; the error message names the source. */
static long read_fd(scli_source *s, void *buf, size_t n)
{
	ssize_t got;

	do
		got = read(s->fd, buf, n);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return scli_error_set(SCLI_EIO, "cannot read %s: %s", s->name, strerror(errno));
	return (long)got;
}

/* XXH3-128 of the whole file through s->fd as hex, then back to the start. */
static int prehash(char hex_out[33], scli_source *s)
{
	long n;
	int error = 0;

	XXH3_128bits_reset(s->hash);
	while ((n = read_fd(s, s->in, SOURCE_BUFFER)) != 0) {
		if (n < 0)
			return (int)n;
		XXH3_128bits_update(s->hash, s->in, (size_t)n);
	}
	hex_digest(hex_out, s->hash);
	if (lseek(s->fd, 0, SEEK_SET) != 0)
		error = scli_error_set(SCLI_EIO, "cannot rewind %s: %s", s->name, strerror(errno));
	XXH3_128bits_reset(s->hash);
	return error;
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return scli_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	scli_free(p);
}

/*
 * Open `path` (or stdin for "-"). For a regular file, `hex_out` (when given)
 * receives the hash of its bytes, read through the same descriptor before it is
 * rewound: a pipe or FIFO is never read twice (it gets no hash: "").
 */
static int source_open(scli_source **out, char *hex_out, const char *path)
{
	scli_source *s = NULL;
	int is_stdin, error = 0;

	assert(out && path);
	*out = NULL;
	if (hex_out)
		hex_out[0] = '\0';
	is_stdin = strcmp(path, "-") == 0;
	if ((error = source_alloc(&s, is_stdin ? "<stdin>" : path)) < 0)
		goto done;
	if (!(s->in = scli_malloc(SOURCE_BUFFER))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	/* stdin is dup'ed so that freeing the source never closes fd 0 */
	s->fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		error = scli_error_set(SCLI_EIO, "cannot open %s: %s", s->name, strerror(errno));
		goto done;
	}
	if (!is_stdin && fstat(s->fd, &s->opened) == 0 && S_ISREG(s->opened.st_mode)) {
		s->regular = 1;
		s->size = (int64_t)s->opened.st_size;
		if (!(s->hash = XXH3_createState())) {
			error = scli_error_set(SCLI_ENOMEM, "out of memory");
			goto done;
		}
		if (hex_out && (error = prehash(hex_out, s)) < 0)
			goto done;
		XXH3_128bits_reset(s->hash);
	}
	*out = s;
	s = NULL;
done:
	scli_source_free(s);
	return error;
}

int scli_source_open(scli_source **out, const char *path)
{
	return source_open(out, NULL, path);
}

int scli_source_open_hashed(scli_source **out, char hex_out[33], const char *path)
{
	return source_open(out, hex_out, path);
}

int scli_source_from_memory(scli_source **out, const void *data, size_t len, const char *name)
{
	scli_source *s = NULL;
	int error;

	assert(out && (data || len == 0) && name);
	*out = NULL;
	if ((error = source_alloc(&s, name)) < 0)
		goto done;
	/* +1 so that an empty source still has a non-NULL buffer */
	if (!(s->mem_owned = scli_malloc(len + 1))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	if (len)
		memcpy(s->mem_owned, data, len);
	s->mem = s->mem_owned;
	s->mem_len = len;
	*out = s;
	s = NULL;

done:
	scli_source_free(s);
	return error;
}

int scli_source_over(scli_source **out, const void *data, size_t len, const char *name)
{
	static const unsigned char empty[1];
	int error;

	assert(out && (data || len == 0) && name);
	if ((error = source_alloc(out, name)) < 0)
		return error;
	(*out)->mem = len ? data : empty;
	(*out)->mem_len = len;
	return 0;
}

int scli_source_plain_file(int64_t *size_out, const scli_source *s)
{
	unsigned char magic[2];
	long got;

	assert(size_out && s);
	*size_out = -1;
	if (!s->regular)
		return SCLI_EUNSUPPORTED;
	/* gzip is told by its first two bytes, as start_mode does, without moving s */
	if ((got = scli_source_read_at(s, magic, sizeof(magic), 0)) < 0)
		return (int)got;
	if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		return SCLI_EUNSUPPORTED;
	*size_out = s->size;
	return 0;
}

long scli_source_read_at(const scli_source *s, void *buf, size_t n, int64_t offset)
{
	size_t done = 0;
	ssize_t got;

	assert(s && s->fd >= 0 && buf && offset >= 0);
	if (n > LONG_MAX)
		n = LONG_MAX;
	/* a short pread is not the end of the file: read on until n bytes or 0 */
	while (done < n) {
		got = pread(s->fd, (char *)buf + done, n - done, (off_t)offset + (off_t)done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return scli_error_set(SCLI_EIO, "cannot read %s: %s", s->name,
					      strerror(errno));
		if (got == 0)
			break;
		done += (size_t)got;
	}
	return (long)done;
}

int scli_source_open_tail(scli_source **out, const scli_source *s, int64_t offset)
{
	int error;

	assert(out && s && s->fd >= 0 && offset >= 0);
	if ((error = source_alloc(out, s->name)) < 0)
		return error;
	(*out)->parent = s;
	(*out)->parent_pos = offset;
	return 0;
}

/* More raw bytes into s->in, after what is still unused. 0 at the end of input. */
static long fill(scli_source *s)
{
	long got;

	if (s->raw_eof)
		return 0;
	if (s->in_pos == s->in_len)
		s->in_pos = s->in_len = 0;
	else if (s->in_pos > 0) {
		memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
		s->in_len -= s->in_pos;
		s->in_pos = 0;
	}
	if ((got = read_fd(s, s->in + s->in_len, SOURCE_BUFFER - s->in_len)) < 0)
		return got;
	if (got == 0)
		s->raw_eof = 1;
	if (s->hash)
		XXH3_128bits_update(s->hash, s->in + s->in_len, (size_t)got);
	s->in_len += (size_t)got;
	s->raw_read += got;
	return got;
}

/* Whether the unused raw bytes start a gzip member; reads until it can tell. */
static int at_gzip_magic(int *yes, scli_source *s)
{
	long got;

	while (s->in_len - s->in_pos < 2 && !s->raw_eof)
		if ((got = fill(s)) < 0)
			return (int)got;
	*yes =
	    s->in_len - s->in_pos >= 2 && s->in[s->in_pos] == 0x1f && s->in[s->in_pos + 1] == 0x8b;
	return 0;
}

static int start_mode(scli_source *s)
{
	int gzip = 0, error; /* set by at_gzip_magic on success; 0 keeps -O2 quiet */

	if ((error = at_gzip_magic(&gzip, s)) < 0)
		return error;
	if (!gzip) {
		s->mode = MODE_PLAIN;
		return 0;
	}
	s->z.zalloc = z_alloc;
	s->z.zfree = z_free;
	if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	s->z_live = 1;
	s->mode = MODE_GZIP;
	return 0;
}

static long read_plain(scli_source *s, unsigned char *buf, size_t n)
{
	long got;

	if (s->in_pos == s->in_len && (got = fill(s)) <= 0)
		return got;
	if (n > s->in_len - s->in_pos)
		n = s->in_len - s->in_pos;
	memcpy(buf, s->in + s->in_pos, n);
	s->in_pos += n;
	return (long)n;
}

/*
 * After one gzip member: another member follows (decoded on, as gzip(1) and
 * gzread do) or the rest is ignored as trailing garbage, like gzread; it is
 * still read, so that the whole file is hashed and checked.
 */
static int next_member(scli_source *s)
{
	int gzip = 0, error; /* set by at_gzip_magic on success; 0 keeps -O2 quiet */

	if ((error = at_gzip_magic(&gzip, s)) < 0)
		return error;
	if (gzip && inflateReset(&s->z) == Z_OK)
		return 0;
	s->mode = MODE_DRAIN;
	return 0;
}

static long read_gzip(scli_source *s, unsigned char *buf, size_t n)
{
	long got;
	int rc, error;

	if (n > UINT_MAX)
		n = UINT_MAX;
	s->z.next_out = buf;
	s->z.avail_out = (uInt)n;
	while (s->z.avail_out == n && s->mode == MODE_GZIP) {
		if (s->in_pos == s->in_len) {
			if ((got = fill(s)) < 0)
				return got;
			if (got == 0)
				return scli_error_set(SCLI_EIO,
						      "cannot read %s: unexpected end of file "
						      "(truncated gzip stream)",
						      s->name);
		}
		s->z.next_in = s->in + s->in_pos;
		s->z.avail_in = (uInt)(s->in_len - s->in_pos);
		rc = inflate(&s->z, Z_NO_FLUSH);
		s->in_pos = s->in_len - s->z.avail_in;
		if (rc == Z_STREAM_END) {
			if ((error = next_member(s)) < 0)
				return error;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			return scli_error_set(SCLI_EIO, "cannot read %s: %s", s->name,
					      s->z.msg ? s->z.msg : "invalid gzip data");
		}
	}
	return (long)(n - s->z.avail_out);
}

long scli_source_read(scli_source *s, void *buf, size_t n)
{
	long got = 0;
	int error;

	assert(s && buf);
	if (s->failed)
		return scli_error_set(SCLI_EIO, "cannot read %s: earlier read failed", s->name);
	if (n == 0)
		return 0;
	if (n > LONG_MAX)
		n = LONG_MAX;
	if (s->parent) {
		if ((got = scli_source_read_at(s->parent, buf, n, s->parent_pos)) < 0)
			s->failed = 1;
		else
			s->parent_pos += got;
		s->raw_eof = got == 0;
		return got;
	}
	if (s->fd < 0) {
		if (n > s->mem_len - s->mem_pos)
			n = s->mem_len - s->mem_pos;
		memcpy(buf, s->mem + s->mem_pos, n);
		s->mem_pos += n;
		return (long)n;
	}
	if (s->mode == MODE_UNKNOWN && (error = start_mode(s)) < 0)
		got = error;
	else if (s->mode == MODE_PLAIN)
		got = read_plain(s, buf, n);
	else if (s->mode == MODE_GZIP)
		got = read_gzip(s, buf, n);
	if (got < 0)
		s->failed = 1;
	return got;
}

/* Whether the file, as fstat sees it now, is still the one that was opened. */
static int same_as_opened(const scli_source *s, const struct stat *now)
{
	return now->st_dev == s->opened.st_dev && now->st_ino == s->opened.st_ino &&
	       now->st_size == s->opened.st_size &&
	       now->st_mtim.tv_sec == s->opened.st_mtim.tv_sec &&
	       now->st_mtim.tv_nsec == s->opened.st_mtim.tv_nsec;
}

static int changed(const scli_source *s, const char *how)
{
	return scli_error_set(SCLI_ECHANGED,
			      "%s: file changed while loading (%s); what was committed stays, "
			      "run the load again to finish it",
			      s->name, how);
}

int scli_source_check(scli_source *s, bool at_end, const char *expected_hash)
{
	struct stat now;
	char hex[33];
	long got;

	assert(s);
	if (!s->regular)
		return 0;
	if (at_end) {
		/* trailing bytes not decoded (after a gzip stream) are read and hashed too */
		s->in_pos = s->in_len;
		while ((got = fill(s)) > 0)
			s->in_pos = s->in_len;
		if (got < 0)
			return (int)got;
	}
	if (fstat(s->fd, &now) != 0)
		return scli_error_set(SCLI_EIO, "cannot stat %s: %s", s->name, strerror(errno));
	if (!same_as_opened(s, &now))
		return changed(s, now.st_size != s->opened.st_size ? "its size changed"
								   : "it was modified");
	if (!at_end)
		return 0;
	if (s->raw_read != (int64_t)s->opened.st_size)
		return changed(s, "fewer or more bytes were read than it holds");
	hex_digest(hex, s->hash);
	if (expected_hash && *expected_hash && strcmp(hex, expected_hash))
		return changed(s, "its content differs from when it was opened");
	return 0;
}

bool scli_source_at_end(const scli_source *s)
{
	assert(s);
	if (s->parent)
		return s->raw_eof != 0;
	return s->fd >= 0 ? s->raw_eof != 0 : s->mem_pos == s->mem_len;
}

const char *scli_source_name(const scli_source *s)
{
	assert(s);
	return s->name;
}

void scli_source_free(scli_source *s)
{
	if (!s)
		return;
	if (s->z_live)
		inflateEnd(&s->z);
	if (s->fd >= 0)
		close(s->fd);
	XXH3_freeState(s->hash);
	scli_free(s->in);
	scli_free(s->mem_owned);
	scli_free(s);
}

int64_t scli_source_size(const scli_source *s)
{
	return s->size;
}

int64_t scli_source_offset(const scli_source *s)
{
	if (s->parent)
		return s->parent_pos;
	if (s->fd >= 0)
		return s->raw_read - (int64_t)(s->in_len - s->in_pos);
	return (int64_t)s->mem_pos;
}
