/*
 * `scli serve`: the database side. A queue of suspended requests that a pool
 * of worker threads serves, each worker with a repository of its own
 * (repositories are not thread-safe), opened on first use, dropped after a
 * failure that may be the connection's and retried once on a fresh one; and,
 * for SQLite, a file replaced under the server (a restore) noticed and every
 * repository of the old file closed before the new one opens.
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_internal.h"

/* ---- one repository per worker thread ------------------------------------------ */

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
int http_with_repo(server *s, worker_db *w, db_fn fn, void *ctx)
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

/* ---- the job queue and the worker threads ------------------------------------ */

/* A worker thread: takes requests off the queue until told to quit, with a
 * repository of its own that it opens when first needed and frees at the end;
 * woken too when the SQLite file was replaced, to close its repository. */
void *http_worker_main(void *arg)
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
