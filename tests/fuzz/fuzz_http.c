/*
 * libFuzzer target: the HTTP request target as `scli serve` sees it, before any
 * decoding: routing, percent-decoding of the customer segment and the query,
 * timestamp parameters, and the reply built for it. It links the server's files
 * (src/entrypoints/http/, through their private header) and calls http_route()
 * and http_dispatch() as on_request() and a worker thread do; the requests run
 * against an in-memory SQLite repository holding a few events.
 *
 * Invariants: every request gets a tracked status other than 500 and 503 (the
 * database is always there) and a body of exactly `len`
 * bytes ending in a newline; a JSON reply is one line of valid UTF-8 without
 * control characters, parses, and as an error is {"error": "<string>"}.
 * http_percent_decode (path and form rules) never writes more than it read, and
 * decoding the %XX-encoding of its output gives the output back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "entrypoints/http/http_internal.h"
#include "scli/sys/adapters.h"

#include "fuzz.h"

static const char fuzz_events[] = "customer_id,event_type,transaction_id,timestamp\n"
				  "acme,INGEST,tx-1,2021-03-01T04:01:07.45Z\n"
				  "acme,INGEST,tx-2,2021-03-01T05:59:59.999999Z\n"
				  "b/c d,QUERY,tx-1,2021-03-01 06:00+01:00\n"
				  "caf\xc3\xa9,QUERY,tx-9,1999-12-31T23:00:00Z\n";

/* A reopen (after a failure that is not the request's fault) finds no such file: 503. */
static server *fuzz_server;
/* the worker's repository, as http_dispatch() takes it */
static worker_db fuzz_db;
static const scli_repo_options fuzz_create = {.create = true};

static void fuzz_setup(void)
{
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_load_report report = {0};

	if (!(fuzz_server = http_server_new("sqlite:/nonexistent/scli-fuzz.db", NULL, true)) ||
	    scli_repo_sqlite_open(&fuzz_db.repo, ":memory:", &fuzz_create) < 0 ||
	    scli_service_init_db(fuzz_db.repo) < 0 ||
	    scli_source_from_memory(&src, fuzz_events, sizeof(fuzz_events) - 1, "fuzz.csv") < 0 ||
	    scli_collector_csv_new(&col, src) < 0 ||
	    scli_service_load(&report, fuzz_db.repo, col, "fuzz.csv", NULL) < 0 ||
	    report.inserted != 4) {
		fprintf(stderr, "fuzz_http: setup failed: %s\n", scli_error_last());
		abort();
	}
	fuzz_server->repos_open = 1; /* fuzz_db.repo, opened here rather than by a worker */
	scli_collector_free(col);
	scli_source_free(src);
}

static bool is_tracked(int status)
{
	return http_status_index(status) < NSTATUS - 1;
}

static void check_decode(const char *s, size_t n, bool form, const uint8_t *data, size_t size)
{
	char *out = malloc(n + 1), *enc = malloc(3 * n + 1), *back = malloc(3 * n + 1);
	size_t len = 0, back_len = 0, i;

	FUZZ_CHECK(out && enc && back, data, size, "out of memory");
	if (http_percent_decode(out, &len, s, n, form) == 0) {
		FUZZ_CHECK(len <= n && out[len] == '\0', data, size, "decoded %zu bytes from %zu",
			   len, n);
		for (i = 0; i < len; i++)
			snprintf(enc + 3 * i, 4, "%%%02X", (unsigned char)out[i]);
		FUZZ_CHECK(http_percent_decode(back, &back_len, enc, 3 * len, form) == 0 &&
			       back_len == len && !memcmp(back, out, len),
			   data, size, "decode(encode(decode(x))) != decode(x)");
	}
	free(out);
	free(enc);
	free(back);
}

static void check_reply(const reply *r, const uint8_t *data, size_t size)
{
	cJSON *root, *err;

	FUZZ_CHECK(is_tracked(r->status), data, size, "status %d", r->status);
	/* the database is in memory and always there: no request may break it */
	FUZZ_CHECK(r->status != 500 && r->status != 503, data, size, "status %d: %s", r->status,
		   r->body ? r->body : "(no body)");
	FUZZ_CHECK(r->body && r->content_type, data, size, "status %d without body/type",
		   r->status);
	FUZZ_CHECK(r->len == strlen(r->body) && r->len > 0 && r->body[r->len - 1] == '\n', data,
		   size, "body length %zu, strlen %zu", r->len, strlen(r->body));
	if (strcmp(r->content_type, "application/json"))
		return;
	FUZZ_CHECK(scli_field_validate(r->body, r->len - 1, r->len, NULL) == 0, data, size,
		   "status %d: body not valid UTF-8 or holds a control character: %s", r->status,
		   r->body);
	root = cJSON_ParseWithLength(r->body, r->len);
	FUZZ_CHECK(root, data, size, "status %d: body is not JSON: %s", r->status, r->body);
	if (r->status != 200) {
		err = cJSON_GetObjectItemCaseSensitive(root, "error");
		FUZZ_CHECK(cJSON_IsString(err) && *err->valuestring, data, size,
			   "status %d: no error message: %s", r->status, r->body);
	}
	cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char letters[] = "GHPD";
	static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE"};
	const char *m;
	request req = {.route = ROUTE_OTHER};
	reply r = {0};
	const char *q;
	size_t n;

	if (!fuzz_server)
		fuzz_setup();
	/* The first byte picks the method (G, H, P, D; else GET); the rest, up to a NUL, is the
	 * target as MHD hands it over. */
	m = size && data[0] ? strchr(letters, data[0]) : NULL;
	snprintf(req.method, sizeof(req.method), "%s", methods[m ? m - letters : 0]);
	n = size ? strnlen((const char *)data + 1, size - 1) : 0;
	if (n > MAX_URI)
		return 0; /* answered 414 before routing */
	if (!(req.uri = malloc(n + 1)))
		return 0;
	memcpy(req.uri, data + 1, n);
	req.uri[n] = '\0';
	req.uri_len = n;

	check_decode(req.uri, n, false, data, size);
	if ((q = strchr(req.uri, '?')))
		check_decode(q + 1, strlen(q + 1), true, data, size);

	/* as on_request and a worker do: route, then the database part */
	if (http_route(&r, fuzz_server, &req, NULL))
		http_dispatch(&r, fuzz_server, &fuzz_db, &req);
	check_reply(&r, data, size);
	free(r.body);
	free(req.uri);
	return 0;
}
