/* The plan: discovery (read-only) of what a VM's hand-off needs, safety checks, and the
 * ordered list of steps. Nothing is changed while a plan is built. */
#ifndef VH_PLAN_H
#define VH_PLAN_H

#include <stdio.h>

#include "base/names.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "input/domxml.h"
#include "steps/step.h"

#define PLAN_MAX_GROUPS 32
#define PLAN_MAX_DEVS 64

struct plan {
	char vm[VM_NAME_MAX + 1];
	struct pcidev devs[PLAN_MAX_DEVS]; /* endpoints handed over, sorted */
	size_t n_devs;
	struct pcidev bridges[PLAN_MAX_DEVS]; /* bridges in those groups (left alone) */
	size_t n_bridges;
	int groups[PLAN_MAX_GROUPS];
	size_t n_groups;
	bool host_display;   /* host-display mode applies */
	char notes[16][256]; /* evidence and decisions, printed by plan */
	size_t n_notes;
	struct step *steps; /* malloc'ed */
	size_t n_steps, cap_steps;
};

/*
 * Builds the plan for vm from its config and domain XML: the requested devices (from the
 * XML hostdevs or the config's list), their whole IOMMU groups, group rules, host-need
 * checks, then the steps. Refusals return negative with a reason naming the device.
 */
int plan_build(const char *vm, const struct vm_config *cfg, const struct domxml *dom,
	       struct plan *ret);
void plan_free(struct plan *p);

/* Appends a copy of s, refused (with a reason) when the journal could not read it back:
 * release could not undo it. */
int plan_add_step(struct plan *p, const struct step *s);
/* step_init() and a record field's copy, with a reason when they do not fit. */
int plan_step_init(struct step *s, enum step_kind kind, const char *arg);
int plan_step_text(char *field, size_t n, const char *text);
void plan_note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints devices, groups, notes and numbered steps. */
void plan_print(const struct plan *p, FILE *out);

/* The host-display part (plan/display.c): decides whether host-display mode applies (with its
 * evidence as notes) and appends stop-unit, end-holders, unbind-vtcon, unbind-fb steps. */
int plan_host_display(struct plan *p, const struct vm_config *cfg);
/* The module part (plan/modules.c): appends unload-module steps per cfg->unload. */
int plan_unload_modules(struct plan *p, const struct vm_config *cfg);

/* Whether a handed group holds something the host needs (plan/checks.c). */
int plan_check_host_needs(const struct plan *p);
/* Refuses group (asked for through device asked) when its members hold a function of the
 * chipset itself (host, ISA/LPC bridge, SMBus, IOMMU, ...), naming each with its class. */
int plan_check_chipset(int group, const char *asked, const struct pcidev *members, size_t n);

#endif
