/*
 * The one check of a count request, for every front end: each part in the
 * order a user meets it, the refused part named so that `scli count` and
 * `scli serve` only word it (`--from` or `from`).
 */
#include <string.h>

#include "count_internal.h"
#include "scli/alloc.h"
#include "scli/error.h"
#include "scli/timestamp.h"

int scli_count_refused(scli_count_problem *problem, scli_count_refusal what, const char *why,
		       int error)
{
	problem->what = what;
	problem->why = why;
	return error;
}

int scli_count_check_request(scli_count_problem *problem, scli_window **windows_out,
			     size_t *nwindows_out, const scli_count_request *req,
			     const size_t *customer_lens)
{
	scli_window *windows = NULL;
	const char *why = NULL;
	size_t i;
	int error;

	if (windows_out)
		*windows_out = NULL;
	*nwindows_out = 0;
	if (req->from_us > req->to_us)
		return scli_count_refused(problem, SCLI_COUNT_REVERSED, "from is after to",
					  scli_error_set(SCLI_EINVALID, "from is after to"));
	for (i = 0; i < req->n_customers; i++) {
		const char *id = req->customers[i];

		if (scli_field_validate(id, customer_lens ? customer_lens[i] : strlen(id),
					SCLI_CUSTOMER_ID_MAX, &why) < 0) {
			problem->which = i;
			return scli_count_refused(
			    problem, SCLI_COUNT_BAD_CUSTOMER, why,
			    scli_error_set(SCLI_EINVALID, "customer id %s", why));
		}
	}
	for (i = 0; i < req->n_event_types; i++) {
		const char *type = req->event_types[i];

		if (scli_field_validate(type, strlen(type), SCLI_EVENT_TYPE_MAX, &why) < 0) {
			problem->which = i;
			return scli_count_refused(
			    problem, SCLI_COUNT_BAD_EVENT_TYPE, why,
			    scli_error_set(SCLI_EINVALID, "event type %s", why));
		}
	}
	error = scli_window_list(&windows, nwindows_out, req->zone, req->window, req->from_us,
				 req->to_us, &why);
	if (error == SCLI_ERANGE || error == SCLI_EINVALID)
		return scli_count_refused(problem, SCLI_COUNT_TOO_WIDE, why,
					  scli_error_set(error, "%s", why));
	if (error < 0)
		return scli_error_set(error, "out of memory listing windows");
	if (windows_out)
		*windows_out = windows;
	else
		scli_free(windows);
	return 0;
}

/*
 * `text` as from or to in zone `z`: an instant, or a wall-clock time there. A
 * wall-clock time the zone's clock skips is refused naming the gap, apart
 * from a timestamp that does not parse.
 */
static int parse_bound(int64_t *out, scli_count_problem *p, bool is_from, const scli_zone *z,
		       const char *text)
{
	const char *name = is_from ? "from" : "to", *reason = NULL;
	size_t len = strlen(text);
	scli_timestamp_kind kind;
	scli_zone_gap gap;
	int64_t local, at;

	if (scli_timestamp_parse_wall(&local, &kind, text, len, &reason) == 0 &&
	    kind == SCLI_TIMESTAMP_WALL && scli_zone_local_to_instant(&at, &gap, z, local) < 0) {
		scli_zone_gap_describe(p->why_buf, sizeof(p->why_buf), z, local, &gap);
		return scli_count_refused(
		    p, is_from ? SCLI_COUNT_FROM_SKIPPED : SCLI_COUNT_TO_SKIPPED, p->why_buf,
		    scli_error_set(SCLI_EINVALID, "%s: %s", name, p->why_buf));
	}
	if (scli_zone_parse_time(out, p->why_buf, sizeof(p->why_buf), z, text, len) < 0)
		return scli_count_refused(
		    p, is_from ? SCLI_COUNT_BAD_FROM : SCLI_COUNT_BAD_TO, p->why_buf,
		    scli_error_set(SCLI_EINVALID, "%s: invalid timestamp: %s", name, p->why_buf));
	return 0;
}

/* The zone `in` names (UTC when none), through the front end's lookup. */
static int look_up_zone(const scli_zone **out, scli_count_problem *p, const scli_count_input *in)
{
	int error = in->zone_lookup(out, in->zone_ctx, in->tz ? in->tz : "UTC");

	if (error == SCLI_EINVALID)
		return scli_count_refused(p, SCLI_COUNT_UNKNOWN_ZONE, scli_error_last(), error);
	if (error < 0)
		return scli_count_refused(p, SCLI_COUNT_ZONE_FAILED, scli_error_last(), error);
	return 0;
}

int scli_service_count_request(scli_count_request *out, scli_count_problem *problem,
			       const scli_count_input *in)
{
	scli_count_request req = {0};
	size_t nwindows;
	int error;

	memset(out, 0, sizeof(*out));
	problem->what = SCLI_COUNT_ACCEPTED;
	problem->why = NULL;
	problem->which = 0;
	problem->why_buf[0] = '\0';
	if (!in->from || !in->to)
		return scli_count_refused(
		    problem, SCLI_COUNT_NO_RANGE, NULL,
		    scli_error_set(SCLI_EINVALID, "from and to are required"));
	if (in->window && scli_window_size_parse(&req.window, in->window) < 0)
		return scli_count_refused(
		    problem, SCLI_COUNT_BAD_WINDOW, "minute, hour, day or month",
		    scli_error_set(SCLI_EINVALID, "window must be minute, hour, day or month"));
	if (!in->window)
		req.window = SCLI_WINDOW_HOUR;
	if (in->group_by && strcmp(in->group_by, "event_type"))
		return scli_count_refused(
		    problem, SCLI_COUNT_BAD_GROUP_BY, "event_type",
		    scli_error_set(SCLI_EINVALID, "group_by can only be event_type"));
	req.by_event_type = in->group_by != NULL;
	if ((error = look_up_zone(&req.zone, problem, in)) < 0 ||
	    (error = parse_bound(&req.from_us, problem, true, req.zone, in->from)) < 0 ||
	    (error = parse_bound(&req.to_us, problem, false, req.zone, in->to)) < 0)
		return error;
	req.customers = in->n_customers ? in->customers : NULL;
	req.n_customers = in->n_customers;
	req.event_types = in->n_event_types ? in->event_types : NULL;
	req.n_event_types = in->n_event_types;
	if ((error = scli_count_check_request(problem, NULL, &nwindows, &req, in->customer_lens)) <
	    0)
		return error;
	*out = req;
	return 0;
}
