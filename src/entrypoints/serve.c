/*
 * `scli serve`: the HTTP read API of SPEC.md on libmicrohttpd.
 *
 * MHD's internal thread does the HTTP; a request that needs the database is
 * suspended and put on a queue that a pool of worker threads serves. Every
 * worker owns one repository (repositories are not thread-safe), opened on
 * first use and reopened after the database went away. A shared queue keeps
 * every worker busy whatever connection a request came on, and a slow query
 * holds up no other connection.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "cli.h"
#include "scli/timestamp.h"

const char cli_serve_usage[] =
    "usage: scli [--database URL] serve [--listen HOST:PORT] [--threads N] [--quiet]\n"
    "\n"
    "Serve the counts over HTTP (JSON exactly as `count --format json`):\n"
    "  GET /v1/customers/{customer_id}/hourly?from=A&to=B[&skip_empty=true]\n"
    "  GET /v1/hourly?from=A&to=B[&skip_empty=true]     every customer\n"
    "  GET /healthz                                     200 when the database answers, else 503\n"
    "  GET /metrics                                     Prometheus text\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; a bare PORT\n"
    "                      is 127.0.0.1:PORT; `:8080` or 0.0.0.0:8080 for every\n"
    "                      interface, [::1]:8080 for IPv6, port 0 for any free port)\n"
    "  --threads N         database worker threads, each with its own connection\n"
    "                      (default: the number of CPUs, at most 16)\n"
    "  --quiet             no access log on stderr\n"
    "\n"
    "With SCLI_API_TOKEN set, every /v1 request needs `Authorization: Bearer TOKEN`.\n"
    "Environment (flags win): SCLI_LISTEN, SCLI_THREADS, SCLI_QUIET=1.\n"
    "SIGTERM or SIGINT stops accepting connections, lets requests in flight finish\n"
    "(up to 25 s) and exits 0.\n";

#define MAX_URI 8192 /* longer request targets get 414 */
#define MAX_THREADS 256
/* Connection limits (docs/OPERATIONS.md): beyond MAX_CONNECTIONS, or beyond
 * MAX_CONNECTIONS_PER_IP from one address, MHD closes new connections at once,
 * so one client cannot take every slot. A client has HEADER_TIMEOUT_S from
 * connecting (or from its previous response) to send a whole request line and
 * headers; IDLE_TIMEOUT_S bounds any silence (a slow reader of a response). */
#define MAX_CONNECTIONS 2048
#define MAX_CONNECTIONS_PER_IP 512
#define HEADER_TIMEOUT_S 10
#define IDLE_TIMEOUT_S 30
#define SPARE_FDS 64 /* besides the connections: listener, log, database files */
#define MEMORY_PER_CONNECTION (64 * 1024)
#define SHUTDOWN_GRACE_MS 25000 /* below Kubernetes' default 30 s grace period */
#define LOGGED_URI_MAX 1024
#define LISTEN_BACKLOG 511 /* Linux caps it at net.core.somaxconn */

/* ---- metrics ---------------------------------------------------------------- */

typedef enum {
	ROUTE_CUSTOMER_HOURLY,
	ROUTE_ALL_HOURLY,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_OTHER,
	ROUTE_COUNT
} route_id;

static const char *const route_names[ROUTE_COUNT] = {"/v1/customers/{customer_id}/hourly",
						     "/v1/hourly", "/healthz", "/metrics", "other"};

/* The statuses this server sends; anything else is counted as "other". */
static const int tracked_statuses[] = {200, 400, 401, 404, 405, 414, 500, 503};
#define NSTATUS (sizeof(tracked_statuses) / sizeof(tracked_statuses[0]) + 1)

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25,  0.5,    1,     2.5,  5,	   10};
#define NBOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

typedef struct metrics {
	atomic_ullong requests[ROUTE_COUNT][NSTATUS];
	atomic_ullong latency[ROUTE_COUNT][NBOUNDS + 1]; /* per bucket, not cumulative */
	atomic_ullong latency_sum_us[ROUTE_COUNT];
	atomic_ullong latency_count[ROUTE_COUNT];
	atomic_ullong db_errors;
	atomic_ullong header_timeouts; /* connections cut by HEADER_TIMEOUT_S */
	atomic_ullong db_reopens;      /* the SQLite file was replaced under the server */
	atomic_llong in_flight;
} metrics;

/* ---- the server ------------------------------------------------------------- */

/* A response before it goes to MHD: status, malloc'd body and the headers that vary. */
typedef struct reply {
	int status;
	char *body;
	size_t len;
	const char *content_type;
	const char *allow;
	const char *www_authenticate;
} reply;

/* What one request has come to; allocated before MHD parses the URI. */
typedef struct request {
	struct timespec started;
	char *uri;	/* raw request target, NULL when longer than MAX_URI */
	size_t uri_len; /* its length as received */
	char logged_uri[LOGGED_URI_MAX + 1];
	char method[16];
	char client[INET6_ADDRSTRLEN];
	route_id route;
	const char *segment; /* the raw customer id segment, inside `uri` */
	size_t seglen;
	const char *query; /* the raw query string, inside `uri` */
	bool called;	   /* the access handler has seen the headers */
	bool queued;	   /* handed to the workers, connection suspended */
	reply answer;	   /* filled by a worker */
	int status;	   /* 0 until a response is queued */
	struct MHD_Connection *conn;
	struct request *next; /* in the job queue */
} request;

