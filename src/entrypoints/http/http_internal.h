/*
 * Shared by the files of `scli serve` (src/entrypoints/http/) and by the fuzz
 * target tests/fuzz/fuzz_http.c; not installed. The server, the records a
 * request goes through, the limits, and what each file offers the others.
 *
 * MHD's internal thread does the HTTP (daemon.c); a request that needs the
 * database is suspended and put on a queue that a pool of worker threads
 * serves (workers.c). Every worker owns one repository (repositories are not
 * thread-safe), opened on first use and reopened after the database went away.
 * A shared queue keeps every worker busy whatever connection a request came
 * on, and a slow query holds up no other connection.
 */
#ifndef SCLI_HTTP_INTERNAL_H
#define SCLI_HTTP_INTERNAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <microhttpd.h>

#include "../cli.h"

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

/* ---- the records ------------------------------------------------------------ */

typedef enum {
	ROUTE_CUSTOMER_HOURLY,
	ROUTE_ALL_HOURLY,
	ROUTE_CUSTOMER_USAGE,
	ROUTE_ALL_USAGE,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_PAGE,
	ROUTE_OTHER,
	ROUTE_COUNT
} route_id;

#define NSTATUS 9  /* the statuses metrics.c tracks, and one for any other */
#define NBOUNDS 13 /* latency histogram bounds (metrics.c) */

typedef struct metrics {
	atomic_ullong requests[ROUTE_COUNT][NSTATUS];
	atomic_ullong latency[ROUTE_COUNT][NBOUNDS + 1]; /* per bucket, not cumulative */
	atomic_ullong latency_sum_us[ROUTE_COUNT];
	atomic_ullong latency_count[ROUTE_COUNT];
	atomic_ullong db_errors;
	atomic_ullong header_timeouts; /* connections cut by HEADER_TIMEOUT_S */
	atomic_ullong db_reopens;      /* the database was replaced under the server */
	atomic_llong in_flight;
} metrics;

