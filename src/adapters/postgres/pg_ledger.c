/*
 * The PostgreSQL repository's load ledger (scli_loads): each change is its own
 * committed statement, never part of a batch's transaction. Text going in is
 * made well-formed UTF-8; text coming out is cut to the record's buffers.
 */
#include <assert.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/postgres/pg_internal.h"
#include "scli/timestamp.h"

/* Times leave the server as exact microseconds (extract gives numeric since
 * PostgreSQL 14); a running load has no end time, reported as 0. */
#define LOAD_COLUMNS                                                                               \
	"id, source, size, hash, state, (extract(epoch FROM started) * 1000000)::int8,"            \
	" coalesce((extract(epoch FROM ended) * 1000000)::int8, 0), rows_read, inserted,"          \
	" duplicates, rejected, error, collector"

static const char ledger_begin_sql[] =
    "INSERT INTO scli_loads (source, size, hash, state, started, collector)"
    " VALUES ($1, $2::int8, $3, 'running', $4::timestamptz, $5) RETURNING id";

static const char ledger_finish_sql[] =
    "UPDATE scli_loads SET state = $2, ended = $3::timestamptz, rows_read = $4::int8,"
    " inserted = $5::int8, duplicates = $6::int8, rejected = $7::int8, error = $8"
    " WHERE id = $1::int8";

static const char ledger_find_sql[] = "SELECT " LOAD_COLUMNS " FROM scli_loads"
				      " WHERE hash = $1 AND collector = $2 AND state = 'completed'"
				      " ORDER BY id DESC LIMIT 1";

static const char ledger_list_sql[] =
    "SELECT " LOAD_COLUMNS " FROM scli_loads ORDER BY id DESC LIMIT $1::int8";

