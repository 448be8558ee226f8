/*
 * `scli serve`: the metrics. Counters per route template (never the customer
 * id, so the series stay few) and status, a latency histogram per route, and
 * the Prometheus text of GET /metrics (docs/DECISIONS.md, "Metrics").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static const char *const route_names[ROUTE_COUNT] = {"/v1/customers/{customer_id}/hourly",
						     "/v1/hourly",
						     "/v1/customers/{customer_id}/usage",
						     "/v1/usage",
						     "/healthz",
						     "/metrics",
						     "/",
						     "other"};

/* The statuses this server sends; anything else is counted as "other". */
static const int tracked_statuses[] = {200, 400, 401, 404, 405, 414, 500, 503};

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25,  0.5,    1,     2.5,  5,	   10};

_Static_assert(sizeof(tracked_statuses) / sizeof(tracked_statuses[0]) + 1 == NSTATUS,
	       "NSTATUS is the tracked statuses and one for the others");
_Static_assert(sizeof(latency_bounds) / sizeof(latency_bounds[0]) == NBOUNDS,
	       "NBOUNDS is the number of latency bounds");

size_t http_status_index(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (tracked_statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void http_metrics_record(metrics *m, route_id route, int status, double seconds)
{
	size_t b;

	atomic_fetch_add(&m->requests[route][http_status_index(status)], 1);
	for (b = 0; b < NBOUNDS && seconds > latency_bounds[b]; b++)
		;
	atomic_fetch_add(&m->latency[route][b], 1);
	atomic_fetch_add(&m->latency_sum_us[route], (unsigned long long)(seconds * 1e6));
	atomic_fetch_add(&m->latency_count[route], 1);
}

/* A growable text buffer for /metrics. */
typedef struct textbuf {
	char *p;
	size_t len, cap;
	bool failed;
} textbuf;

static void tb_printf(textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void http_serve_metrics(reply *r, server *s)
{
	textbuf b = {0};
	size_t i, j;

	tb_printf(&b, "# HELP scli_http_requests_total HTTP requests answered, by route and "
		      "status.\n# TYPE scli_http_requests_total counter\n");
	for (i = 0; i < ROUTE_COUNT; i++)
		for (j = 0; j < NSTATUS; j++) {
			unsigned long long n = atomic_load(&s->m.requests[i][j]);
			char status[16];

			if (!n)
				continue;
			if (j < NSTATUS - 1)
				snprintf(status, sizeof(status), "%d", tracked_statuses[j]);
			else
				strcpy(status, "other");
			tb_printf(&b, "scli_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
				  route_names[i], status, n);
		}
	tb_printf(&b, "# HELP scli_http_request_duration_seconds Time from the request line to "
		      "the last byte of the response, by route.\n"
		      "# TYPE scli_http_request_duration_seconds histogram\n");
	for (i = 0; i < ROUTE_COUNT; i++) {
		unsigned long long cumulative = 0;

		for (j = 0; j <= NBOUNDS; j++) {
			cumulative += atomic_load(&s->m.latency[i][j]);
			if (j < NBOUNDS)
				tb_printf(&b,
					  "scli_http_request_duration_seconds_bucket{route=\"%s\","
					  "le=\"%g\"} %llu\n",
					  route_names[i], latency_bounds[j], cumulative);
			else
				tb_printf(&b,
					  "scli_http_request_duration_seconds_bucket{route=\"%s\","
					  "le=\"+Inf\"} %llu\n",
					  route_names[i], cumulative);
		}
		tb_printf(&b, "scli_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			  route_names[i], (double)atomic_load(&s->m.latency_sum_us[i]) / 1e6);
		tb_printf(&b, "scli_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			  route_names[i], atomic_load(&s->m.latency_count[i]));
	}
	tb_printf(&b,
		  "# HELP scli_db_errors_total Failed database calls (connection lost, "
		  "unreachable, query failed).\n# TYPE scli_db_errors_total counter\n"
		  "scli_db_errors_total %llu\n",
		  atomic_load(&s->m.db_errors));
	tb_printf(&b,
		  "# HELP scli_http_header_timeouts_total Connections closed for not sending "
		  "their request line and headers within %d s.\n"
		  "# TYPE scli_http_header_timeouts_total counter\n"
		  "scli_http_header_timeouts_total %llu\n",
		  HEADER_TIMEOUT_S, atomic_load(&s->m.header_timeouts));
	tb_printf(&b,
		  "# HELP scli_db_reopens_total Times the SQLite file was found replaced "
		  "(restored) and reopened.\n# TYPE scli_db_reopens_total counter\n"
		  "scli_db_reopens_total %llu\n",
		  atomic_load(&s->m.db_reopens));
	tb_printf(&b,
		  "# HELP scli_http_requests_in_flight Requests being answered.\n"
		  "# TYPE scli_http_requests_in_flight gauge\nscli_http_requests_in_flight "
		  "%lld\n",
		  atomic_load(&s->m.in_flight));
	if (b.failed) {
		free(b.p);
		http_reply_error(r, 500, "out of memory");
		return;
	}
	http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}
