/*
 * scli's windows against an independent oracle: window_oracle.py (next to
 * this file) finds window starts by brute force with Python's zoneinfo, for
 * every window size around every 2021 and 2040 clock change of zones with
 * 30- and 45-minute offsets, 30-minute changes, changes that skip or repeat
 * midnight, and fixed offsets. Every window's start, end, partial flag and
 * printed start, and every wall-clock reading's instant (or gap), must match.
 * Skipped (77) without python3, its zoneinfo, or the system's database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scli/alloc.h"
#include "scli/error.h"
#include "scli/window.h"
#include "scli/zone.h"

#define MAX_REPORTS 20

typedef struct oracle_case {
	scli_zone *zone;
	scli_window *windows;
	size_t n, next; /* windows computed by scli; the next one the oracle names */
	char label[128];
} oracle_case;

static int mismatches;

static void report(const oracle_case *c, const char *what, const char *line)
{
	if (++mismatches <= MAX_REPORTS)
		fprintf(stderr, "mismatch in %s: %s\n  oracle: %s", c->label, what, line);
}

static void case_end(oracle_case *c)
{
	if (c->windows && c->next != c->n)
		report(c, "scli has more windows than the oracle", "(end of case)\n");
	scli_free(c->windows);
	c->windows = NULL;
	c->n = c->next = 0;
}

static void case_begin(oracle_case *c, const char *line)
{
	char zone[64], size[16];
	int64_t from, to;
	scli_window_size ws;
	const char *why = NULL;

	case_end(c);
	assert_int_equal(
	    sscanf(line, "CASE %63s %15s %" SCNd64 " %" SCNd64, zone, size, &from, &to), 4);
	snprintf(c->label, sizeof(c->label), "%s %s [%" PRId64 ", %" PRId64 ")", zone, size, from,
		 to);
	if (!c->zone || strcmp(scli_zone_name(c->zone), zone) != 0) {
		scli_zone_free(c->zone);
		c->zone = NULL;
		if (scli_zone_load(&c->zone, zone) < 0)
			fail_msg("loading %s: %s", zone, scli_error_last());
	}
	assert_int_equal(scli_window_size_parse(&ws, size), 0);
	if (scli_window_list(&c->windows, &c->n, c->zone, ws, from, to, &why) < 0)
		fail_msg("%s: %s", c->label, why);
}

static void check_window(oracle_case *c, const char *line)
{
	char printed[64], ours[SCLI_ZONE_TIME_BUFSZ];
	int64_t start, end;
	int partial;
	const scli_window *w;

	assert_int_equal(
	    sscanf(line, "W %" SCNd64 " %" SCNd64 " %d %63s", &start, &end, &partial, printed), 4);
	if (c->next >= c->n) {
		report(c, "scli has fewer windows", line);
		return;
	}
	w = &c->windows[c->next++];
	scli_zone_format(ours, c->zone, w->start);
	if (w->start != start || w->end != end || w->partial != (partial != 0) ||
	    strcmp(ours, printed) != 0) {
		char got[200];

		snprintf(got, sizeof(got), "scli says %" PRId64 " %" PRId64 " %d %s", w->start,
			 w->end, w->partial, ours);
		report(c, got, line);
	}
}

/* A wall-clock reading: the earlier instant that shows it, or a gap. */
static void check_wall_clock(oracle_case *c, const char *line)
{
	char wall[32], want[32], got[SCLI_ZONE_WHY_BUFSZ + 32], why[SCLI_ZONE_WHY_BUFSZ];
	int64_t t;

	assert_int_equal(sscanf(line, "P %31s %31s", wall, want), 2);
	if (scli_zone_parse_time(&t, why, sizeof(why), c->zone, wall, strlen(wall)) == 0)
		snprintf(got, sizeof(got), "%" PRId64, t);
	else
		snprintf(got, sizeof(got), "GAP");
	if (strcmp(got, want) != 0 || (strcmp(got, "GAP") == 0 && !strstr(why, "does not exist")))
		report(c, got, line);
}

static void test_windows_match_zoneinfo(void **state)
{
	char cmd[4096], line[512];
	oracle_case c = {0};
	size_t lines = 0;
	FILE *p;
	int status;
	const char *slash = strrchr(__FILE__, '/');

	(void)state;
	/* CMake compiles this file by its absolute path: the script sits beside it */
	snprintf(cmd, sizeof(cmd), "python3 '%.*s/window_oracle.py'",
		 (int)(slash ? slash - __FILE__ : 1), slash ? __FILE__ : ".");
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p)) {
		lines++;
		if (!strncmp(line, "CASE ", 5))
			case_begin(&c, line);
		else if (!strncmp(line, "W ", 2))
			check_window(&c, line);
		else if (!strncmp(line, "P ", 2))
			check_wall_clock(&c, line);
	}
	case_end(&c);
	scli_zone_free(c.zone);
	status = pclose(p);
	assert_int_equal(status, 0);
	assert_true(lines > 1000);
	if (mismatches)
		fail_msg("%d mismatches with the oracle (first %d above)", mismatches, MAX_REPORTS);
}

/* python3, its zoneinfo and the database, or nothing to compare with. */
static int oracle_available(void)
{
	return access("/usr/share/zoneinfo/America/New_York", R_OK) == 0 &&
	       system("python3 -c 'import zoneinfo; zoneinfo.ZoneInfo(\"America/New_York\")' "
		      ">/dev/null 2>&1") == 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_windows_match_zoneinfo),
	};

	if (!oracle_available()) {
		fprintf(stderr,
			"skipped: python3 with zoneinfo and the system's tz database needed\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
