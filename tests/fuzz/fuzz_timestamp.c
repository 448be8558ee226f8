/*
 * libFuzzer target: the timestamp parser on arbitrary bytes. A text that parses
 * must lie in SCLI_TIMESTAMP_MIN..MAX and survive format → parse unchanged; a
 * text that does not must say why. The first 8 bytes, read as a double, also go
 * through scli_timestamp_from_unix_seconds (the JSON numeric form).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/error.h"
#include "scli/timestamp.h"

#include "fuzz.h"

static void check_value(int64_t us, const char *what, const uint8_t *data, size_t size)
{
	char buf[SCLI_TIMESTAMP_BUFSZ];
	int64_t again = 0;
	const char *why = NULL;
	size_t n;

	FUZZ_CHECK(us >= SCLI_TIMESTAMP_MIN && us <= SCLI_TIMESTAMP_MAX, data, size,
		   "%s gave %lld, outside SCLI_TIMESTAMP_MIN..MAX", what, (long long)us);
	n = scli_timestamp_format(buf, us);
	FUZZ_CHECK(n < sizeof(buf) && strlen(buf) == n, data, size,
		   "format of %lld wrote %zu bytes", (long long)us, n);
	FUZZ_CHECK(scli_timestamp_parse(&again, buf, n, &why) == 0, data, size,
		   "%s gave %lld, formatted \"%s\", which does not parse: %s", what, (long long)us,
		   buf, why ? why : "(no reason)");
	FUZZ_CHECK(again == us, data, size, "%s gave %lld, formatted \"%s\", parsed back as %lld",
		   what, (long long)us, buf, (long long)again);
	FUZZ_CHECK(scli_hour_floor(us) <= us && us - scli_hour_floor(us) < SCLI_US_PER_HOUR &&
		       scli_hour_floor(us) % SCLI_US_PER_HOUR == 0,
		   data, size, "hour_floor(%lld) = %lld", (long long)us,
		   (long long)scli_hour_floor(us));
	FUZZ_CHECK(scli_hour_ceil(us) >= us && scli_hour_ceil(us) - us < SCLI_US_PER_HOUR &&
		       scli_hour_ceil(us) % SCLI_US_PER_HOUR == 0,
		   data, size, "hour_ceil(%lld) = %lld", (long long)us,
		   (long long)scli_hour_ceil(us));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int64_t sentinel = INT64_C(0x5ca1ab1e);
	int64_t us = sentinel;
	const char *why = NULL;
	double seconds = 0;
	int error;

	error = scli_timestamp_parse(&us, (const char *)data, size, &why);
	if (error == 0) {
		check_value(us, "parse", data, size);
	} else {
		FUZZ_CHECK(error == SCLI_EINVALID, data, size, "parse returned %d", error);
		FUZZ_CHECK(why && *why, data, size, "parse failed without a reason");
		FUZZ_CHECK(us == sentinel, data, size, "parse failed but wrote *out");
	}

	memcpy(&seconds, data, size < sizeof(seconds) ? size : sizeof(seconds));
	why = NULL;
	us = sentinel;
	error = scli_timestamp_from_unix_seconds(&us, seconds, &why);
	if (error == 0)
		check_value(us, "from_unix_seconds", data, size);
	else
		FUZZ_CHECK(error == SCLI_EINVALID && why && *why, data, size,
			   "from_unix_seconds(%.17g) returned %d without a reason", seconds, error);
	return 0;
}
