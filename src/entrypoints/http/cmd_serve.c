/*
 * `scli serve`, the command: its usage, its options (flags over the
 * environment), and the start and stop of the server: the database probed,
 * the socket bound, the worker and watchdog threads and the daemon started,
 * then SIGTERM or SIGINT awaited and the requests in flight let finish. The
 * server itself is in the other files of this directory (http_internal.h).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../options.h"
#include "http_internal.h"

const char cli_serve_usage[] =
    "usage: scli [--database URL] serve [--listen HOST:PORT] [--threads N] [--quiet]\n"
    "\n"
    "Serve the counts over HTTP (JSON or CSV exactly as `count --format json|csv`):\n"
    "  GET /v1/customers/{customer_id}/usage?from=A&to=B[&window=W][&tz=ZONE]\n"
    "      [&event_type=T...][&group_by=event_type][&skip_empty=true][&format=csv]\n"
    "  GET /v1/usage?from=A&to=B[&customer=ID...]...    every customer, or those named\n"
    "  GET /v1/customers/{customer_id}/hourly?from=A&to=B[&skip_empty=true]\n"
    "  GET /v1/hourly?from=A&to=B[&skip_empty=true]     hourly UTC, every customer\n"
    "  GET /healthz                                     200 when the database answers, else 503\n"
    "  GET /metrics                                     Prometheus text\n"
    "  GET /                                            a page: the counts as bar charts\n"
    "\n"
    "`Accept: text/csv` (or format=csv) gives CSV.\n"
    "With SCLI_API_TOKEN set, every /v1 request needs `Authorization: Bearer TOKEN`.\n"
    "Environment (flags win): SCLI_LISTEN, SCLI_THREADS, SCLI_QUIET=1.\n"
    "SIGTERM or SIGINT stops accepting connections, lets requests in flight finish\n"
    "(up to 25 s) and exits 0.\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; a bare PORT\n"
    "                      is 127.0.0.1:PORT; `:8080` or 0.0.0.0:8080 for every\n"
    "                      interface, [::1]:8080 for IPv6, port 0 for any free port)\n"
    "  --threads N         database worker threads, each with its own connection\n"
    "                      (default: the number of CPUs, at most 16)\n"
    "  --quiet             no access log on stderr\n";

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

typedef struct serve_opts {
	const char *listen;
	int64_t threads;
	bool quiet;
} serve_opts;

/* In this order: --listen, --threads, --quiet, as "did you mean" has always weighed them. */
static const cli_option serve_options[] = {
    {.name = "listen",
     .kind = CLI_OPT_STRING,
     .offset = offsetof(serve_opts, listen),
     .env = "SCLI_LISTEN"},
    {.name = "threads",
     .kind = CLI_OPT_INT64,
     .offset = offsetof(serve_opts, threads),
     .env = "SCLI_THREADS",
     .min = 1,
     .max = MAX_THREADS,
     .bad = "{name} must be 1..256, not '{value}'"},
    {.name = "quiet",
     .kind = CLI_OPT_FLAG,
     .offset = offsetof(serve_opts, quiet),
     .env = "SCLI_QUIET"},
    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
    {0},
};

static const cli_option_set options = {
    .command = "serve",
    .usage = cli_serve_usage,
    .options = serve_options,
};

int cli_cmd_serve(const cli_globals *g, int argc, char **argv)
{
	serve_opts o = {.listen = "127.0.0.1:8080", .threads = default_threads()};
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
	const char *token = getenv("SCLI_API_TOKEN"), *kind;
	unsigned int limit;
	int threads, sig = 0, error, rc = EXIT_OK;

	if ((rc = cli_options_parse(&o, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	rc = EXIT_OK;
	threads = (int)o.threads; /* 1..MAX_THREADS */
	if (http_parse_listen(&addr, &addr_len, o.listen) < 0)
		return cli_usage_error("serve", "--listen takes HOST:PORT or PORT, not '%s'",
				       o.listen);
	if (token && !*token) /* an unset secret, most likely: never serve without the check */
		return cli_usage_error("serve", "%s",
				       "SCLI_API_TOKEN is set but empty; unset it or give a token");
	if (!(s = http_server_new(cli_database_url(g->database), token, o.quiet))) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}

	/* A URL scli cannot use is a usage error now; an unreachable database is not:
	 * the server starts, /healthz says 503, and it recovers by itself. */
	if ((error = cli_open_repo(&probe, s->url, false)) == SCLI_EINVALID) {
		rc = cli_fail(error);
		goto done;
	}
	if (error < 0 || (error = scli_service_check_schema(probe)) < 0)
		fprintf(stderr, "scli: warning: database not ready yet (%s); serving anyway\n",
			scli_error_last());
	/* a URL scli cannot use was refused above: it names a kind of repository */
	kind = probe ? scli_repo_name(probe) : scli_repo_url_kind(s->url);
	assert(kind);
	scli_repo_free(probe);
	if (http_open_listener(&listen_fd, &addr, addr_len, o.listen) < 0) {
		rc = EXIT_RUNTIME;
		goto done;
	}
	limit = http_connection_room(threads);

	/* The workers inherit a mask without the stop signals; this thread waits for them. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	signal(SIGPIPE, SIG_IGN);

	if (!(workers = calloc((size_t)threads, sizeof(*workers)))) {
		cli_error("out of memory");
		rc = EXIT_RUNTIME;
		goto done;
	}
	for (; started < threads; started++)
		if ((errno = pthread_create(&workers[started], NULL, http_worker_main, s)) != 0) {
			cli_error("cannot start a worker thread: %s", strerror(errno));
			rc = EXIT_RUNTIME;
			goto done;
		}
	if ((errno = pthread_create(&watchdog, NULL, http_watchdog_main, s)) != 0) {
		cli_error("cannot start the watchdog thread: %s", strerror(errno));
		rc = EXIT_RUNTIME;
		goto done;
	}
	watching = true;
	if (!(d = http_start_daemon(s, listen_fd, addr.ss_family, limit))) {
		cli_error("cannot serve on %s: libmicrohttpd failed to start", o.listen);
		rc = EXIT_RUNTIME;
		goto done;
	}
	listen_fd = -1; /* MHD's now */
	http_describe_listener(where, sizeof(where), d);
	fprintf(stderr, "scli: serving on %s (%d threads, %s database%s)\n", where, threads, kind,
		s->token ? ", bearer token required on /v1" : "");
	while (sigwait(&stop_signals, &sig) != 0)
		;
	fprintf(stderr, "scli: serve: %s received, finishing requests in flight\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if (!http_drain_and_stop(s, d))
		return EXIT_RUNTIME; /* requests still running: leave them to the process exit */
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	fprintf(stderr, "scli: serve: stopped\n");
done:
	if (listen_fd >= 0)
		close(listen_fd);
	if (s) {
		if (watching)
			http_stop_watchdog(s, watchdog);
		http_stop_workers(s, workers, started);
		http_server_free(s);
	}
	free(workers);
	return rc;
}