/* A connection that has not yet sent its request line and headers; see the watchdog. */
typedef struct conn_watch {
	int fd;
	struct timespec since; /* connected, or its previous response finished */
	bool answering;	       /* the headers are in: no deadline until the response is sent */
	bool cut;	       /* shut down by the watchdog */
	struct conn_watch *prev, *next;
} conn_watch;

/* A worker's repository and the database generation it was opened in. */
typedef struct worker_db {
	scli_repo *repo;
	unsigned gen;
} worker_db;

typedef struct server {
	const char *url; /* database URL (borrowed) */
	const char *token;
	size_t token_len;
	bool quiet;
	atomic_bool stopping;
	pthread_mutex_t lock; /* guards the job queue, `quit` and the database generation */
	pthread_cond_t wake;
	request *head, *tail;
	bool quit;
	/*
	 * SQLite only: the file (device, inode) the workers' repositories were
	 * opened on. A restore that moves another file over the path bumps
	 * `db_gen`; every repository of an older generation is closed before a new
	 * one opens, since SQLite must never have the old and the new file open
	 * at once in one process (they would share the path's -wal and -shm).
	 */
	const char *sqlite_path;
	unsigned db_gen;
	int repos_open;		     /* of generation db_gen */
	int repos_stale;	     /* of older generations, still open */
	pthread_cond_t repos_closed; /* repos_stale went down */
	bool file_known;
	dev_t file_dev;
	ino_t file_ino;
	/* the header deadline: connections still sending their request */
	pthread_mutex_t watch_lock;
	pthread_cond_t watch_wake;
	conn_watch *watched;
	bool watch_quit;
	metrics m;
} server;

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- replies ---------------------------------------------------------------- */

