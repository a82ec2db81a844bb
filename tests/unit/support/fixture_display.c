/* Helpers for the host-display and module tests: plans filled by hand from the fixture
 * tree, their steps and notes as text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bdf.h"
#include "facts/pcidev.h"
#include "plan/plan.h"
#include "steps/step.h"
#include "fakekernel.h"
#include "fixture_display.h"

void fxd_read(const char *bdf, struct pcidev *ret)
{
	struct bdf addr;

	if (bdf_parse(bdf, &addr) < 0 || pcidev_read(&addr, ret) < 0)
		fx_die("cannot read PCI device %s", bdf);
}

void fxd_plan(struct plan *p, const char *bdf, ...)
{
	va_list ap;

	plan_free(p);
	memset(p, 0, sizeof(*p));
	snprintf(p->vm, sizeof(p->vm), "win10");
	va_start(ap, bdf);
	for (const char *b = bdf; b; b = va_arg(ap, const char *)) {
		if (p->n_devs == PLAN_MAX_DEVS)
			fx_die("too many devices");
		fxd_read(b, &p->devs[p->n_devs++]);
	}
	va_end(ap);
}

const char *fxd_steps(const struct plan *p)
{
	static char buf[8192];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n_steps; i++) {
		char line[STEP_ARG_MAX + STEP_REC_MAX + 64];

		if (step_describe(&p->steps[i], line, sizeof(line)) < 0)
			fx_die("step %zu cannot be described", i);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n", line);
		if (len >= sizeof(buf))
			fx_die("too many steps");
	}
	return buf;
}

bool fxd_has_note(const struct plan *p, const char *text)
{
	for (size_t i = 0; i < p->n_notes; i++)
		if (strstr(p->notes[i], text))
			return true;
	fxd_dump(p);
	return false;
}

void fxd_dump(const struct plan *p)
{
	fprintf(stderr, "plan notes:\n");
	for (size_t i = 0; i < p->n_notes; i++)
		fprintf(stderr, "  - %s\n", p->notes[i]);
	fprintf(stderr, "plan steps:\n%s", fxd_steps(p));
}
