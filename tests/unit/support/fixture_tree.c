/* Comparing the fixture tree after a hand-off with the tree before it: exactly, or but for
 * what a hand-off leaves by design. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fixture.h"

/* What a hand-off leaves by design: vfio-pci stays loaded (other VMs may use it) with its
 * driver directory and its attribute files, /dev/vfio/vfio, and the VM's opt-in file. Group
 * nodes, devices still on vfio-pci and overrides stay visible. */
static bool left_by_design(const char *line)
{
	static const char *const drv[] = {"bind",   "new_id", "remove_id",
					  "uevent", "unbind", "module"};
	const char *p;

	if (!strcmp(line, "d dev/vfio") || str_has_prefix(line, "f dev/vfio/vfio ") ||
	    !strcmp(line, "d sys/bus/pci/drivers/vfio-pci") ||
	    str_has_prefix(line, "d sys/module/vfio_pci") ||
	    str_has_prefix(line, "f sys/module/vfio_pci/") || !strcmp(line, "d etc/vfio-handoff") ||
	    !strcmp(line, "d etc/vfio-handoff/vm.d") ||
	    str_has_prefix(line, "f etc/vfio-handoff/vm.d/"))
		return true;
	if (strlen(line) < 2 || !str_has_prefix(line + 2, "sys/bus/pci/drivers/vfio-pci/"))
		return false;
	p = line + 2 + strlen("sys/bus/pci/drivers/vfio-pci/");
	for (size_t i = 0; i < sizeof(drv) / sizeof(drv[0]); i++)
		if (str_has_prefix(p, drv[i]) && (p[strlen(drv[i])] == ' ' || !p[strlen(drv[i])]))
			return true;
	return false;
}

static char *without_design(const char *snap)
{
	char *out = malloc(strlen(snap) + 1), *o = out;

	assert_non_null(out);
	for (const char *s = snap; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char line[8192];

		snprintf(line, sizeof(line), "%.*s", (int)len, s);
		if (!left_by_design(line)) {
			memcpy(o, s, len);
			o += len;
			*o++ = '\n';
		}
		s += len + (nl ? 1 : 0);
	}
	*o = '\0';
	return out;
}

int fx_diff_but_design(const char *before)
{
	char *after = fx_snapshot();
	char *a = without_design(before), *b = without_design(after);
	int r = fx_snapshot_diff(a, b);

	free(a);
	free(b);
	free(after);
	return r;
}

void fx_assert_same_but_design(const char *before)
{
	assert_int_equal(fx_diff_but_design(before), 0);
}

void fx_assert_same_tree(const char *before)
{
	char *after = fx_snapshot();

	if (strcmp(before, after) != 0)
		fx_snapshot_diff(before, after);
	assert_string_equal(before, after);
	free(after);
}