/* `{"error":"..."}`; the message must be valid UTF-8 (callers never echo unchecked input). */
static void reply_error(reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_error(reply *r, int status, const char *fmt, ...)
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

static void reply_text(reply *r, int status, const char *content_type, char *body, size_t len)
{
	r->status = status;
	r->content_type = content_type;
	r->body = body;
	r->len = len;
}

/* An input value fit to quote in a message: valid UTF-8, no control characters, not too long. */
static const char *quotable(const char *s)
{
	size_t len = strlen(s);

	return len <= 200 && scli_field_validate(s, len, 200, NULL) == 0 ? s : "(not shown)";
}

/* ---- the database, one repository per worker thread --------------------------- */

typedef int (*db_fn)(scli_repo *repo, void *ctx);

/* Errors that say nothing about the connection: the request or the schema. */
static bool connection_fine(int error)
{
	return error >= 0 || error == SCLI_EINVALID || error == SCLI_ERANGE ||
	       error == SCLI_ESCHEMA;
}

/* Close this worker's repository, whatever generation it belongs to. */
static void repo_drop(server *s, worker_db *w)
{
	if (!w->repo)
		return;
	scli_repo_free(w->repo);
	w->repo = NULL;
	pthread_mutex_lock(&s->lock);
	if (w->gen == s->db_gen) {
		s->repos_open--;
	} else {
		s->repos_stale--;
		pthread_cond_broadcast(&s->repos_closed);
	}
	pthread_mutex_unlock(&s->lock);
}

/* The SQLite file's identity now; 0/0 when it cannot be read (gone, say). */
static void file_identity(const server *s, dev_t *dev, ino_t *ino)
{
	struct stat st;

	*dev = 0;
	*ino = 0;
	if (stat(s->sqlite_path, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
}

/*
 * SQLite: has another file been moved over the path (a restore)? Then a new
 * generation starts: idle workers are woken to close theirs, and so does this
 * one. One stat(2) per database call: about a microsecond (docs/OPERATIONS.md),
 * next to tens of microseconds for the query itself.
 */
static void notice_replaced_file(server *s, worker_db *w)
{
	dev_t dev;
	ino_t ino;
	bool stale;

	if (!s->sqlite_path)
		return;
	file_identity(s, &dev, &ino);
	pthread_mutex_lock(&s->lock);
	if (s->file_known && (dev != s->file_dev || ino != s->file_ino)) {
		s->db_gen++;
		s->repos_stale += s->repos_open;
		s->repos_open = 0;
		s->file_known = false;
		atomic_fetch_add(&s->m.db_reopens, 1);
		fprintf(stderr, "scli: serve: %s was replaced; reopening it\n", s->sqlite_path);
		pthread_cond_broadcast(&s->wake);
	}
	stale = w->repo && w->gen != s->db_gen;
	pthread_mutex_unlock(&s->lock);
	if (stale)
		repo_drop(s, w);
}

/* Open this worker's repository, once no repository of an older generation is open. */
static int repo_open(server *s, worker_db *w)
{
	int error;

	pthread_mutex_lock(&s->lock);
	while (s->repos_stale > 0)
		pthread_cond_wait(&s->repos_closed, &s->lock);
	if (s->sqlite_path && !s->file_known) {
		/* before the open: a file moved in between is noticed on the next call */
		file_identity(s, &s->file_dev, &s->file_ino);
		s->file_known = true;
	}
	w->gen = s->db_gen;
	s->repos_open++;
	pthread_mutex_unlock(&s->lock);
	if ((error = cli_open_repo(&w->repo, s->url, false)) < 0) {
		pthread_mutex_lock(&s->lock);
		if (w->gen == s->db_gen) {
			s->repos_open--;
		} else {
			s->repos_stale--;
			pthread_cond_broadcast(&s->repos_closed);
		}
		pthread_mutex_unlock(&s->lock);
	}
	return error;
}

/*
 * Run `fn` on this worker's repository, opening it when needed. After any
 * other failure the repository is dropped: a connection the database server
 * closed (restart, failover) does not always say SCLI_EIO, and a reconnect is
 * cheap next to a wrong answer. When the failed connection was an old one the
 * call is retried once on a fresh one, so the first request after a database
 * restart already succeeds. Reads only, so a retry is safe.
 */
static int with_repo(server *s, worker_db *w, db_fn fn, void *ctx)
{
	int attempt, error = 0;

	notice_replaced_file(s, w);
	for (attempt = 0; attempt < 2; attempt++) {
		bool reused = w->repo != NULL;

		if (!w->repo && (error = repo_open(s, w)) < 0)
			break;
		if (connection_fine(error = fn(w->repo, ctx)))
			break;
		repo_drop(s, w);
		if (!reused)
			break;
	}
	if (error < 0 && error != SCLI_EINVALID && error != SCLI_ERANGE)
		atomic_fetch_add(&s->m.db_errors, 1);
	return error;
}

/* /healthz must reach the database every time (an adapter may remember that its
 * schema was fine): read the stored version, then judge it. */
static int check_schema(scli_repo *repo, void *ctx)
{
	int version = 0, error;

	(void)ctx;
	if ((error = scli_repo_schema_version(&version, repo)) < 0)
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
	return scli_service_count(&c->res, repo, c->req.customer_id, c->req.from_us, c->req.to_us);
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
	reply_error(r, status, "%s", scli_error_last());
}

/* ---- percent-decoding and the query ------------------------------------------ */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode %XX escapes of s[0..n) into `out` (room for n + 1 bytes), NUL-terminated;
 * `*len_out` counts a decoded %00 too, so the validation that follows sees it.
 * With `form` (the query string, as browsers, HTML forms, Python's urlencode and
 * JS URLSearchParams write it) `+` is a space and only %2B a plus; in the path
 * `+` stays `+` (RFC 3986 gives it no other meaning). -1 on a malformed escape.
 */
static int percent_decode(char *out, size_t *len_out, const char *s, size_t n, bool form)
{
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				return -1;
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[j++] = form && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[j] = '\0';
	*len_out = j;
	return 0;
}

typedef struct query {
	char *from, *to, *skip_empty; /* decoded, pointing into `buf`; NULL when absent */
	char *buf;
} query;

/* Parse `from`, `to` and `skip_empty`; any other, repeated or malformed parameter is a 400. */
static bool parse_query(query *q, reply *r, const char *text)
{
	size_t n = strlen(text), used = 0;
	const char *p = text, *end = text + n;

	/* decoded text is never longer than its source, and each parameter adds two
	 * NULs (key and value) even without an `=` (`?from&to`): 3n + 2 always fits */
	if (!(q->buf = malloc(3 * n + 2))) {
		reply_error(r, 500, "out of memory");
		return false;
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		const char *stop = amp ? amp : end;
		char *key = q->buf + used, *value, **slot;
		size_t klen, vlen;

		if (stop == p) { /* `a&&b`, a trailing `&` */
			p = stop + 1;
			continue;
		}
		eq = memchr(p, '=', (size_t)(stop - p));
		if (percent_decode(key, &klen, p, (size_t)((eq ? eq : stop) - p), true) < 0 ||
		    (value = key + klen + 1,
		     percent_decode(value, &vlen, eq ? eq + 1 : stop,
				    eq ? (size_t)(stop - eq - 1) : 0, true) < 0)) {
			reply_error(r, 400, "invalid percent-encoding in the query string");
			return false;
		}
		used += klen + 1 + vlen + 1;
		if (!strcmp(key, "from") && klen == 4)
			slot = &q->from;
		else if (!strcmp(key, "to") && klen == 2)
			slot = &q->to;
		else if (!strcmp(key, "skip_empty") && klen == 10)
			slot = &q->skip_empty;
		else {
			reply_error(r, 400, "unknown parameter '%s' (from, to, skip_empty)",
				    quotable(key));
			return false;
		}
		if (*slot) {
			reply_error(r, 400, "parameter '%s' given more than once", key);
			return false;
		}
		if (strlen(value) != vlen) {
			reply_error(r, 400, "%s: contains a NUL byte", key);
			return false;
		}
		*slot = value;
		p = stop + (amp ? 1 : 0);
	}
	return true;
}

static bool is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * A `+` offset sign that form decoding turned into a space (a hand-typed
 * `...T04:00:00+05:30`) back into `+`: the last space, when a time of day
 * (`YYYY-MM-DD?HH:MM...`, ending in a digit) comes before it and an offset
 * shape (`HH`, `HHMM`, `HH:MM`) after it, up to the end.
 */
static void restore_offset_sign(char *text)
{
	char *sp = strrchr(text, ' ');
	size_t before, after;

	if (!sp)
		return;
	before = (size_t)(sp - text);
	after = strlen(sp + 1);
	if (before < 16 || text[13] != ':' || !is_digits(text + before - 1, 1))
		return;
	if ((after == 2 || after == 4) ? is_digits(sp + 1, after)
	    : after == 5 ? is_digits(sp + 1, 2) && sp[3] == ':' && is_digits(sp + 4, 2)
			 : false)
		*sp = '+';
}

/* A count request the service refused, as a 400 in the API's words (`from`, not `--from`). */
static void reply_count_refused(reply *r, const scli_count_problem *p, const query *q)
{
	switch (p->what) {
	case SCLI_COUNT_NO_RANGE:
		reply_error(r, 400, "from and to are required");
		break;
	case SCLI_COUNT_BAD_FROM:
		reply_error(r, 400, "from: invalid timestamp \"%s\": %s", quotable(q->from),
			    p->why);
		break;
	case SCLI_COUNT_BAD_TO:
		reply_error(r, 400, "to: invalid timestamp \"%s\": %s", quotable(q->to), p->why);
		break;
	case SCLI_COUNT_REVERSED:
		reply_error(r, 400, "from is after to");
		break;
	case SCLI_COUNT_BAD_CUSTOMER:
		reply_error(r, 400, "customer id %s", p->why);
		break;
	default: /* too wide: the service's message */
		reply_error(r, 400, "%s", scli_error_last());
		break;
	}
}

/* ---- the endpoints ---------------------------------------------------------- */

/* `customer` (`customer_len` bytes, decoded) is NULL for every customer. */
static void serve_hourly(reply *r, server *s, worker_db *w, const char *customer,
			 size_t customer_len, const char *query_text)
{
	query q = {0};
	count_call c = {0};
	scli_count_problem problem;
	bool skip_empty = false;
	char *json = NULL;
	int error;

	if (!parse_query(&q, r, query_text))
		goto done;
	if (q.from)
		restore_offset_sign(q.from);
	if (q.to)
		restore_offset_sign(q.to);
	if (scli_service_count_request(&c.req, &problem, customer, customer_len, q.from, q.to) <
	    0) {
		reply_count_refused(r, &problem, &q);
		goto done;
	}
	if (q.skip_empty) { /* `skip_empty` or `skip_empty=` alone means true */
		if (!strcmp(q.skip_empty, "true") || !strcmp(q.skip_empty, "1") || !*q.skip_empty)
			skip_empty = true;
		else if (strcmp(q.skip_empty, "false") && strcmp(q.skip_empty, "0")) {
			reply_error(r, 400, "skip_empty must be true, false, 1 or 0, not '%s'",
				    quotable(q.skip_empty));
			goto done;
		}
	}
	if ((error = with_repo(s, w, count, &c)) < 0) {
		reply_db_error(r, error);
		goto done;
	}
	if (cli_count_json(&json, c.res, skip_empty) < 0) {
		reply_error(r, 500, "%s", scli_error_last());
		goto done;
	}
	reply_text(r, 200, "application/json", json, strlen(json));
done:
	scli_count_result_free(c.res);
	free(q.buf);
}

static void serve_customer(reply *r, server *s, worker_db *w, const char *segment, size_t seglen,
			   const char *query_text)
{
	char *customer = malloc(seglen + 1);
	size_t len;

	if (!customer) {
		reply_error(r, 500, "out of memory");
		return;
	}
	if (percent_decode(customer, &len, segment, seglen, false) < 0)
		reply_error(r, 400, "invalid percent-encoding in the customer id");
	else
		serve_hourly(r, s, w, customer, len, query_text);
	free(customer);
}

static void serve_healthz(reply *r, server *s, worker_db *w)
{
	static const char ok[] = "{\"status\":\"ok\"}\n";
	int error;
	char *body;

	if ((error = with_repo(s, w, check_schema, NULL)) < 0) {
		fprintf(stderr, "scli: error: healthz: %s\n", scli_error_last());
		reply_error(r, 503, "%s", scli_error_last());
		return;
	}
	if (!(body = strdup(ok))) {
		reply_error(r, 500, "out of memory");
		return;
	}
	reply_text(r, 200, "application/json", body, strlen(body));
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

static void serve_metrics(reply *r, server *s)
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
		reply_error(r, 500, "out of memory");
		return;
	}
	reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
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

/*
 * Route the raw request target; true when the request needs the database (a
 * worker answers it), else `r` holds the answer. The path is matched before any
 * decoding, so a customer id holding `/` (sent as %2F) stays one segment and is
 * never mis-routed; the segment is decoded afterwards.
 */
static bool route(reply *r, server *s, request *req, struct MHD_Connection *conn)
{
	const char *path = req->uri, *q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	bool is_v1 = (n == 3 && starts_with(path, n, "/v1")) || starts_with(path, n, "/v1/");
	bool head_or_get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	req->route = ROUTE_OTHER;
	if (n == 8 && starts_with(path, n, "/healthz"))
		req->route = ROUTE_HEALTHZ;
	else if (n == 8 && starts_with(path, n, "/metrics"))
		req->route = ROUTE_METRICS;
	else if (n == 10 && starts_with(path, n, "/v1/hourly"))
		req->route = ROUTE_ALL_HOURLY;
	else if (starts_with(path, n, "/v1/customers/") && n > 14 + 7 &&
		 !memcmp(path + n - 7, "/hourly", 7)) {
		req->segment = path + 14;
		req->seglen = n - 14 - 7;
		if (!memchr(req->segment, '/', req->seglen))
			req->route = ROUTE_CUSTOMER_HOURLY;
	}
	req->query = q ? q + 1 : "";
	if (is_v1 && !authorized(s, conn)) {
		reply_error(r, 401, "missing or wrong bearer token (Authorization: Bearer TOKEN)");
		r->www_authenticate = "Bearer realm=\"scli\"";
		return false;
	}
	if (req->route == ROUTE_OTHER) {
		reply_error(r, 404,
			    "no such endpoint (see GET /v1/hourly, "
			    "/v1/customers/{customer_id}/hourly, /healthz, /metrics)");
		return false;
	}
	if (!head_or_get) {
		reply_error(r, 405, "method %s not allowed: use GET", quotable(req->method));
		r->allow = "GET, HEAD";
		return false;
	}
	if (req->route == ROUTE_METRICS) {
		serve_metrics(r, s);
		return false;
	}
	return true;
}

/* A worker's part: the routes that need the database. */
static void dispatch(reply *r, server *s, worker_db *w, const request *req)
{
	switch (req->route) {
	case ROUTE_HEALTHZ:
		serve_healthz(r, s, w);
		break;
	case ROUTE_ALL_HOURLY:
		serve_hourly(r, s, w, NULL, 0, req->query);
		break;
	case ROUTE_CUSTOMER_HOURLY:
		serve_customer(r, s, w, req->segment, req->seglen, req->query);
		break;
	default:
		reply_error(r, 500, "internal error: no worker route");
		break;
	}
}

/* A worker thread: takes requests off the queue until told to quit, with a
 * repository of its own that it opens when first needed and frees at the end;
 * woken too when the SQLite file was replaced, to close its repository. */
static void *worker_main(void *arg)
{
	server *s = arg;
	worker_db w = {0};
	request *req;

	for (;;) {
		bool stale;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->quit && !(w.repo && w.gen != s->db_gen))
			pthread_cond_wait(&s->wake, &s->lock);
		stale = w.repo && w.gen != s->db_gen;
		req = stale ? NULL : s->head;
		if (req && !(s->head = req->next))
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		if (stale) {
			repo_drop(s, &w);
			continue;
		}
		if (!req)
			break;
		dispatch(&req->answer, s, &w, req);
		if (!req->answer.status)
			reply_error(&req->answer, 500, "internal error");
		/* from here on `req` belongs to MHD again */
		MHD_resume_connection(req->conn);
	}
	repo_drop(s, &w);
	return NULL;
}

static void enqueue(server *s, request *req)
{
	pthread_mutex_lock(&s->lock);
	req->next = NULL;
	if (s->tail)
		s->tail->next = req;
	else
		s->head = req;
	s->tail = req;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the header deadline ---------------------------------------------------- */

/*
 * libmicrohttpd 0.9.75's MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout: a
 * client sending a byte every few seconds keeps its connection, and 1,100 such
 * clients once held every slot. So every connection is watched from the moment
 * it is accepted (MHD_OPTION_NOTIFY_CONNECTION) until its headers are in, and
 * again from each response's end; a watchdog thread shuts down (shutdown(2))
 * the socket of one that took HEADER_TIMEOUT_S, and MHD then closes it as a
 * connection the client ended. The socket stays open until MHD's CLOSED
 * notification, which takes `watch_lock` first, so the watchdog never touches
 * a descriptor that was closed and reused.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	server *s = cls;
	conn_watch *w = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(w = calloc(1, sizeof(*w))))
			return; /* unwatched: only the idle timeout applies */
		w->fd = ci->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		pthread_mutex_lock(&s->watch_lock);
		if ((w->next = s->watched))
			w->next->prev = w;
		s->watched = w;
		pthread_mutex_unlock(&s->watch_lock);
		*socket_context = w;
	} else if (w) {
		pthread_mutex_lock(&s->watch_lock);
		if (w->prev)
			w->prev->next = w->next;
		else
			s->watched = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&s->watch_lock);
		free(w);
		*socket_context = NULL;
	}
}

