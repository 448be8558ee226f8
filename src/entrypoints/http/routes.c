/*
 * `scli serve`: what each request gets. Replies (JSON bodies, `{"error":...}`
 * for every failure), the routing of the raw request target and the bearer
 * token, and the endpoints: the counts (/v1/usage and the older /v1/hourly,
 * the request checked by the service, its refusals worded as 400s; JSON or
 * CSV), /healthz, the page at / (page.html, built in) and, through
 * metrics.c, /metrics. A worker thread runs the endpoints that need the
 * database (http_dispatch); the rest are answered on MHD's thread (http_route).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "http_internal.h"

/* ---- replies ---------------------------------------------------------------- */

void http_reply_error(reply *r, int status, const char *fmt, ...)
{
	static const char fallback[] = "{\"error\":\"out of memory\"}\n";
	char msg[1024], *text = NULL;
	cJSON *root = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->content_type = "application/json";
	if (root && cJSON_AddStringToObject(root, "error", msg))
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text) {
		size_t len = strlen(text);
		char *line = realloc(text, len + 2);

		if (line) {
			memcpy(line + len, "\n", 2);
			r->body = line;
			r->len = len + 1;
			return;
		}
		free(text);
	}
	r->body = strdup(fallback);
	r->len = r->body ? strlen(fallback) : 0;
}

void http_reply_text(reply *r, int status, const char *content_type, char *body, size_t len)
{
	r->status = status;
	r->content_type = content_type;
	r->body = body;
	r->len = len;
}

/* An input value fit to quote in a message: valid UTF-8, no control characters, not too long. */
const char *http_quotable(const char *s)
{
	size_t len = strlen(s);

	return len <= 200 && scli_field_validate(s, len, 200, NULL) == 0 ? s : "(not shown)";
}

/* ---- the database calls and their failures as replies -------------------------- */

/* /healthz must reach the database every time (an adapter may remember that its
 * schema was fine): read the stored version, then judge it. */
static int check_schema(scli_repo *repo, void *ctx)
{
	int version = 0, error;

	(void)ctx;
	if ((error = scli_service_schema_version(&version, repo)) < 0)
		return error;
	if (version == 0)
		return scli_error_set(SCLI_ESCHEMA,
				      "database is not initialised; run `scli init-db` first");
	if (version != SCLI_SCHEMA_VERSION)
		return scli_error_set(SCLI_ESCHEMA,
				      "database schema version %d; this scli needs %d (run `scli "
				      "init-db`, or upgrade scli)",
				      version, SCLI_SCHEMA_VERSION);
	return 0;
}

typedef struct count_call {
	scli_count_result *res;
	scli_count_request req;
} count_call;

static int count(scli_repo *repo, void *ctx)
{
	count_call *c = ctx;

	scli_count_result_free(c->res);
	c->res = NULL;
	return scli_service_count_windows(&c->res, repo, &c->req);
}

/*
 * A failed database call as a reply: 400 for what the request asked, 503 when
 * the database is away or not ready (unreachable, missing, not initialised),
 * else 500.
 */
static void reply_db_error(reply *r, int error)
{
	int status = 500;

	if (error == SCLI_EINVALID || error == SCLI_ERANGE)
		status = 400;
	else if (error == SCLI_EIO || error == SCLI_ESCHEMA || error == SCLI_ENOTFOUND)
		status = 503;
	if (status != 400)
		fprintf(stderr, "scli: error: %s\n", scli_error_last());
	http_reply_error(r, status, "%s", scli_error_last());
}

