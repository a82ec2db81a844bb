/* The host display: whether a handed device drives it (and the evidence), and the check
 * at the end of release that the console and the display manager came back. Planning
 * (plan_host_display) is declared in plan.h. */
#ifndef VH_DISPLAY_H
#define VH_DISPLAY_H

#include <stddef.h>

#include "config.h"
#include "journal.h"
#include "pcidev.h"

/*
 * Whether dev drives the host's display: boot_vga = 1, the frame buffer console on a
 * framebuffer of dev, or a connected output of its DRM card. 1 with the evidence in buf
 * ("boot_vga=1, frame buffer console on fb0, connected card0-HDMI-A-1"), 0 when none
 * (buf then says what was looked at).
 */
int display_evidence(const struct pcidev *dev, char *buf, size_t n);

/*
 * After release: when the journal stopped units or unbound a frame buffer console,
 * checks that a frame buffer console is bound again and those units are active, waiting
 * up to cfg's timeout for each. Whatever is not is logged as an error saying what to do.
 * 0 when all is back, -EIO otherwise. cfg may be NULL (defaults).
 */
int display_verify_restored(const struct journal_data *d, const struct vm_config *cfg);

#endif