/* The connection's headers are in (`answering`), or its response is done and the
 * deadline for the next request starts; true when the watchdog cut it. */
static bool watch_set(server *s, struct MHD_Connection *conn, bool answering)
{
	const union MHD_ConnectionInfo *ci =
	    conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
	conn_watch *w = ci ? ci->socket_context : NULL;
	bool cut;

	if (!w)
		return false;
	pthread_mutex_lock(&s->watch_lock);
	w->answering = answering;
	if (!answering)
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	cut = w->cut;
	pthread_mutex_unlock(&s->watch_lock);
	return cut;
}

static void *watchdog_main(void *arg)
{
	server *s = arg;
	struct timespec now, until;
	conn_watch *w;

	pthread_mutex_lock(&s->watch_lock);
	while (!s->watch_quit) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (w = s->watched; w; w = w->next)
			if (!w->answering && !w->cut &&
			    now.tv_sec - w->since.tv_sec >= HEADER_TIMEOUT_S) {
				shutdown(w->fd, SHUT_RDWR);
				w->cut = true;
				atomic_fetch_add(&s->m.header_timeouts, 1);
			}
		until = now;
		until.tv_sec += 1; /* the deadline holds to about a second */
		pthread_cond_timedwait(&s->watch_wake, &s->watch_lock, &until);
	}
	pthread_mutex_unlock(&s->watch_lock);
	return NULL;
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, server *s, request *req, reply *r)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(r->body);
		r->body = NULL;
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					r->www_authenticate);
	if (atomic_load(&s->stopping)) /* let keep-alive clients go while we drain */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	req->status = r->status;
	r->body = NULL; /* MHD frees it with the response */
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	server *s = cls;
	request *req = *req_cls;
	reply r = {0};

	(void)url; /* already decoded by MHD: we route the raw target instead */
	(void)version;
	(void)upload_data;
	if (!req)
		return MHD_NO;
	/* Answer once the whole request is in: a response queued on the first call
	 * (headers only) makes MHD close the connection instead of keeping it alive. */
	if (!req->called) {
		req->called = true;
		snprintf(req->method, sizeof(req->method), "%s", method);
		watch_set(s, conn, true);
		return MHD_YES;
	}
	if (*upload_data_size) { /* a body we do not want: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->status) /* answered */
		return MHD_YES;
	if (req->queued) /* resumed: a worker has answered */
		return queue_reply(conn, s, req, &req->answer);
	if (!req->uri) {
		reply_error(&r, 414, "request target longer than %d bytes", MAX_URI);
	} else if (route(&r, s, req, conn)) {
		/* suspended before it is queued, so the worker's resume always follows */
		req->queued = true;
		req->conn = conn;
		MHD_suspend_connection(conn);
		enqueue(s, req);
		return MHD_YES;
	}
	if (!r.status)
		reply_error(&r, 500, "internal error");
	return queue_reply(conn, s, req, &r);
}