/* A count request the service refused, as a 400 in the API's words (`from`, not `--from`). */
static void reply_count_refused(reply *r, const scli_count_problem *p, const query *q)
{
	switch (p->what) {
	case SCLI_COUNT_NO_RANGE:
		http_reply_error(r, 400, "from and to are required");
		break;
	case SCLI_COUNT_BAD_WINDOW:
		http_reply_error(r, 400, "window must be minute, hour, day or month, not '%s'",
				 http_quotable(q->window));
		break;
	case SCLI_COUNT_BAD_GROUP_BY:
		http_reply_error(r, 400, "group_by can only be event_type, not '%s'",
				 http_quotable(q->group_by));
		break;
	case SCLI_COUNT_UNKNOWN_ZONE:
		http_reply_error(r, 400,
				 "tz: unknown time zone \"%s\" (an IANA name such as "
				 "Europe/Berlin, or an offset such as +05:30)",
				 http_quotable(q->tz));
		break;
	case SCLI_COUNT_ZONE_FAILED:
		fprintf(stderr, "scli: error: %s\n", p->why);
		http_reply_error(r, 500, "%s", p->why);
		break;
	case SCLI_COUNT_BAD_FROM:
		http_reply_error(r, 400, "from: invalid timestamp \"%s\": %s",
				 http_quotable(q->from), p->why);
		break;
	case SCLI_COUNT_BAD_TO:
		http_reply_error(r, 400, "to: invalid timestamp \"%s\": %s", http_quotable(q->to),
				 p->why);
		break;
	case SCLI_COUNT_FROM_SKIPPED:
	case SCLI_COUNT_TO_SKIPPED:
		http_reply_error(r, 400, "%s: %s",
				 p->what == SCLI_COUNT_FROM_SKIPPED ? "from" : "to", p->why);
		break;
	case SCLI_COUNT_REVERSED:
		http_reply_error(r, 400, "from is after to");
		break;
	case SCLI_COUNT_BAD_CUSTOMER:
		http_reply_error(r, 400, "customer id %s", p->why);
		break;
	case SCLI_COUNT_BAD_EVENT_TYPE:
		http_reply_error(r, 400, "event_type %s", p->why);
		break;
	default: /* too wide: the service's message */
		http_reply_error(r, 400, "%s", scli_error_last());
		break;
	}
}

/* ---- the endpoints ---------------------------------------------------------- */

/* `skip_empty` as given: true, false, 1, 0, or no value (true). False and a 400 otherwise. */
static bool read_skip_empty(bool *out, reply *r, const char *text)
{
	*out = false;
	if (!text)
		return true;
	if (!strcmp(text, "true") || !strcmp(text, "1") || !*text)
		*out = true;
	else if (strcmp(text, "false") && strcmp(text, "0")) {
		http_reply_error(r, 400, "skip_empty must be true, false, 1 or 0, not '%s'",
				 http_quotable(text));
		return false;
	}
	return true;
}

/* CSV when `format=csv`, or without `format` when the Accept header asks for it. */
static bool read_format(bool *csv_out, reply *r, const char *format, bool accept_csv)
{
	*csv_out = accept_csv;
	if (!format)
		return true;
	if (strcmp(format, "csv") && strcmp(format, "json")) {
		http_reply_error(r, 400, "format must be json or csv, not '%s'",
				 http_quotable(format));
		return false;
	}
	*csv_out = !strcmp(format, "csv");
	return true;
}

/* The request's parameters as the service's input; `customer` is the path's, or NULL. */
static void count_input(scli_count_input *in, const query *q, const char *const *customer,
			const size_t *customer_len, zone_lookup *zl)
{
	in->customers = customer ? customer : (const char *const *)q->customers;
	in->customer_lens = customer ? customer_len : NULL;
	in->n_customers = customer ? 1 : q->n_customers;
	in->event_types = (const char *const *)q->event_types;
	in->n_event_types = q->n_event_types;
	in->from = q->from;
	in->to = q->to;
	in->window = q->window;
	in->tz = q->tz;
	in->group_by = q->group_by;
	in->zone_lookup = http_zone_lookup;
	in->zone_ctx = zl;
}

/* The result as JSON or CSV, as `scli count --format json|csv` prints it. */
static void reply_count(reply *r, const scli_count_result *res, bool csv, bool skip_empty)
{
	char *body = NULL;
	size_t len = 0;

	if (csv ? cli_count_csv(&body, &len, res, skip_empty) < 0
		: cli_count_json(&body, res, skip_empty) < 0) {
		http_reply_error(r, 500, "%s", scli_error_last());
		return;
	}
	http_reply_text(r, 200, csv ? "text/csv; charset=utf-8" : "application/json", body,
			csv ? len : strlen(body));
}

