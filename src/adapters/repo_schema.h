/* Shared by the repository adapters (private to src/adapters): what a stored
 * schema version means for this build, in the same words for every database. */
#ifndef SCLI_ADAPTERS_REPO_SCHEMA_H
#define SCLI_ADAPTERS_REPO_SCHEMA_H

/* 0 when `version` is this build's (SCLI_SCHEMA_VERSION); SCLI_ESCHEMA otherwise, its
 * message saying what to do: none (0) or older, run `scli init-db`; newer, upgrade scli. */
int repo_schema_check_version(int version);

/* SCLI_ESCHEMA: `version` is newer than this build understands (init-db refuses it). */
int repo_schema_too_new(int version);

#endif
