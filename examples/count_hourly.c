/*
 * count_hourly: one customer's events per UTC hour, through libscli's public
 * API only (what `scli count --customer` prints, in a program of your own).
 *
 *   count_hourly DATABASE_URL CUSTOMER FROM TO
 *   count_hourly sqlite:events.db b4f9279a0196e40632e947dd1a88e857 \
 *       2021-03-01T04:00:00Z 2021-03-01T06:30:00Z
 *
 * prints one line per hour of [FROM, TO), "2021-03-01T04:00:00Z 408". Build:
 *   cc count_hourly.c $(pkg-config --cflags --libs scli) -o count_hourly
 */
#include <stdio.h>
#include <string.h>

#include "scli/error.h"
#include "scli/repository.h"
#include "scli/service.h"
#include "scli/timestamp.h"

static int parse_time(int64_t *out, const char *what, const char *text)
{
	const char *why = NULL;

	if (scli_timestamp_parse(out, text, strlen(text), &why) < 0) {
		fprintf(stderr, "count_hourly: %s \"%s\": %s\n", what, text, why);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	scli_repo *repo = NULL;
	scli_count_result *res = NULL;
	int64_t from, to;
	size_t i;
	int status = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: count_hourly DATABASE_URL CUSTOMER FROM TO\n");
		return 2;
	}
	if (parse_time(&from, "FROM", argv[3]) < 0 || parse_time(&to, "TO", argv[4]) < 0)
		return 2;

	/* The URL picks the database (sqlite:PATH, postgresql://...); no adapter is named. */
	if (scli_repo_open(&repo, argv[1], NULL) < 0 || scli_service_check_schema(repo) < 0 ||
	    scli_service_count(&res, repo, argv[2], from, to) < 0) {
		fprintf(stderr, "count_hourly: %s\n", scli_error_last());
		goto done;
	}

	/* One series: the customer asked for, with a count for every hour, zeros included. */
	for (i = 0; res->ncustomers == 1 && i < res->nbuckets; i++) {
		char start[SCLI_TIMESTAMP_BUFSZ];

		scli_timestamp_format(start, scli_count_result_bucket_start(res, i));
		printf("%s %lld\n", start, (long long)res->customers[0].counts[i]);
	}
	status = 0;
done:
	scli_count_result_free(res);
	scli_repo_free(repo);
	return status;
}
