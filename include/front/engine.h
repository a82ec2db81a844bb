/* The engine: prepare, release, recover and status, shared by the hook and the command. */
#ifndef VH_ENGINE_H
#define VH_ENGINE_H

#include <stdbool.h>
#include <stdio.h>

#include "input/config.h"
#include "input/domxml.h"

/*
 * Plans and, unless dry_run, applies the hand-off: lock, refuse devices owned by another
 * VM, journal each step before applying it, and on failure at step k undo k-1..1 and
 * remove the journal. The plan is printed to plan_out when not NULL.
 * 0 or negative with reason_get() naming the cause.
 */
int engine_prepare(const char *vm, const struct vm_config *cfg, const struct domxml *dom,
		   bool dry_run, FILE *plan_out);

/* Undoes vm's journal in reverse. Steps that could not be undone stay in the journal.
 * Returns 0 when everything was undone (or there was nothing), -EIO otherwise; the
 * problems are logged. No journal: 0. */
int engine_release(const char *vm);

/* Recovers one VM (vm != NULL) or every VM with a journal. */
int engine_recover(const char *vm);

/* Prints who holds what, from the journals. */
int engine_status(FILE *out);

#endif
