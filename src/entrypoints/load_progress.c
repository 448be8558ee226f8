/* The live progress line of `scli load` on a terminal: rows, rows/s, percent
 * of bytes, elapsed time, ETA, and the file's place in the list. */
#include <stdio.h>

#include "load_cli.h"

/* Often enough to look alive, rarely enough to cost nothing. */
#define PROGRESS_INTERVAL_S 0.25

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* h:mm:ss, or m:ss under an hour. */
static void format_duration(char *buf, size_t cap, double secs)
{
	long s = secs < 0 ? 0 : (long)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
}

void cli_progress_start(progress_line *p, size_t index, size_t count)
{
	p->index = index;
	p->count = count;
	p->last_shown = -1;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
}

void cli_progress_show(void *ctx, const scli_load_progress *at)
{
	progress_line *p = ctx;
	double secs = seconds_since(&p->started), frac = -1;
	uint64_t rows = at->so_far->rows_read;
	char elapsed[32], eta[32];

	if (!p->on || (p->last_shown >= 0 && secs - p->last_shown < PROGRESS_INTERVAL_S))
		return;
	p->last_shown = secs;
	format_duration(elapsed, sizeof(elapsed), secs);
	fprintf(stderr, "\r\033[K");
	if (p->count > 1)
		fprintf(stderr, "[%zu/%zu] ", p->index, p->count);
	fprintf(stderr, "loading %s: %llu rows, %.0f rows/s", at->source, (unsigned long long)rows,
		secs > 0 ? (double)rows / secs : 0.0);
	if (at->bytes_total > 0 && at->bytes_read >= 0) {
		frac = (double)at->bytes_read / (double)at->bytes_total;
		fprintf(stderr, ", %.0f%%", 100.0 * frac);
	}
	fprintf(stderr, ", %s elapsed", elapsed);
	if (frac > 0.01 && frac < 1) {
		format_duration(eta, sizeof(eta), secs * (1 - frac) / frac);
		fprintf(stderr, ", ETA %s", eta);
	}
	fflush(stderr);
}

void cli_progress_clear(const progress_line *p)
{
	if (p->on)
		fputs("\r\033[K", stderr);
}
