/*
 * `scli serve`: the database side. A queue of suspended requests that a pool
 * of worker threads serves, each worker with a repository of its own
 * (repositories are not thread-safe), opened on first use, dropped after a
 * failure that may be the connection's and retried once on a fresh one; and a
 * database replaced under the server (a SQLite restore), as the repositories
 * tell (scli_repo_replaced), noticed and every repository of the old one
 * closed before a new one opens.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* ---- one repository per worker thread ------------------------------------------ */

/* Errors that say nothing about the connection: the request or the schema. */
static bool connection_fine(int error)
{
	return error >= 0 || error == SCLI_EINVALID || error == SCLI_ERANGE ||
	       error == SCLI_ESCHEMA;
}

/*
 * Under s->lock: this worker has asked its repository in the current check
 * round (or needs not: its repository is gone or brand new).
 */
static void answer_round(server *s, worker_db *w)
{
	if (w->round == s->check_round)
		return;
	assert(s->checks_due > 0);
	w->round = s->check_round;
	s->checks_due--;
	pthread_cond_broadcast(&s->repos_closed);
}

/* Under s->lock: this worker's repository, or the open it reserved, is gone. */
static void repo_gone(server *s, worker_db *w)
{
	if (w->gen == s->db_gen) {
		s->repos_open--;
		answer_round(s, w);
	} else {
		s->repos_stale--;
		pthread_cond_broadcast(&s->repos_closed);
	}
}

/* Close this worker's repository, whatever generation it belongs to. */
static void repo_drop(server *s, worker_db *w)
{
	if (!w->repo)
		return;
	scli_repo_free(w->repo);
	w->repo = NULL;
	pthread_mutex_lock(&s->lock);
	repo_gone(s, w);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The database as the reopen line names it: the URL, any password masked,
 * without a leading "NAME:" of the adapter's own name (`sqlite:PATH` is named
 * by its path).
 */
static void database_name(char *out, size_t cap, const server *s, const scli_repo *repo)
{
	const char *name = scli_repo_name(repo);
	size_t len = strlen(name);

	cli_mask_database_url(out, cap, s->url);
	if (!strncmp(out, name, len) && out[len] == ':' && strncmp(out + len + 1, "//", 2))
		memmove(out, out + len + 1, strlen(out + len + 1) + 1);
}

/*
 * Has the database this worker's repository opened been replaced underneath it
 * (a SQLite restore moves another file over the path)? Then a new generation
 * starts: idle workers are woken to close theirs, and so does this one. Asked
 * before every database call: one stat(2) for SQLite, about a microsecond
 * (docs/OPERATIONS.md), next to tens of microseconds for the query itself.
 */
static void check_replaced(server *s, worker_db *w)
{
	char name[4096];
	bool replaced, stale;

	if (!w->repo)
		return;
	if ((replaced = scli_repo_replaced(w->repo)))
		database_name(name, sizeof(name), s, w->repo);
	pthread_mutex_lock(&s->lock);
	if (w->gen == s->db_gen && replaced) {
		s->db_gen++;
		s->repos_stale += s->repos_open;
		s->repos_open = 0;
		s->repos_opening = 0;
		s->checks_due = 0; /* every repository asked is stale now */
		atomic_fetch_add(&s->m.db_reopens, 1);
		fprintf(stderr, "scli: serve: %s was replaced; reopening it\n", name);
		pthread_cond_broadcast(&s->wake);
		pthread_cond_broadcast(&s->repos_closed);
	} else if (w->gen == s->db_gen) {
		answer_round(s, w);
	}
	stale = w->gen != s->db_gen;
	pthread_mutex_unlock(&s->lock);
	if (stale)
		repo_drop(s, w);
}

/*
 * Open this worker's repository, once no repository of an older generation is
 * open, and once those open in the current one have each been asked whether
 * their database was replaced (a check round): only a repository can tell, and
 * a worker that has none must not open the new file beside the old. Those being
 * opened meanwhile are not asked: they open what the path names now.
 */
static int repo_open(server *s, worker_db *w)
{
	unsigned gen, round;
	int error;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->repos_stale > 0)
			pthread_cond_wait(&s->repos_closed, &s->lock);
		if (s->repos_open == s->repos_opening)
			break;
		if (s->checks_due == 0) { /* else join the round under way */
			s->check_round++;
			s->checks_due = s->repos_open - s->repos_opening;
			pthread_cond_broadcast(&s->wake);
		}
		gen = s->db_gen;
		round = s->check_round;
		while (s->checks_due > 0 && s->check_round == round && s->db_gen == gen)
			pthread_cond_wait(&s->repos_closed, &s->lock);
		if (s->db_gen == gen)
			break; /* none was replaced */
	}
	w->gen = s->db_gen;
	w->round = s->check_round;
	s->repos_open++;
	s->repos_opening++;
	pthread_mutex_unlock(&s->lock);
	error = cli_open_repo(&w->repo, s->url, false);
	pthread_mutex_lock(&s->lock);
	if (w->gen == s->db_gen) {
		s->repos_opening--;
		w->round = s->check_round; /* a round begun during the open did not count it */
	}
	if (error < 0)
		repo_gone(s, w);
	pthread_mutex_unlock(&s->lock);
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
int http_with_repo(server *s, worker_db *w, db_fn fn, void *ctx)
{
	int attempt, error = 0;

	check_replaced(s, w);
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

/* ---- the job queue and the worker threads ------------------------------------ */

/* Under s->lock: whether this worker's repository is stale (to be closed) or
 * has a check round to answer, before it takes another request. */
static bool must_ask(const server *s, const worker_db *w)
{
	return w->repo && (w->gen != s->db_gen || w->round != s->check_round);
}

/* A worker thread: takes requests off the queue until told to quit, with a
 * repository of its own that it opens when first needed and frees at the end;
 * woken too when the database was replaced, to close its repository, and when
 * another worker is about to open one, to ask it whether it was. */
void *http_worker_main(void *arg)
{
	server *s = arg;
	worker_db w = {0};
	request *req;

	for (;;) {
		bool ask;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->quit && !must_ask(s, &w))
			pthread_cond_wait(&s->wake, &s->lock);
		ask = must_ask(s, &w);
		req = ask ? NULL : s->head;
		if (req && !(s->head = req->next))
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		if (ask) {
			check_replaced(s, &w);
			continue;
		}
		if (!req)
			break;
		http_dispatch(&req->answer, s, &w, req);
		if (!req->answer.status)
			http_reply_error(&req->answer, 500, "internal error");
		/* from here on `req` belongs to MHD again */
		MHD_resume_connection(req->conn);
	}
	repo_drop(s, &w);
	return NULL;
}

void http_enqueue(server *s, request *req)
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

/* Tell the workers to finish the queue and stop; wait for them. */
void http_stop_workers(server *s, pthread_t *threads, int n)
{
	int i;

	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}