/* Any count endpoint: `customer` (`customer_len` bytes, decoded) is the path's, or NULL. */
static void serve_count(reply *r, server *s, worker_db *w, const request *req, query_kind kind,
			const char *customer, size_t customer_len)
{
	query q = {0};
	count_call c = {0};
	zone_lookup zl = {s, NULL};
	scli_count_input in = {0};
	scli_count_problem problem;
	bool skip_empty, csv;
	int error;

	if (!http_parse_query(&q, r, req->query, kind))
		goto done;
	if (q.from)
		http_restore_offset_sign(q.from);
	if (q.to)
		http_restore_offset_sign(q.to);
	if (q.tz)
		http_restore_zone_sign(q.tz);
	count_input(&in, &q, customer ? &customer : NULL, &customer_len, &zl);
	if (scli_service_count_request(&c.req, &problem, &in) < 0) {
		reply_count_refused(r, &problem, &q);
		goto done;
	}
	if (!read_skip_empty(&skip_empty, r, q.skip_empty) ||
	    !read_format(&csv, r, q.format, req->accept_csv))
		goto done;
	if ((error = http_with_repo(s, w, count, &c)) < 0) {
		reply_db_error(r, error);
		goto done;
	}
	reply_count(r, c.res, csv, skip_empty);
done:
	scli_count_result_free(c.res);
	scli_zone_free(zl.owned);
	http_query_free(&q);
}

static void serve_customer(reply *r, server *s, worker_db *w, const request *req, query_kind kind)
{
	char *customer = malloc(req->seglen + 1);
	size_t len;

	if (!customer) {
		http_reply_error(r, 500, "out of memory");
		return;
	}
	if (http_percent_decode(customer, &len, req->segment, req->seglen, false) < 0)
		http_reply_error(r, 400, "invalid percent-encoding in the customer id");
	else
		serve_count(r, s, w, req, kind, customer, len);
	free(customer);
}

static void serve_healthz(reply *r, server *s, worker_db *w)
{
	static const char ok[] = "{\"status\":\"ok\"}\n";
	int error;
	char *body;

	if ((error = http_with_repo(s, w, check_schema, NULL)) < 0) {
		fprintf(stderr, "scli: error: healthz: %s\n", scli_error_last());
		http_reply_error(r, 503, "%s", scli_error_last());
		return;
	}
	if (!(body = strdup(ok))) {
		http_reply_error(r, 500, "out of memory");
		return;
	}
	http_reply_text(r, 200, "application/json", body, strlen(body));
}

/*
 * GET /: the page (src/entrypoints/http/page.html), which asks /v1/usage from the
 * browser. It holds no data, so it needs no token; its policy lets it run only
 * its own inline script and style and talk only to this server.
 */
static void serve_page(reply *r)
{
	char *body = malloc(http_page_len + 1);

	if (!body) {
		http_reply_error(r, 500, "out of memory");
		return;
	}
	memcpy(body, http_page_html, http_page_len + 1);
	http_reply_text(r, 200, "text/html; charset=utf-8", body, http_page_len);
	r->csp = http_page_csp;
}

/* ---- routing ---------------------------------------------------------------- */

/* `Authorization: Bearer <token>` against SCLI_API_TOKEN, in time independent of the token given.
 */
static bool authorized(const server *s, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	volatile unsigned char diff;
	size_t i, len;

	if (!s->token)
		return true;
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	for (h += 7; *h == ' '; h++)
		;
	len = strlen(h);
	while (len && h[len - 1] == ' ')
		len--;
	diff = len != s->token_len;
	for (i = 0; i < s->token_len; i++)
		diff |= (unsigned char)s->token[i] ^ (unsigned char)(i < len ? h[i] : 0);
	return diff == 0;
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);

	return n >= m && !memcmp(s, prefix, m);
}

