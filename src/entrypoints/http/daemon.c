/*
 * `scli serve` on libmicrohttpd: the server object, each request's life, and
 * the daemon. A request's record is made from the raw target before MHD parses
 * it; once its headers are in it is routed, then answered at once or suspended
 * and queued for a worker (workers.c), whose answer is sent when MHD resumes
 * it; when it is done it is counted (metrics.c), logged and freed. The daemon
 * is started on the listening socket and, on SIGTERM, drained.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_internal.h"

/* ---- the server ------------------------------------------------------------- */

server *http_server_new(const char *url, const char *token, bool quiet)
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
	s->token = token;
	s->token_len = token ? strlen(token) : 0;
	s->quiet = quiet;
	http_zones_init(s);
	return s;
}

void http_server_free(server *s)
{
	if (!s)
		return;
	http_zones_free(s);
	pthread_cond_destroy(&s->watch_wake);
	pthread_mutex_destroy(&s->watch_lock);
	pthread_cond_destroy(&s->repos_closed);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- one request's life ------------------------------------------------------ */

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
	MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
	if (r->csp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, r->csp);
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
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
		http_watch_set(s, conn, true);
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
		http_reply_error(&r, 414, "request target longer than %d bytes", MAX_URI);
	} else if (http_route(&r, s, req, conn)) {
		/* suspended before it is queued, so the worker's resume always follows */
		req->queued = true;
		req->conn = conn;
		MHD_suspend_connection(conn);
		http_enqueue(s, req);
		return MHD_YES;
	}
	if (!r.status)
		http_reply_error(&r, 500, "internal error");
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
 * parses it; every query then reaches http_parse_query and gets its answer.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	request *req = request_new(cls, uri ? uri : "", conn);
	char *q = uri ? strchr(uri, '?') : NULL;

	if (q && q[1])
		q[1] = '\0';
	return req;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The access log line: UTC time, client, method, target as sent, status, milliseconds. */
static void log_access(const request *req, enum MHD_RequestTerminationCode toe, bool cut,
		       double secs)
{
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
		fprintf(stderr, "%s %s %s %s %d %.1fms (connection closed: %s)\n", now, req->client,
			req->method[0] ? req->method : "-", req->logged_uri, req->status,
			secs * 1e3,
			cut ? "request not received within the header timeout"
			: toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
			: toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
									: "error");
}

/* The response is sent (or the connection died): metrics, access log, free. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	request *req = *req_cls;
	double secs;
	bool cut;

	cut = http_watch_set(s, conn, false);
	if (!req)
		return;
	secs = seconds_since(&req->started);
	if (req->status)
		http_metrics_record(&s->m, req->route, req->status, secs);
	if (!s->quiet)
		log_access(req, toe, cut, secs);
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

/* ---- the daemon -------------------------------------------------------------- */

/*
 * Stop accepting, let requests in flight finish (bounded), then stop MHD.
 * False when requests were still running at the deadline: their workers still
 * hold suspended connections, so MHD is left to the process exit.
 */
bool http_drain_and_stop(server *s, struct MHD_Daemon *d)
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

/* One MHD thread does all the HTTP on `listen_fd` (MHD closes it); the workers do the database. */
struct MHD_Daemon *http_start_daemon(server *s, int listen_fd, int family, unsigned int limit)
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
	    MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, s, MHD_OPTION_END);
}
