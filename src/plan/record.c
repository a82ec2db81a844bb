/* The plan as a record: its steps (each checked against what the journal accepts), its
 * notes, and its printed form. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/util.h"
#include "facts/pcidev.h"
#include "plan/plan.h"
#include "steps/step.h"

int plan_step_init(struct step *s, enum step_kind kind, const char *arg)
{
	if (step_init(s, kind, arg) < 0)
		return reason_set(-ENAMETOOLONG, "step argument too long: %s", arg);
	return 0;
}

int plan_step_text(char *field, size_t n, const char *text)
{
	if (strlcpy_chk(field, text, n) < 0)
		return reason_set(-ENAMETOOLONG, "step record too long: %s", text);
	return 0;
}

int plan_add_step(struct plan *p, const struct step *step)
{
	char rec[STEP_REC_MAX];
	struct step *s;

	if (p->n_steps == p->cap_steps) {
		size_t cap = p->cap_steps ? p->cap_steps * 2 : 16;
		struct step *tmp = realloc(p->steps, cap * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		p->steps = tmp;
		p->cap_steps = cap;
	}
	s = &p->steps[p->n_steps];
	*s = *step;
	if (step_rec_format(s, rec, sizeof(rec)) < 0)
		return reason_set(-ENAMETOOLONG, "step record too long: %s", s->arg);
	/* What the journal would refuse to read back must not be done: release could not
	 * undo it. */
	if (!step_valid(s)) {
		char line[STEP_ARG_MAX + STEP_REC_MAX + 64];

		if (step_describe(s, line, sizeof(line)) < 0)
			snprintf(line, sizeof(line), "%s", s->arg);
		return reason_set(-EINVAL,
				  "cannot plan '%s': a name in it is outside what "
				  "the journal accepts",
				  line);
	}
	p->n_steps++;
	return 0;
}

void plan_note(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->n_notes >= ARRAY_SIZE(p->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->n_notes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

void plan_free(struct plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n_steps = p->cap_steps = 0;
}

void plan_print(const struct plan *p, FILE *out)
{
	/* Names from pci.ids and sysfs, the VM's from libvirt: escaped (base/escape.h). */
	fprintf(out, "VM %s: %zu device(s) to hand over", ESC(p->vm), p->n_devs);
	for (size_t i = 0; i < p->n_groups; i++)
		fprintf(out, "%s%d", i ? ", " : " in IOMMU group ", p->groups[i]);
	fputc('\n', out);
	/* Named from pci.ids here, where they are printed (plan_build() leaves hex ids). */
	for (size_t i = 0; i < p->n_devs; i++) {
		struct pcidev d = p->devs[i];

		pcidev_name(&d);
		fprintf(out, "  %s  %s [%04x]: %s [%04x:%04x]  driver: %s\n", ESC(d.name),
			ESC(d.class_desc), d.class >> 8, ESC(d.desc), d.vendor, d.device,
			d.driver[0] ? ESC(d.driver) : "none");
	}
	for (size_t i = 0; i < p->n_bridges; i++) {
		struct pcidev b = p->bridges[i];

		pcidev_name(&b);
		fprintf(out, "  %s  %s: stays on %s (bridges may)\n", ESC(b.name),
			ESC(b.class_desc), b.driver[0] ? ESC(b.driver) : "no driver");
	}
	if (p->n_notes) {
		fprintf(out, "notes:\n");
		for (size_t i = 0; i < p->n_notes; i++)
			fprintf(out, "  - %s\n", ESC(p->notes[i]));
	}
	fprintf(out, "steps:\n");
	if (!p->n_steps)
		fprintf(out, "  (none)\n");
	for (size_t i = 0; i < p->n_steps; i++) {
		char line[STEP_ARG_MAX + STEP_REC_MAX + 64];

		if (step_describe(&p->steps[i], line, sizeof(line)) < 0)
			snprintf(line, sizeof(line), "?");
		fprintf(out, "  %2zu. %s\n", i + 1, ESC(line));
	}
}
