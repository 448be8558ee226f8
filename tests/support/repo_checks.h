/*
 * Test support for the adapter-specific repository suites: checks each adapter
 * runs after changing its database behind scli's back in its own way (a schema
 * of an older scli, a trigger that fails a batch, ledger text too long to keep).
 */
#ifndef SCLI_TEST_REPO_CHECKS_H
#define SCLI_TEST_REPO_CHECKS_H

#include "support/repo_factories.h"

/* A version-1 database (made by `downgrade` from the fixture's fresh one): refused
 * until init-db, then upgraded in place with its events and a working ledger. */
void upgrade_from_version_1(fixture *fx, void (*downgrade)(fixture *fx));

/* A version-2 database with one completed load (made by `downgrade`): upgraded
 * in place; the old row names no collector, so the file is read once more. */
void upgrade_from_version_2(fixture *fx, void (*downgrade)(fixture *fx));

/* With a trigger failing on transaction id "boom" installed: the batch fails and
 * leaves nothing, the ledger row written before it stays. */
void failed_batch_keeps_ledger_row(fixture *fx);

/* Ledger strings longer than a record holds (written by `overwrite`) come back
 * cut to whole UTF-8 characters. */
void overlong_strings_are_cut(fixture *fx, void (*overwrite)(fixture *fx));

#endif
