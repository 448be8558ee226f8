/*
 * The byte source every collector reads from: a file or stdin through zlib
 * (which reads gzip decompressed and anything else as is), or a copy of a
 * memory buffer for tests.
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

/* zlib's own buffer: large reads keep the per-call overhead of gzread low. */
#define SOURCE_GZ_BUFFER (256u * 1024u)

struct scli_source {
	gzFile gz;	    /* NULL for a memory source */
	unsigned char *mem; /* owned copy of the memory source's data */
	size_t mem_len;
	size_t mem_pos;
	int failed;   /* sticky: a read error is not retried */
	int64_t size; /* of a regular file as stored; -1 otherwise */
	char name[];
};

static int source_alloc(scli_source **out, const char *name)
{
	size_t len = strlen(name);
	scli_source *s = scli_calloc(1, sizeof(*s) + len + 1);

	if (!s)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	memcpy(s->name, name, len + 1);
	s->size = -1;
	*out = s;
	return 0;
}

static int hash_fd(char hex_out[33], int64_t *size_out, int fd, const char *name);

/*
 * Open `path` (or stdin for "-"); when `hex_out` is given and the path is a
 * regular file, hash its bytes first through the same descriptor, then rewind,
 * so the hash describes exactly the bytes that are loaded — a pipe or FIFO is
 * never read twice (it gets no hash: "").
 */
static int source_open(scli_source **out, char *hex_out, const char *path)
{
	scli_source *s = NULL;
	int is_stdin, fd = -1;
	int error;
	struct stat st;

	assert(out && path);
	*out = NULL;
	if (hex_out)
		hex_out[0] = '\0';
	is_stdin = strcmp(path, "-") == 0;
	if ((error = source_alloc(&s, is_stdin ? "<stdin>" : path)) < 0)
		goto done;

	/*
	 * open() ourselves rather than gzopen(): errno is then reliably the
	 * reason, and stdin goes through the same gzdopen path. stdin is dup'ed
	 * because gzclose closes the descriptor it was given.
	 */
	fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error = scli_error_set(SCLI_EIO, "cannot open %s: %s", s->name, strerror(errno));
		goto done;
	}
	if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		s->size = (int64_t)st.st_size;
		if (hex_out) {
			if ((error = hash_fd(hex_out, &s->size, fd, s->name)) < 0)
				goto done;
			if (lseek(fd, 0, SEEK_SET) != 0) {
				error = scli_error_set(SCLI_EIO, "cannot rewind %s: %s", s->name,
						       strerror(errno));
				goto done;
			}
		}
	}
	if (!(s->gz = gzdopen(fd, "rb"))) {
		error = scli_error_set(SCLI_EIO, "cannot open %s: %s", s->name,
				       errno ? strerror(errno) : "out of memory");
		goto done;
	}
	fd = -1; /* owned by s->gz now */
	gzbuffer(s->gz, SOURCE_GZ_BUFFER);
	*out = s;
	s = NULL;

done:
	if (fd >= 0)
		close(fd);
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
	if (!(s->mem = scli_malloc(len + 1))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	if (len)
		memcpy(s->mem, data, len);
	s->mem_len = len;
	*out = s;
	s = NULL;

done:
	scli_source_free(s);
	return error;
}

static long source_read_gz(scli_source *s, void *buf, size_t n)
{
	const char *msg;
	int errnum = Z_OK;
	int got;

	/* gzread takes an unsigned and returns an int: stay well inside both */
	if (n > (size_t)INT_MAX / 2)
		n = (size_t)INT_MAX / 2;
	got = gzread(s->gz, buf, (unsigned)n);
	if (got > 0)
		return got;
	msg = gzerror(s->gz, &errnum);
	/*
	 * gzread reports a truncated gzip stream as a clean end of input and
	 * leaves Z_BUF_ERROR behind; that is a damaged file, not the end.
	 */
	if (got == 0 && errnum == Z_OK)
		return 0;
	s->failed = 1;
	if (errnum == Z_ERRNO)
		msg = strerror(errno);
	return scli_error_set(SCLI_EIO, "cannot read %s: %s", s->name,
			      msg && *msg ? msg : "read error");
}

long scli_source_read(scli_source *s, void *buf, size_t n)
{
	size_t left;

	assert(s && buf);
	if (s->failed)
		return scli_error_set(SCLI_EIO, "cannot read %s: earlier read failed", s->name);
	if (n == 0)
		return 0;
	if (s->gz)
		return source_read_gz(s, buf, n);
	left = s->mem_len - s->mem_pos;
	if (n > left)
		n = left;
	if (n > LONG_MAX)
		n = LONG_MAX;
	memcpy(buf, s->mem + s->mem_pos, n);
	s->mem_pos += n;
	return (long)n;
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
	if (s->gz)
		gzclose_r(s->gz);
	scli_free(s->mem);
	scli_free(s);
}

int64_t scli_source_size(const scli_source *s)
{
	return s->size;
}

int64_t scli_source_offset(const scli_source *s)
{
	if (s->gz)
		return (int64_t)gzoffset(s->gz);
	return (int64_t)s->mem_pos;
}

/* XXH3-128 of everything left in fd, as hex; the byte count into *size_out. */
static int hash_fd(char hex_out[33], int64_t *size_out, int fd, const char *name)
{
	static const char digits[] = "0123456789abcdef";
	XXH3_state_t *state = NULL;
	XXH128_canonical_t canon;
	unsigned char *buf = NULL;
	int64_t total = 0;
	int error = 0, i;
	ssize_t n;

	if (!(state = XXH3_createState()) || !(buf = scli_malloc(SOURCE_GZ_BUFFER))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	XXH3_128bits_reset(state);
	while ((n = read(fd, buf, SOURCE_GZ_BUFFER)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error =
			    scli_error_set(SCLI_EIO, "cannot read %s: %s", name, strerror(errno));
			goto done;
		}
		XXH3_128bits_update(state, buf, (size_t)n);
		total += n;
	}
	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(state));
	for (i = 0; i < 16; i++) {
		hex_out[2 * i] = digits[canon.digest[i] >> 4];
		hex_out[2 * i + 1] = digits[canon.digest[i] & 15];
	}
	hex_out[32] = '\0';
	*size_out = total;
done:
	XXH3_freeState(state);
	scli_free(buf);
	return error;
}
