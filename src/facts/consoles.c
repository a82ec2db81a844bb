/* Virtual consoles: the vtcon list of /sys/class/vtconsole, and whether a frame buffer
 * console is bound. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/root.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "kernel/attr.h"

#define FB_CONSOLE_NAME "frame buffer"

int consoles_read(int index, struct vtcon *ret)
{
	char p[VH_PATH_MAX];
	long bind;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->index = index;
	r = path_join(p, sizeof(p), "/sys/class/vtconsole/vtcon%d/name", index);
	if (r < 0)
		return r;
	r = attr_read(p, ret->name, sizeof(ret->name));
	if (r < 0)
		return r;
	r = path_join(p, sizeof(p), "/sys/class/vtconsole/vtcon%d/bind", index);
	if (r < 0)
		return r;
	r = attr_read_long(p, &bind);
	if (r < 0)
		return r;
	ret->bind = bind ? 1 : 0;
	return 0;
}

static int vtcon_cmp(const void *a, const void *b)
{
	const struct vtcon *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int consoles_list(struct vtcon *ret, size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/class/vtconsole");
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d) {
		if (errno == ENOENT) {
			*ret_n = 0;
			return 0;
		}
		return -errno;
	}
	while ((e = readdir(d)) && n < max) {
		char *end;
		long idx;

		if (!str_has_prefix(e->d_name, "vtcon"))
			continue;
		idx = strtol(e->d_name + 5, &end, 10);
		if (end == e->d_name + 5 || *end || idx < 0 || idx > 63)
			continue;
		/* A console that vanishes while we read is not listed. */
		if (consoles_read((int)idx, &ret[n]) == 0)
			n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, sizeof(*ret), vtcon_cmp);
	*ret_n = n;
	return 0;
}

bool vtcon_is_fb(const struct vtcon *c)
{
	return strstr(c->name, FB_CONSOLE_NAME) != NULL;
}

int consoles_fb_bound(void)
{
	struct vtcon cons[CONSOLES_MAX];
	size_t n;
	int r;

	r = consoles_list(cons, ARRAY_SIZE(cons), &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (vtcon_is_fb(&cons[i]) && cons[i].bind)
			return 1;
	return 0;
}
