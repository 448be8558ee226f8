/*
 * Test support: the collectors under test, each opened through the collector
 * registry by its name (as `--collector NAME` is), and for each a way to
 * write input, so that a contract case is written once and run against every
 * collector (tests/integration/test_collect_contract.c), the way the
 * repository contract runs against every repository.
 */
#ifndef SCLI_TEST_COLLECTOR_FACTORIES_H
#define SCLI_TEST_COLLECTOR_FACTORIES_H

#include <stdbool.h>
#include <stddef.h>

#include "scli/sys/collector.h"
#include "support/transcript.h"

/* How an input names its fields: names[0..n), in the order they are written. */
typedef struct collector_layout {
	const char *const *names;
	size_t n;
} collector_layout;

/* The four fields by their names, in the headerless CSV order: what CSV reads
 * without a header (and so writes none for). */
extern const collector_layout collector_default_layout;

typedef struct collector_factory {
	const char *name; /* the registry's name for it */
	/* What comes before the rows, without a line terminator: a CSV header
	 * naming `lay`'s columns unless it is the default layout; JSON nothing.
	 * Returns whether it wrote a line. */
	bool (*write_head)(strbuf *in, const collector_layout *lay);
	/* One row holding value[i] under lay->names[i], without a line terminator. */
	void (*write_row)(strbuf *in, const collector_layout *lay, const char *const *value);
	/* A row of this format that carries no event, and the reason it is rejected with. */
	const char *malformed, *malformed_reason;
} collector_factory;

/* Every collector the registry has, each with its writer: csv, json. */
extern const collector_factory collector_factories[];
extern const size_t collector_factories_count;

/* The factory for the collector the registry calls `name`, or NULL. */
const collector_factory *collector_factory_find(const char *name);

/* A new collector of that kind over `src` (borrowed), from the registry. */
int collector_factory_open(scli_collector **out, const collector_factory *f, scli_source *src);

/* The transcript (transcript.h) of a collector of that kind over `src`,
 * over data[0..len) as a memory source named "mem", or over the file `path`.
 * The caller frees. */
char *collector_transcript_of(const collector_factory *f, scli_source *src);
char *collector_transcript_mem(const collector_factory *f, const char *data, size_t len);
char *collector_transcript_file(const collector_factory *f, const char *path);

/* The transcript of the string literal `input` read by `f` must be `expected`
 * (a macro, so that a failure names the test's line; needs cmocka.h). */
#define EXPECT_TRANSCRIPT(f, input, expected)                                                      \
	do {                                                                                       \
		char *t_ = collector_transcript_mem(f, S(input));                                  \
		assert_string_equal(t_, expected);                                                 \
		free(t_);                                                                          \
	} while (0)

#endif
