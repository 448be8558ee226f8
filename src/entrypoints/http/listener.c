/*
 * `scli serve`: where it listens and how much it takes in. The --listen
 * address, the listening socket (bound here, so a busy port is reported as
 * such), the connection limit the open-file limit leaves room for, the bound
 * address for the start-up line, and the header deadline: a watchdog thread
 * that cuts connections which do not send their request in time.
 */
#include <sys/resource.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_internal.h"

/* ---- the socket and the limits ---------------------------------------------- */

/* HOST:PORT (`[v6]:PORT`, `:PORT` for every interface, PORT for 127.0.0.1) into a socket address.
 */
int http_parse_listen(struct sockaddr_storage *out, socklen_t *len_out, const char *arg)
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
		if (!*arg || !http_is_digits(arg, strlen(arg)))
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
int http_open_listener(int *fd_out, const struct sockaddr_storage *addr, socklen_t len,
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

/* The address actually bound (port 0 picks one), for the start-up line. */
void http_describe_listener(char *buf, size_t cap, struct MHD_Daemon *d)
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
 * How many connections the open-file limit leaves room for, up to
 * MAX_CONNECTIONS: the soft limit is raised towards the hard one when it is
 * lower (often 1024), since MHD stops accepting at EMFILE.
 */
unsigned int http_connection_room(int threads)
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
void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
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
bool http_watch_set(server *s, struct MHD_Connection *conn, bool answering)
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

void *http_watchdog_main(void *arg)
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

void http_stop_watchdog(server *s, pthread_t watchdog)
{
	pthread_mutex_lock(&s->watch_lock);
	s->watch_quit = true;
	pthread_cond_signal(&s->watch_wake);
	pthread_mutex_unlock(&s->watch_lock);
	pthread_join(watchdog, NULL);
}
