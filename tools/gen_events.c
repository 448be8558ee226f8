/*
 * scli-gen: a deterministic generator of synthetic usage events shaped like the
 * real data (a few heavy customers and a long tail, random order, some
 * duplicates, some odd transaction ids). Same arguments, same bytes: the
 * samples in data/ and the benchmarks are reproducible.
 *
 *   scli-gen [--rows N] [--seed S] [--customers K] [--days D]
 *            [--start YYYY-MM-DD] [--dup-permille P] [--header]
 *
 * Output: CSV on stdout, customer_id,event_type,transaction_id,timestamp, with
 * timestamps spelled as in the real data (`2021-03-01 04:01:07.45+00`).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/timestamp.h"

static uint64_t rng_state;

/* splitmix64: tiny, fast, and the same on every platform */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
	return rng_next() % n;
}

static void uuid_from(char out[37], uint64_t a, uint64_t b)
{
	snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
		 a >> 32, (a >> 16) & 0xffff, a & 0xfff, (b >> 48 & 0x3fff) | 0x8000,
		 b & UINT64_C(0xffffffffffff));
}

/* Real-data spelling: space separator, 0-3 fraction digits, +00. */
static void format_real(char *out, size_t outsz, int64_t us)
{
	int64_t days = us / SCLI_US_PER_DAY, rem = us % SCLI_US_PER_DAY;
	int64_t y, ms;
	unsigned m, d;
	int n;

	if (rem < 0) {
		rem += SCLI_US_PER_DAY;
		days--;
	}
	scli_civil_from_days(&y, &m, &d, days);
	n = snprintf(out, outsz, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", y, m, d,
		     (int)(rem / SCLI_US_PER_HOUR), (int)(rem / 60000000 % 60),
		     (int)(rem / 1000000 % 60));
	ms = rem / 1000 % 1000;
	if (ms) {
		n += snprintf(out + n, outsz - (size_t)n, ".%03" PRId64, ms);
		while (out[n - 1] == '0') /* the real data drops trailing zeros */
			out[--n] = '\0';
	}
	snprintf(out + n, outsz - (size_t)n, "+00");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"rows", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {"customers", required_argument, NULL, 'c'},
					     {"days", required_argument, NULL, 'd'},
					     {"start", required_argument, NULL, 't'},
					     {"dup-permille", required_argument, NULL, 'p'},
					     {"header", no_argument, NULL, 'H'},
					     {0}};
	uint64_t rows = 10000, seed = 1, customers = 7, days = 3, dup_permille = 10, i;
	const char *start_text = "2021-03-01";
	int64_t start;
	int header = 0, c;
	char(*ids)[33];
	double *cum, total = 0;
	uint64_t *recent;
	char uuid[37], ts[40];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			rows = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			customers = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			days = strtoull(optarg, NULL, 10);
			break;
		case 't':
			start_text = optarg;
			break;
		case 'p':
			dup_permille = strtoull(optarg, NULL, 10);
			break;
		case 'H':
			header = 1;
			break;
		default:
			fprintf(stderr,
				"usage: scli-gen [--rows N] [--seed S] [--customers K] "
				"[--days D] [--start DATE] [--dup-permille P] [--header]\n");
			return 2;
		}
	}
	if (customers == 0 || days == 0 ||
	    scli_timestamp_parse(&start, start_text, strlen(start_text), NULL) < 0) {
		fprintf(stderr, "scli-gen: bad --customers, --days or --start\n");
		return 2;
	}
	rng_state = seed;
	ids = malloc(customers * sizeof(*ids));
	cum = malloc(customers * sizeof(*cum));
	recent = calloc(customers, sizeof(*recent));
	if (!ids || !cum || !recent)
		return 1;
	/* a Zipf-like share: customer k gets weight 1/(k+1)^2, so one dominates */
	for (i = 0; i < customers; i++) {
		uint64_t a = rng_next(), b = rng_next();

		snprintf(ids[i], 33, "%016" PRIx64 "%016" PRIx64, a, b);
		total += 1.0 / (double)((i + 1) * (i + 1));
		cum[i] = total;
	}
	if (header)
		fputs("customer_id,event_type,transaction_id,timestamp\n", stdout);
	for (i = 0; i < rows; i++) {
		double u = (double)(rng_next() >> 11) / 9007199254740992.0 * total;
		uint64_t k = 0, kind = rng_below(1000);
		int64_t us =
		    start + (int64_t)rng_below(days * (uint64_t)SCLI_US_PER_DAY / 1000) * 1000;

		while (k + 1 < customers && cum[k] < u)
			k++;
		if (kind < dup_permille && recent[k]) {
			/* a duplicate: same customer, a transaction id seen before */
			uint64_t prev = recent[k];

			uuid_from(uuid, prev, prev * 31 + 7);
		} else {
			uint64_t a = rng_next();

			uuid_from(uuid, a, a * 31 + 7);
			recent[k] = a;
		}
		format_real(ts, sizeof(ts), us);
		if (kind >= 995) /* odd ids, as in the real data: a date with a space, a number */
			printf("%s,%s,%s %06" PRIu64 ",%s\n", ids[k], "INGEST", ts, i % 1000000,
			       ts);
		else
			printf("%s,%s,%s,%s\n", ids[k], kind % 3 ? "INGEST" : "QUERY", uuid, ts);
	}
	free(ids);
	free(cum);
	free(recent);
	return fflush(stdout) ? 1 : 0;
}