/* A request's record, from its raw target; also starts the clock. */
static request *request_new(server *s, const char *uri, struct MHD_Connection *conn)
{
	request *req = calloc(1, sizeof(*req));
	const union MHD_ConnectionInfo *ci;
	size_t i, j = 0;

	if (!req)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &req->started);
	atomic_fetch_add(&s->m.in_flight, 1);
	req->route = ROUTE_OTHER;
	req->uri_len = strlen(uri);
	if (req->uri_len <= MAX_URI && !(req->uri = strdup(uri)))
		req->uri_len = SIZE_MAX; /* reported as too long: better than crashing */
	/* the log shows the target as sent, bytes outside printable ASCII escaped */
	for (i = 0; uri[i] && j + 4 < LOGGED_URI_MAX; i++) {
		unsigned char c = (unsigned char)uri[i];

		if (c >= 0x21 && c < 0x7f && c != '\\')
			req->logged_uri[j++] = (char)c;
		else
			j += (size_t)snprintf(req->logged_uri + j, 5, "\\x%02x", c);
	}
	if (uri[i])
		strcpy(req->logged_uri + j, "...");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	strcpy(req->client, "-");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  req->client, sizeof(req->client));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  req->client, sizeof(req->client));
	}
	return req;
}

/*
 * The raw request target, before MHD decodes it. MHD calls this between
 * reading the request line and splitting its query into GET arguments, one
 * record per `&`-separated piece allocated from the connection's 64 KiB memory
 * pool: about 1,000 pieces (a 1.2 KB target of empty pairs) exhaust it, and
 * libmicrohttpd 0.9.75 then closes the connection without an answer (its 431
 * needs pool memory too). This server never reads MHD's GET arguments: it
 * routes and parses its own copy of the target (request.uri). So the query is
 * cut short in MHD's copy, which lies in MHD's writable read buffer, before MHD
 * parses it; every query then reaches parse_query and gets its answer.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	request *req = request_new(cls, uri ? uri : "", conn);
	char *q = uri ? strchr(uri, '?') : NULL;

	if (q && q[1])
		q[1] = '\0';
	return req;
}

static size_t status_index(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (tracked_statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

/* The response is sent (or the connection died): metrics, access log, free. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	request *req = *req_cls;
	double secs;
	size_t b;
	bool cut;

	cut = watch_set(s, conn, false);
	if (!req)
		return;
	secs = seconds_since(&req->started);
	if (req->status) {
		atomic_fetch_add(&s->m.requests[req->route][status_index(req->status)], 1);
		for (b = 0; b < NBOUNDS && secs > latency_bounds[b]; b++)
			;
		atomic_fetch_add(&s->m.latency[req->route][b], 1);
		atomic_fetch_add(&s->m.latency_sum_us[req->route],
				 (unsigned long long)(secs * 1e6));
		atomic_fetch_add(&s->m.latency_count[req->route], 1);
	}
	if (!s->quiet) {
		char now[40];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(now + 19, sizeof(now) - 19, ".%03dZ", (int)(ts.tv_nsec / 1000000));
		if (req->status && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			fprintf(stderr, "%s %s %s %s %d %.1fms\n", now, req->client,
				req->method[0] ? req->method : "-", req->logged_uri, req->status,
				secs * 1e3);
		else
			fprintf(stderr, "%s %s %s %s %d %.1fms (connection closed: %s)\n", now,
				req->client, req->method[0] ? req->method : "-", req->logged_uri,
				req->status, secs * 1e3,
				cut ? "request not received within the header timeout"
				: toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
				: toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
										: "error");
	}
	atomic_fetch_sub(&s->m.in_flight, 1);
	free(req->answer.body); /* only when never sent */
	free(req->uri);
	free(req);
	*req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t len;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	fprintf(stderr, "scli: serve: %s\n", msg);
}

