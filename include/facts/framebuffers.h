/* Boot framebuffers: the firmware's efi-/simple-/vesa-framebuffer platform devices that
 * sit on the boot GPU's memory, and the unbind-fb step. */
#ifndef VH_FRAMEBUFFERS_H
#define VH_FRAMEBUFFERS_H

#include <stdbool.h>
#include <stddef.h>

#define FRAMEBUFFERS_MAX 8

struct platform_fb {
	char name[64];	 /* "efi-framebuffer.0" */
	char driver[64]; /* "efi-framebuffer", "simple-framebuffer", "simpledrm", "vesafb" */
};

/* Whether a platform device name is a boot framebuffer ("efi-framebuffer.0"). */
bool framebuffers_is_boot_fb(const char *name);

/* The boot framebuffer platform devices that exist and are bound, sorted by name. */
int framebuffers_bound(struct platform_fb *ret, size_t max, size_t *ret_n);

#endif
