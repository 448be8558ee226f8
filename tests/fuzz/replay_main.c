/*
 * Replays a fuzz target's corpus without libFuzzer: calls LLVMFuzzerTestOneInput
 * on every regular file under each directory (or file) given, recursively, so
 * the ordinary test build re-checks every seed and every past crash. A broken
 * invariant aborts, which fails the test. Exit 0 when all inputs ran.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long len;
	int rc = -1;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto done;
	/* at least one byte, so an empty file still gives a valid pointer */
	if (!(data = malloc((size_t)len + 1)) || fread(data, 1, (size_t)len, f) != (size_t)len)
		goto done;
	/* a fresh copy of exactly `len` bytes, as libFuzzer passes it */
	LLVMFuzzerTestOneInput(data, (size_t)len);
	(*count)++;
	rc = 0;
done:
	if (rc < 0)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
	free(data);
	if (f)
		fclose(f);
	return rc;
}

static int replay_path(const char *path, size_t *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	if (!(d = opendir(path))) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char *child;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		len = strlen(path) + strlen(e->d_name) + 2;
		if (!(child = malloc(len))) {
			rc = -1;
			break;
		}
		snprintf(child, len, "%s/%s", path, e->d_name);
		if (replay_path(child, count) < 0)
			rc = -1;
		free(child);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			rc = 1;
	printf("replayed %zu inputs\n", count);
	if (!count) {
		fprintf(stderr, "replay: no inputs found\n");
		rc = 1;
	}
	return rc;
}
