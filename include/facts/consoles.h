/* Virtual terminal consoles (/sys/class/vtconsole): the frame buffer console, found by
 * its name and never by index, and the unbind-vtcon step. */
#ifndef VH_CONSOLES_H
#define VH_CONSOLES_H

#include <stdbool.h>
#include <stddef.h>

#define CONSOLES_MAX 16

struct vtcon {
	int index;	/* N of vtconN */
	char name[128]; /* "(M) frame buffer device" */
	int bind;	/* 1 bound, 0 not */
};

/* The vtcons present, sorted by index. A missing vtconsole class is an empty list. */
/* Reads /sys/class/vtconsole/vtcon<index>. -ENOENT when there is none. */
int consoles_read(int index, struct vtcon *ret);

int consoles_list(struct vtcon *ret, size_t max, size_t *ret_n);

/* Whether the console is a frame buffer console (fbcon): by name. */
bool vtcon_is_fb(const struct vtcon *c);

/* 1 when some frame buffer console is bound, 0 when none is, -errno. */
int consoles_fb_bound(void);

#endif
