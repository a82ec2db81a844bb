/* Helpers for the host-display and module tests: plans filled by hand from the fixture
 * tree, their steps and notes as text. */
#ifndef VH_TEST_FIXTURE_DISPLAY_H
#define VH_TEST_FIXTURE_DISPLAY_H

#include <stdbool.h>

#include "facts/pcidev.h"
#include "plan/plan.h"

/* pcidev_read of bdf; fails the test when it cannot. */
void fxd_read(const char *bdf, struct pcidev *ret);
/* Resets p (freeing its steps) to VM "win10" handing over the listed devices
 * (NULL-terminated), read from the tree. */
void fxd_plan(struct plan *p, const char *bdf, ...) __attribute__((sentinel));
/* The steps, one "kind arg (rec)" line each (static buffer). */
const char *fxd_steps(const struct plan *p);
/* Whether some note contains text. */
bool fxd_has_note(const struct plan *p, const char *text);
/* Prints the notes to stderr (when a test fails, what the planner said). */
void fxd_dump(const struct plan *p);

#endif