/* ---- the command ------------------------------------------------------------ */

/* HOST:PORT (`[v6]:PORT`, `:PORT` for every interface, PORT for 127.0.0.1) into a socket address.
 */
static int parse_listen(struct sockaddr_storage *out, socklen_t *len_out, const char *arg)
{
	char host[256];
	const char *colon = strrchr(arg, ':'), *h = arg, *port;
	size_t hlen;
	struct addrinfo hints = {0}, *res = NULL;
	char *end;
	long p;

	if (colon) {
		port = colon + 1;
		hlen = (size_t)(colon - arg);
	} else { /* a bare PORT: the default host's, like the default 127.0.0.1:8080 */
		if (!*arg || !is_digits(arg, strlen(arg)))
			return -1;
		port = arg;
		h = "127.0.0.1";
		hlen = strlen(h);
	}
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
		h++, hlen -= 2;
	if (hlen >= sizeof(host))
		return -1;
	errno = 0;
	p = strtol(port, &end, 10);
	if (!*port || *end || errno || p < 0 || p > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(hlen ? host : "0.0.0.0", port, &hints, &res) != 0 || !res)
		return -1;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len_out = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * The listening socket, bound here rather than by MHD so that a busy address
 * is reported as such. SO_REUSEADDR only (a restart need not wait out
 * TIME_WAIT); never SO_REUSEPORT, which would let a second server bind the
 * same port and the kernel split requests between two databases.
 */
static int open_listener(int *fd_out, const struct sockaddr_storage *addr, socklen_t len,
			 const char *where)
{
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

	*fd_out = -1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		if (errno == EADDRINUSE)
			cli_error("cannot listen on %s: address already in use (is another "
				  "`scli serve` running there?)",
				  where);
		else
			cli_error("cannot listen on %s: %s", where, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* The address actually bound (port 0 picks one), for the start-up line. */
static void describe_listener(char *buf, size_t cap, struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (di && getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(buf, cap, ss.ss_family == AF_INET6 ? "http://[%s]:%u" : "http://%s:%u", host,
		 port);
}

/*
 * Stop accepting, let requests in flight finish (bounded), then stop MHD.
 * False when requests were still running at the deadline: their workers still
 * hold suspended connections, so MHD is left to the process exit.
 */
static bool drain_and_stop(server *s, struct MHD_Daemon *d)
{
	MHD_socket listener = MHD_quiesce_daemon(d);
	struct timespec tick = {0, 10 * 1000 * 1000};
	int waited = 0;

	atomic_store(&s->stopping, true);
	while (atomic_load(&s->m.in_flight) > 0 && waited < SHUTDOWN_GRACE_MS) {
		nanosleep(&tick, NULL);
		waited += 10;
	}
	if (atomic_load(&s->m.in_flight) > 0) {
		fprintf(stderr, "scli: serve: %lld requests still in flight after %d s; exiting\n",
			atomic_load(&s->m.in_flight), SHUTDOWN_GRACE_MS / 1000);
		return false;
	}
	MHD_stop_daemon(d);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	return true;
}

/* Tell the workers to finish the queue and stop; wait for them. */
static void stop_workers(server *s, pthread_t *threads, int n)
{
	int i;

	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

typedef struct serve_opts {
	const char *listen;
	int threads;
	bool quiet;
} serve_opts;

/* The environment first (a Deployment sets it), flags win; -1 to go on, else the exit code. */
static int parse_serve_opts(serve_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"threads", required_argument, NULL, 't'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *t = cli_env("SCLI_THREADS");
	char *end;
	long n;
	int c;

	o->listen = cli_env("SCLI_LISTEN") ? cli_env("SCLI_LISTEN") : "127.0.0.1:8080";
	o->quiet = cli_env_flag("SCLI_QUIET");
	o->threads = default_threads();
	if (t) {
		errno = 0;
		n = strtol(t, &end, 10);
		if (errno || *end || n < 1 || n > MAX_THREADS)
			return cli_usage_error("serve", "SCLI_THREADS must be 1..256, not '%s'", t);
		o->threads = (int)n;
	}
	while ((c = cli_next_option(argc, argv, opts, "serve")) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || n < 1 || n > MAX_THREADS)
				return cli_usage_error(
				    "serve", "--threads must be 1..256, not '%s'", optarg);
			o->threads = (int)n;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			return fputs(cli_serve_usage, stdout), EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	return -1;
}

/*
 * How many connections the open-file limit leaves room for, up to
 * MAX_CONNECTIONS: the soft limit is raised towards the hard one when it is
 * lower (often 1024), since MHD stops accepting at EMFILE.
 */
static unsigned int connection_room(int threads)
{
	rlim_t spare = SPARE_FDS + 4 * (rlim_t)threads, want = MAX_CONNECTIONS + spare;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return MAX_CONNECTIONS;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return MAX_CONNECTIONS;
	fprintf(stderr,
		"scli: warning: the open-file limit (%llu) leaves room for %llu connections, "
		"not %d\n",
		(unsigned long long)rl.rlim_cur,
		(unsigned long long)(rl.rlim_cur > spare + 16 ? rl.rlim_cur - spare : 16),
		MAX_CONNECTIONS);
	return rl.rlim_cur > spare + 16 ? (unsigned int)(rl.rlim_cur - spare) : 16;
}

static server *server_new(const char *url, const char *token, bool quiet)
{
	server *s = calloc(1, sizeof(*s));
	pthread_condattr_t mono;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->repos_closed, NULL);
	pthread_mutex_init(&s->watch_lock, NULL);
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&s->watch_wake, &mono);
	pthread_condattr_destroy(&mono);
	s->url = url;
	if (!strncmp(url, "sqlite:", 7))
		s->sqlite_path = url + 7;
	s->token = token;
	s->token_len = token ? strlen(token) : 0;
	s->quiet = quiet;
	return s;
}

static void server_free(server *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->watch_wake);
	pthread_mutex_destroy(&s->watch_lock);
	pthread_cond_destroy(&s->repos_closed);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void stop_watchdog(server *s, pthread_t watchdog)
{
	pthread_mutex_lock(&s->watch_lock);
	s->watch_quit = true;
	pthread_cond_signal(&s->watch_wake);
	pthread_mutex_unlock(&s->watch_lock);
	pthread_join(watchdog, NULL);
}

/* One MHD thread does all the HTTP on `listen_fd` (MHD closes it); the workers do the database. */
static struct MHD_Daemon *start_daemon(server *s, int listen_fd, int family, unsigned int limit)
{
	unsigned int flags =
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    limit / 4 < MAX_CONNECTIONS_PER_IP ? limit / 4 : (unsigned int)MAX_CONNECTIONS_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_PER_CONNECTION,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
}

int cli_cmd_serve(const cli_globals *g, int argc, char **argv)
{
	serve_opts o;
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	server *s = NULL;
	struct MHD_Daemon *d = NULL;
	scli_repo *probe = NULL;
	pthread_t *workers = NULL, watchdog;
	bool watching = false;
	int started = 0, listen_fd = -1;
	sigset_t stop_signals, old_mask;
	char where[INET6_ADDRSTRLEN + 32];
	const char *token = getenv("SCLI_API_TOKEN");
	unsigned int limit;
	int sig = 0, error, rc = EXIT_OK;

	if ((rc = parse_serve_opts(&o, argc, argv)) >= 0)
		return rc;
	rc = EXIT_OK;
	if (parse_listen(&addr, &addr_len, o.listen) < 0)
		return cli_usage_error("serve", "--listen takes HOST:PORT or PORT, not '%s'",
				       o.listen);
	if (token && !*token) /* an unset secret, most likely: never serve without the check */
		return cli_usage_error("serve", "%s",
				       "SCLI_API_TOKEN is set but empty; unset it or give a token");
	if (!(s = server_new(cli_database_url(g->database), token, o.quiet))) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}

	/* A URL scli cannot use is a usage error now; an unreachable database is not:
	 * the server starts, /healthz says 503, and it recovers by itself. */
	if ((error = cli_open_repo(&probe, s->url, false)) == SCLI_EINVALID) {
		rc = cli_fail(error);
		goto done;
	}
	if (error < 0 || (error = scli_repo_check_schema(probe)) < 0)
		fprintf(stderr, "scli: warning: database not ready yet (%s); serving anyway\n",
			scli_error_last());
	scli_repo_free(probe);
	if (open_listener(&listen_fd, &addr, addr_len, o.listen) < 0) {
		rc = EXIT_RUNTIME;
		goto done;
	}
	limit = connection_room(o.threads);

	/* The workers inherit a mask without the stop signals; this thread waits for them. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	signal(SIGPIPE, SIG_IGN);

	if (!(workers = calloc((size_t)o.threads, sizeof(*workers)))) {
		cli_error("out of memory");
		rc = EXIT_RUNTIME;
		goto done;
	}
	for (; started < o.threads; started++)
		if ((errno = pthread_create(&workers[started], NULL, worker_main, s)) != 0) {
			cli_error("cannot start a worker thread: %s", strerror(errno));
			rc = EXIT_RUNTIME;
			goto done;
		}
	if ((errno = pthread_create(&watchdog, NULL, watchdog_main, s)) != 0) {
		cli_error("cannot start the watchdog thread: %s", strerror(errno));
		rc = EXIT_RUNTIME;
		goto done;
	}
	watching = true;
	if (!(d = start_daemon(s, listen_fd, addr.ss_family, limit))) {
		cli_error("cannot serve on %s: libmicrohttpd failed to start", o.listen);
		rc = EXIT_RUNTIME;
		goto done;
	}
	listen_fd = -1; /* MHD's now */
	describe_listener(where, sizeof(where), d);
	fprintf(stderr, "scli: serving on %s (%d threads, %s database%s)\n", where, o.threads,
		s->sqlite_path ? "sqlite" : "postgres",
		s->token ? ", bearer token required on /v1" : "");
	while (sigwait(&stop_signals, &sig) != 0)
		;
	fprintf(stderr, "scli: serve: %s received, finishing requests in flight\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if (!drain_and_stop(s, d))
		return EXIT_RUNTIME; /* requests still running: leave them to the process exit */
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	fprintf(stderr, "scli: serve: stopped\n");
done:
	if (listen_fd >= 0)
		close(listen_fd);
	if (s) {
		if (watching)
			stop_watchdog(s, watchdog);
		stop_workers(s, workers, started);
		server_free(s);
	}
	free(workers);
	return rc;
}
