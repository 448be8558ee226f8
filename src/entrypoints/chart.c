/*
 * `count --format chart`: the count drawn for people in a terminal (not a
 * stable format; scripts read csv or json). Per series a header line, then a
 * line per shown bucket (its start as the table prints it, the count right
 * aligned, `partial` when the window is cut by the range, a bar of Unicode eighths) and a
 * total line. One scale for the whole chart: the largest bucket of all the
 * series fills the columns the text leaves (docs/DECISIONS.md).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

enum {
	CHART_DEFAULT_WIDTH = 80, /* not a terminal and no $COLUMNS */
	CHART_MAX_WIDTH = 10000,  /* a $COLUMNS above this is taken as this */
	CHART_MIN_BAR = 1,	  /* columns for the bars however narrow the terminal */
	CHART_INDENT = 2,	  /* before each bucket and total line */
};

/* A bar is whole blocks and one of these for the eighths left: [n] is n eighths. */
static const char *const eighths[8] = {
    "", "\u258F", "\u258E", "\u258D", "\u258C", "\u258B", "\u258A", "\u2589",
};
static const char full_block[] = "\u2588";

#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char partial_note[] = "partial: a window cut by --from/--to";

/* $COLUMNS when it is a whole positive number (at most CHART_MAX_WIDTH), else 0. */
static int columns_from_env(void)
{
	const char *v = cli_env("COLUMNS");
	char *end;
	long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n <= 0)
		return 0;
	return n > CHART_MAX_WIDTH ? CHART_MAX_WIDTH : (int)n;
}

cli_chart_style cli_chart_style_of(FILE *out)
{
	cli_chart_style style = {CHART_DEFAULT_WIDTH, false};
	int fd = fileno(out);
	bool tty = fd >= 0 && isatty(fd);
	struct winsize ws;
	int columns = columns_from_env();

	if (columns > 0)
		style.width = columns;
	else if (tty && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		style.width = ws.ws_col > CHART_MAX_WIDTH ? CHART_MAX_WIDTH : ws.ws_col;
	style.colour = tty && !cli_env("NO_COLOR");
	return style;
}

/* ---- the first walk: what the columns and the scale need ---------------------- */

typedef struct chart_measure {
	int64_t max;	    /* the largest count shown */
	size_t start_width; /* the widest bucket start shown, or "total" */
	size_t count_width; /* the widest count or total (every total >= its counts) */
	bool partial;	    /* some bucket shown is partial: the mark column is drawn */
} chart_measure;

static size_t digits(int64_t n)
{
	char buf[24];

	return (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)n);
}

static int measure_series(void *ctx, const scli_customer_series *s)
{
	chart_measure *m = ctx;
	size_t w = digits(s->total);

	if (w > m->count_width)
		m->count_width = w;
	return 0;
}

static int measure_bucket(void *ctx, const scli_customer_series *s, const cli_count_row *row)
{
	chart_measure *m = ctx;
	size_t w = cli_display_width(row->start);

	(void)s;
	if (w > m->start_width)
		m->start_width = w;
	if (row->count > m->max)
		m->max = row->count;
	m->partial |= row->partial;
	return 0;
}

/* ---- the second walk: the lines ---------------------------------------------- */

typedef struct chart_ctx {
	FILE *out;
	const scli_count_result *res;
	chart_measure m;
	cli_chart_style style;
	int bar_width;	   /* columns the largest bucket's bar fills */
	const char *types; /* "event types: a, b" when filtered and not grouped, else NULL */
	char windows[300]; /* "hour windows, America/New_York" (a zone name is at most 255 bytes) */
	size_t nseries;	   /* headers printed so far */
} chart_ctx;

/* A header's next part: after two spaces if it fits on the line, else on the next, indented. */
static void header_part(chart_ctx *c, size_t *width, const char *text)
{
	size_t w = cli_display_width(text);

	if (*width + 2 + w > (size_t)c->style.width) {
		fputs(c->style.colour ? RESET "\n" BOLD : "\n", c->out);
		*width = 0;
	}
	fprintf(c->out, "  %s", text);
	*width += 2 + w;
}

/*
 * The series' header: the customer, its event type when grouped (or the
 * types counted when filtered), the window size and zone, two spaces apart.
 * A part that would pass the width goes on the next line, indented; a part
 * is never cut. A blank line before every header but the first.
 */
