/* The host display: whether a handed device drives it, and the evidence. */
#ifndef VH_DISPLAY_H
#define VH_DISPLAY_H

#include <stddef.h>

#include "facts/pcidev.h"

/*
 * Whether dev drives the host's display: boot_vga = 1, the frame buffer console on a
 * framebuffer of dev, or a connected output of its DRM card. 1 with the evidence in buf
 * ("boot_vga=1, frame buffer console on fb0, connected card0-HDMI-A-1"), 0 when none
 * (buf then says what was looked at).
 */
int display_evidence(const struct pcidev *dev, char *buf, size_t n);

/* How many display-class (0x03) PCI devices the host has. */
int display_count(void);

#endif