/* A response before it goes to MHD: status, malloc'd body and the headers that vary. */
typedef struct reply {
	int status;
	char *body;
	size_t len;
	const char *content_type;
	const char *allow;
	const char *www_authenticate;
	const char *csp; /* Content-Security-Policy: the page's (http_page_csp), else none */
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
	bool accept_csv;   /* the Accept header asks for text/csv (http_accepts_csv) */
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

/* A worker's repository, the database generation it was opened in, and the
 * last check round it answered (server.check_round). */
typedef struct worker_db {
	scli_repo *repo;
	unsigned gen;
	unsigned round;
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
	 * When a repository says its database was replaced under it (a SQLite
	 * restore moves another file over the path: scli_repo_replaced), `db_gen`
	 * goes up; every repository of an older generation is closed before a new
	 * one opens, since SQLite must never have the old and the new file open at
	 * once in one process (they would share the path's -wal and -shm). A worker
	 * that has none cannot ask: before it opens one beside open ones, each of
	 * those is asked (a check round).
	 */
	unsigned db_gen;
	int repos_open;		     /* of generation db_gen, being opened included */
	int repos_opening;	     /* of those, still being opened */
	int repos_stale;	     /* of older generations, still open */
	unsigned check_round;	     /* goes up when a round begins */
	int checks_due;		     /* repositories yet to answer the round */
	pthread_cond_t repos_closed; /* repos_stale or checks_due went down */
	/* the header deadline: connections still sending their request */
	pthread_mutex_t watch_lock;
	pthread_cond_t watch_wake;
	conn_watch *watched;
	bool watch_quit;
	/* zones loaded for requests (zones.c): read once, shared by every worker */
	pthread_mutex_t zones_lock;
	struct zone_entry *zones;
	size_t nzones, zones_cap;
	metrics m;
} server;

/* ---- query.c: percent-decoding, the query string, timestamps typed by hand ---- */

/*
 * Decode %XX escapes of s[0..n) into `out` (room for n + 1 bytes), NUL-terminated;
 * `*len_out` counts a decoded %00 too, so the validation that follows sees it.
 * With `form` (the query string) `+` is a space; in the path it stays `+`.
 * -1 on a malformed escape.
 */
int http_percent_decode(char *out, size_t *len_out, const char *s, size_t n, bool form);

/* Which count endpoint a query string is for: which parameters it may hold. */
typedef enum { QUERY_HOURLY, QUERY_CUSTOMER_USAGE, QUERY_USAGE } query_kind;

/* The parameters of the count endpoints, decoded, pointing into `buf`; NULL (0) when absent. */
typedef struct query {
	char *from, *to, *skip_empty, *window, *tz, *group_by, *format;
	char **customers, **event_types; /* repeatable */
	size_t n_customers, n_event_types;
	char *buf;
} query;

/*
 * Parse a count endpoint's query string; false (and `r` a 400 or 500) for an
 * unknown parameter, a single one repeated, a bad escape or a NUL. The caller
 * frees `q` with http_query_free, also after a failure.
 */
bool http_parse_query(query *q, reply *r, const char *text, query_kind kind);
void http_query_free(query *q);

/* Whether s[0..n) is all ASCII digits. */
bool http_is_digits(const char *s, size_t n);

/* A `+` offset sign that form decoding turned into a space, back into `+`. */
void http_restore_offset_sign(char *text);

/* The same for a `tz` that is an offset: ` 05:30` back into `+05:30`. */
void http_restore_zone_sign(char *tz);

/* Whether an Accept header (NULL: none) asks for text/csv rather than JSON. */
bool http_accepts_csv(const char *accept);

/* ---- zones.c: the zones requests name, loaded once -------------------------------- */

/* What a request's zone lookup needs: the server's cache, and a zone it had to load alone. */
typedef struct zone_lookup {
	struct server *s;
	scli_zone *owned; /* freed by the request (scli_zone_free) after its count */
} zone_lookup;

/* A scli_zone_lookup_fn over the server's cache; `ctx` is a zone_lookup. */
int http_zone_lookup(const scli_zone **out, void *ctx, const char *name);

/* Set up and free the server's zone cache (http_server_new / http_server_free). */
void http_zones_init(struct server *s);
void http_zones_free(struct server *s);

/* ---- page.c (generated from page.html by cmake/embed_page.cmake): GET / ------------- */

/* The page's bytes, NUL-terminated (http_page_len of them before the NUL), and the
 * Content-Security-Policy allowing exactly its inline script and style. */
extern const char http_page_html[];
extern const size_t http_page_len;
extern const char http_page_csp[];

/* ---- routes.c: replies, routing, the endpoints ---------------------------------- */

/* `{"error":"..."}`; the message must be valid UTF-8 (callers never echo unchecked input). */
void http_reply_error(reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A 200 (or other) reply of `len` bytes of `body`, which the reply now owns. */
void http_reply_text(reply *r, int status, const char *content_type, char *body, size_t len);

/* An input value fit to quote in a message: valid UTF-8, no control characters, not too long. */
const char *http_quotable(const char *s);

/*
 * Route the raw request target; true when the request needs the database (a
 * worker answers it through http_dispatch), else `r` holds the answer.
 */
bool http_route(reply *r, server *s, request *req, struct MHD_Connection *conn);

/* A worker's part: the routes that need the database. */
void http_dispatch(reply *r, server *s, worker_db *w, const request *req);

/* ---- metrics.c: the counters and GET /metrics -------------------------------- */

/* Where `status` is counted in metrics.requests: NSTATUS - 1 for an untracked one. */
size_t http_status_index(int status);

/* Count one answered request and its latency. */
void http_metrics_record(metrics *m, route_id route, int status, double seconds);

/* The Prometheus text of GET /metrics. */
void http_serve_metrics(reply *r, server *s);

/* ---- workers.c: the job queue and one repository per worker thread ------------ */

typedef int (*db_fn)(scli_repo *repo, void *ctx);

/* Run `fn` on this worker's repository, opening (or reopening) it when needed. */
int http_with_repo(server *s, worker_db *w, db_fn fn, void *ctx);

/* Hand a suspended request to the workers. */
void http_enqueue(server *s, request *req);

/* A worker thread's body (pthread_create with the server). */
void *http_worker_main(void *arg);

/* Tell the workers to finish the queue and stop; wait for the first `n`. */
void http_stop_workers(server *s, pthread_t *threads, int n);

/* ---- listener.c: the socket, the connection limits, the header deadline ------- */

/* HOST:PORT (`[v6]:PORT`, `:PORT` for every interface, PORT for 127.0.0.1) into an address. */
int http_parse_listen(struct sockaddr_storage *out, socklen_t *len_out, const char *arg);

/* The bound, listening socket; -1 with the error printed (`where` names the address). */
int http_open_listener(int *fd_out, const struct sockaddr_storage *addr, socklen_t len,
		       const char *where);

/* How many connections the open-file limit leaves room for (raising it), up to MAX_CONNECTIONS. */
unsigned int http_connection_room(int threads);

/* The address actually bound, as a URL for the start-up line. */
void http_describe_listener(char *buf, size_t cap, struct MHD_Daemon *d);

/* MHD_OPTION_NOTIFY_CONNECTION: watch a connection from its start, forget it at its end. */
void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code);

/* The headers are in (`answering`), or a response is done; true when the watchdog cut it. */
bool http_watch_set(server *s, struct MHD_Connection *conn, bool answering);

/* The watchdog thread's body (pthread_create with the server), until http_stop_watchdog. */
void *http_watchdog_main(void *arg);
void http_stop_watchdog(server *s, pthread_t watchdog);

/* ---- daemon.c: the server, each request's life on libmicrohttpd ---------------- */

/* A server for `url` (borrowed, as is `token`: NULL for no bearer check); NULL without memory. */
server *http_server_new(const char *url, const char *token, bool quiet);
void http_server_free(server *s);

/* One MHD thread does all the HTTP on `listen_fd` (MHD closes it); NULL when it fails. */
struct MHD_Daemon *http_start_daemon(server *s, int listen_fd, int family, unsigned int limit);

/*
 * Stop accepting, let requests in flight finish (bounded), then stop MHD.
 * False when requests were still running at the deadline.
 */
bool http_drain_and_stop(server *s, struct MHD_Daemon *d);

#endif