/* A customer's route, when the raw segment between /v1/customers/ and the last part is one. */
static void route_customer(request *req, const char *segment, size_t seglen, route_id route)
{
	req->segment = segment;
	req->seglen = seglen;
	if (!memchr(segment, '/', seglen))
		req->route = route;
}

/*
 * Route the raw request target; true when the request needs the database (a
 * worker answers it), else `r` holds the answer. The path is matched before any
 * decoding, so a customer id holding `/` (sent as %2F) stays one segment and is
 * never mis-routed; the segment is decoded afterwards.
 */
bool http_route(reply *r, server *s, request *req, struct MHD_Connection *conn)
{
	const char *path = req->uri, *q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	bool is_v1 = (n == 3 && starts_with(path, n, "/v1")) || starts_with(path, n, "/v1/");
	bool head_or_get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	req->route = ROUTE_OTHER;
	if (n == 1 && path[0] == '/')
		req->route = ROUTE_PAGE;
	else if (n == 8 && starts_with(path, n, "/healthz"))
		req->route = ROUTE_HEALTHZ;
	else if (n == 8 && starts_with(path, n, "/metrics"))
		req->route = ROUTE_METRICS;
	else if (n == 10 && starts_with(path, n, "/v1/hourly"))
		req->route = ROUTE_ALL_HOURLY;
	else if (n == 9 && starts_with(path, n, "/v1/usage"))
		req->route = ROUTE_ALL_USAGE;
	else if (starts_with(path, n, "/v1/customers/") && n > 14 + 7 &&
		 !memcmp(path + n - 7, "/hourly", 7))
		route_customer(req, path + 14, n - 14 - 7, ROUTE_CUSTOMER_HOURLY);
	else if (starts_with(path, n, "/v1/customers/") && n > 14 + 6 &&
		 !memcmp(path + n - 6, "/usage", 6))
		route_customer(req, path + 14, n - 14 - 6, ROUTE_CUSTOMER_USAGE);
	req->query = q ? q + 1 : "";
	if (conn && req->route != ROUTE_OTHER)
		req->accept_csv = http_accepts_csv(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	if (is_v1 && !authorized(s, conn)) {
		http_reply_error(r, 401,
				 "missing or wrong bearer token (Authorization: Bearer TOKEN)");
		r->www_authenticate = "Bearer realm=\"scli\"";
		return false;
	}
	if (req->route == ROUTE_OTHER) {
		http_reply_error(r, 404,
				 "no such endpoint (see GET /, /v1/usage, "
				 "/v1/customers/{customer_id}/usage, /v1/hourly, "
				 "/v1/customers/{customer_id}/hourly, /healthz, /metrics)");
		return false;
	}
	if (!head_or_get) {
		http_reply_error(r, 405, "method %s not allowed: use GET",
				 http_quotable(req->method));
		r->allow = "GET, HEAD";
		return false;
	}
	if (req->route == ROUTE_METRICS) {
		http_serve_metrics(r, s);
		return false;
	}
	if (req->route == ROUTE_PAGE) {
		serve_page(r);
		return false;
	}
	return true;
}

/* A worker's part: the routes that need the database. */
void http_dispatch(reply *r, server *s, worker_db *w, const request *req)
{
	switch (req->route) {
	case ROUTE_HEALTHZ:
		serve_healthz(r, s, w);
		break;
	case ROUTE_ALL_HOURLY:
		serve_count(r, s, w, req, QUERY_HOURLY, NULL, 0);
		break;
	case ROUTE_CUSTOMER_HOURLY:
		serve_customer(r, s, w, req, QUERY_HOURLY);
		break;
	case ROUTE_ALL_USAGE:
		serve_count(r, s, w, req, QUERY_USAGE, NULL, 0);
		break;
	case ROUTE_CUSTOMER_USAGE:
		serve_customer(r, s, w, req, QUERY_CUSTOMER_USAGE);
		break;
	default:
		http_reply_error(r, 500, "internal error: no worker route");
		break;
	}
}
