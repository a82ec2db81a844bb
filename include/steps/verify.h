/* The check at the end of release that the host console and the units came back. */
#ifndef VH_STEPS_VERIFY_H
#define VH_STEPS_VERIFY_H

#include "input/config.h"
#include "steps/journal.h"

/*
 * After release: when the journal stopped units or unbound a frame buffer console,
 * checks that a frame buffer console is bound again and those units are active, waiting
 * up to cfg's timeout for each. Whatever is not is logged as an error saying what to do.
 * 0 when all is back, -EIO otherwise. cfg may be NULL (defaults).
 */
int display_verify_restored(const struct journal_data *d, const struct vm_config *cfg);

#endif