static int load_state_parse(scli_load_state *out, const char *name)
{
	if (scli_load_state_parse(out, name) < 0)
		return scli_error_set(SCLI_ERROR, "postgres: unknown load state \"%s\"",
				      name ? name : "(null)");
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p[0..n), as PostgreSQL checks it
 * (no overlongs, surrogates or code points past U+10FFFF); 0 when ill-formed. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* A record's string field (at most cap - 1 bytes, NUL or not) as a text
 * parameter. The server refuses ill-formed UTF-8, and a file name or an error
 * message cut at a fixed length may well hold some: each such byte becomes
 * '?', so the load is recorded rather than lost. `dst` holds `cap` bytes. */
static const char *text_param(char *dst, const char *field, size_t cap)
{
	const unsigned char *src = (const unsigned char *)field;
	size_t n = strnlen(field, cap - 1), i = 0, len;

	while (i < n) {
		if ((len = utf8_sequence(src + i, n - i)) == 0) {
			dst[i++] = '?';
			continue;
		}
		memcpy(dst + i, src + i, len);
		i += len;
	}
	dst[n] = '\0';
	return dst;
}

/* Copy a text value into a record's fixed buffer of `cap` bytes. Someone
 * else's writer may have stored more than fits: cut it, and not inside a UTF-8
 * character, so the record still holds whole characters. */
static void copy_value(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	const char *src = PQgetvalue(res, row, col);
	size_t len = (size_t)PQgetlength(res, row, col);

	if (len > cap - 1) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Row `row` of a LOAD_COLUMNS query. */
static int read_load(scli_load_record *rec, const PGresult *res, int row)
{
	memset(rec, 0, sizeof(*rec));
	rec->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	copy_value(rec->source, sizeof(rec->source), res, row, 1);
	rec->size = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	copy_value(rec->hash, sizeof(rec->hash), res, row, 3);
	rec->started_us = strtoll(PQgetvalue(res, row, 5), NULL, 10);
	rec->ended_us = strtoll(PQgetvalue(res, row, 6), NULL, 10);
	rec->rows_read = strtoull(PQgetvalue(res, row, 7), NULL, 10);
	rec->inserted = strtoull(PQgetvalue(res, row, 8), NULL, 10);
	rec->duplicates = strtoull(PQgetvalue(res, row, 9), NULL, 10);
	rec->rejected = strtoull(PQgetvalue(res, row, 10), NULL, 10);
	copy_value(rec->error, sizeof(rec->error), res, row, 11);
	copy_value(rec->collector, sizeof(rec->collector), res, row, 12);
	return load_state_parse(&rec->state, PQgetvalue(res, row, 4));
}

/* The ledger commits each change on its own, never inside a batch's transaction
 * (a macro, as it is only used in asserts). */
#define NO_OPEN_TRANSACTION(conn)                                                                  \
	(PQtransactionStatus(conn) != PQTRANS_INTRANS &&                                           \
	 PQtransactionStatus(conn) != PQTRANS_INERROR)

int pg_repo_ledger_begin(int64_t *id_out, scli_repo *base, const scli_load_record *rec)
{
	pg_repo *r = (pg_repo *)base;
	char source[sizeof(rec->source)], hash[sizeof(rec->hash)], size[24];
	char started[SCLI_TIMESTAMP_BUFSZ], collector[sizeof(rec->collector)];
	const char *params[5];
	PGresult *res;
	int error = 0;

	*id_out = 0;
	assert(NO_OPEN_TRANSACTION(r->conn));
	snprintf(size, sizeof(size), "%" PRId64, rec->size);
	scli_timestamp_format(started, rec->started_us);
	params[0] = text_param(source, rec->source, sizeof(source));
	params[1] = size;
	params[2] = text_param(hash, rec->hash, sizeof(hash));
	params[3] = started;
	params[4] = text_param(collector, rec->collector, sizeof(collector));
	/* No BEGIN: one statement in autocommit is its own committed transaction. */
	res = PQexecParams(r->conn, ledger_begin_sql, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		error = pg_repo_fail(r, res, "recording the start of a load");
	else
		*id_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return error;
}

int pg_repo_ledger_finish(scli_repo *base, const scli_load_record *rec)
{
	pg_repo *r = (pg_repo *)base;
	char id[24], figures[4][24], ended[SCLI_TIMESTAMP_BUFSZ], why[sizeof(rec->error)];
	const char *params[8];
	PGresult *res;
	int error = 0;

	assert(NO_OPEN_TRANSACTION(r->conn));
	snprintf(id, sizeof(id), "%" PRId64, rec->id);
	snprintf(figures[0], sizeof(figures[0]), "%" PRIu64, rec->rows_read);
	snprintf(figures[1], sizeof(figures[1]), "%" PRIu64, rec->inserted);
	snprintf(figures[2], sizeof(figures[2]), "%" PRIu64, rec->duplicates);
	snprintf(figures[3], sizeof(figures[3]), "%" PRIu64, rec->rejected);
	params[0] = id;
	params[1] = scli_load_state_name(rec->state);
	/* 0 means "no end time" in the record, NULL in the table */
	params[2] = NULL;
	if (rec->ended_us) {
		scli_timestamp_format(ended, rec->ended_us);
		params[2] = ended;
	}
	params[3] = figures[0];
	params[4] = figures[1];
	params[5] = figures[2];
	params[6] = figures[3];
	params[7] = text_param(why, rec->error, sizeof(why));
	res = PQexecParams(r->conn, ledger_finish_sql, 8, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pg_repo_fail(r, res, "recording the end of a load");
	else if (strcmp(PQcmdTuples(res), "1"))
		error = scli_error_set(SCLI_ENOTFOUND, "no load with id %" PRId64, rec->id);
	PQclear(res);
	return error;
}

int pg_repo_ledger_find_completed(scli_load_record *rec_out, scli_repo *base, const char *hash,
				  const char *collector)
{
	pg_repo *r = (pg_repo *)base;
	const char *params[2] = {hash, collector};
	PGresult *res;
	int error;

	res = PQexecParams(r->conn, ledger_find_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pg_repo_fail(r, res, "looking up a load");
	else if (PQntuples(res) == 0)
		error = scli_error_set(SCLI_ENOTFOUND, "no completed load with that hash");
	else
		error = read_load(rec_out, res, 0);
	PQclear(res);
	return error;
}

int pg_repo_ledger_list(scli_repo *base, size_t limit, scli_load_record_cb cb, void *ctx)
{
	pg_repo *r = (pg_repo *)base;
	char limit_text[24];
	const char *params[1] = {limit_text};
	scli_load_record rec;
	PGresult *res;
	int error = 0, i, rows;

	snprintf(limit_text, sizeof(limit_text), "%" PRId64,
		 limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	res = PQexecParams(r->conn, ledger_list_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "listing loads");
		goto done;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++)
		if ((error = read_load(&rec, res, i)) < 0 || (error = cb(ctx, &rec)) < 0)
			goto done;
done:
	PQclear(res);
	return error;
}
