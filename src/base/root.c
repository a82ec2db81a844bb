/* The root prefix every path goes through: "/" on a real host, a fixture tree in tests.
 * Only libc: the hook's fast path links this without the engine's libraries. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/root.h"
#include "base/util.h"

static char root[VH_PATH_MAX] = "/";

int root_set(const char *r)
{
	size_t len;

	if (!r || !*r)
		r = "/";
	if (strlcpy_chk(root, r, sizeof(root)) < 0)
		return -ENAMETOOLONG;
	/* "/tmp/x/" and "/tmp/x" are the same root; "/" stays "/". */
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		root[--len] = '\0';
	return 0;
}

const char *root_get(void)
{
	return root;
}

bool root_is_real(void)
{
	return strcmp(root, "/") == 0;
}

int path_join(char *buf, size_t n, const char *fmt, ...)
{
	char rel[VH_PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(rel))
		return -ENAMETOOLONG;
	if (root_is_real())
		return strlcpy_chk(buf, rel, n);
	return snprintf_chk(buf, n, "%s%s%s", root, rel[0] == '/' ? "" : "/", rel);
}