static int chart_series(void *ctx, const scli_customer_series *s)
{
	chart_ctx *c = ctx;
	size_t width;

	if (c->nseries++)
		fputc('\n', c->out);
	fprintf(c->out, "%s%s", c->style.colour ? BOLD : "", s->customer_id);
	width = cli_display_width(s->customer_id);
	if (c->res->by_event_type)
		header_part(c, &width, s->has_event_type ? s->event_type : "(no event type)");
	else if (c->types)
		header_part(c, &width, c->types);
	header_part(c, &width, c->windows);
	fputs(c->style.colour ? RESET "\n" : "\n", c->out);
	return 0;
}

/* `count` eighths of a column when `max` fills `columns`: rounded, never 0 for a count above 0. */
static int64_t bar_eighths(int64_t count, int64_t max, int columns)
{
	double e;

	if (count <= 0 || max <= 0)
		return 0;
	e = (double)count * (columns * 8.0) / (double)max + 0.5;
	return e < 1 ? 1 : (int64_t)e;
}

static void draw_bar(FILE *out, int64_t e)
{
	for (; e >= 8; e -= 8)
		fputs(full_block, out);
	fputs(eighths[e], out);
}

/* The start and the count (the same columns for every line of the chart). */
static void row_text(const chart_ctx *c, const char *start, int64_t count)
{
	fprintf(c->out, "%*s%s%*s  %*lld", CHART_INDENT, "", start,
		cli_padding(start, c->m.start_width), "", (int)c->m.count_width, (long long)count);
}

/* Start, count, ` partial` when partial (blank column otherwise), the bar; dimmed when partial. */
static int chart_bucket(void *ctx, const scli_customer_series *s, const cli_count_row *row)
{
	chart_ctx *c = ctx;
	int64_t e = bar_eighths(row->count, c->m.max, c->bar_width);
	bool dim = c->style.colour && row->partial;

	(void)s;
	row_text(c, row->start, row->count);
	if (row->partial)
		fprintf(c->out, " %spartial", dim ? DIM : "");
	else if (c->m.partial && e)
		fputs("        ", c->out);
	if (e) {
		fputc(' ', c->out);
		draw_bar(c->out, e);
	}
	if (dim)
		fputs(RESET, c->out);
	fputc('\n', c->out);
	return 0;
}

static int chart_total(void *ctx, const scli_customer_series *s)
{
	chart_ctx *c = ctx;

	row_text(c, "total", s->total);
	fputc('\n', c->out);
	return 0;
}

/* "event types: a, b" for the headers of a filtered count (malloc'd; NULL when out of memory). */
static char *types_text(const scli_count_result *res)
{
	static const char head[] = "event types:";
	size_t len = sizeof(head), i;
	char *text, *p;

	for (i = 0; i < res->n_event_types; i++)
		len += 2 + strlen(res->event_types[i]);
	if (!(text = malloc(len)))
		return NULL;
	p = text + sizeof(head) - 1;
	memcpy(text, head, sizeof(head) - 1);
	for (i = 0; i < res->n_event_types; i++)
		p += sprintf(p, "%s %s", i ? "," : "", res->event_types[i]);
	*p = '\0';
	return text;
}

int cli_print_chart(FILE *out, const scli_count_result *res, bool skip_empty, cli_chart_style style)
{
	static const cli_count_visitor measure = {measure_series, measure_bucket, NULL};
	static const cli_count_visitor chart = {chart_series, chart_bucket, chart_total};
	chart_ctx c = {.out = out, .res = res, .m = {0, 5 /* "total" */, 1, false}, .style = style};
	char *types = NULL;
	size_t text;
	int error = 0;

	if (res->n_event_types && !res->by_event_type && !(types = types_text(res))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory drawing the chart");
		goto done;
	}
	c.types = types;
	snprintf(c.windows, sizeof(c.windows), "%s windows, %s", scli_window_size_name(res->window),
		 scli_zone_name(res->zone));
	if ((error = cli_count_walk(res, skip_empty, &measure, &c.m)) < 0)
		goto done;
	/* indent, start, two spaces, count, the mark column (" partial") when needed, a space, the bar */
	text = CHART_INDENT + c.m.start_width + 2 + c.m.count_width + (c.m.partial ? 8 : 0) + 1;
	c.bar_width =
	    (size_t)style.width >= text + CHART_MIN_BAR ? style.width - (int)text : CHART_MIN_BAR;
	if ((error = cli_count_walk(res, skip_empty, &chart, &c)) < 0)
		goto done;
	if (c.m.partial)
		fprintf(out, "\n%s%s%s\n", style.colour ? DIM : "", partial_note,
			style.colour ? RESET : "");
done:
	free(types);
	return error;
}
