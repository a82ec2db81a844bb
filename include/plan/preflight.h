/* What check reports beyond the plan: what decides whether a passthrough works once the
 * devices are on vfio-pci. Each finding is one line: a level, a subject and one sentence. */
#ifndef VH_PLAN_PREFLIGHT_H
#define VH_PLAN_PREFLIGHT_H

#include <stddef.h>

#include "input/domxml.h"
#include "plan/plan.h"

enum pf_level { PF_OK, PF_WARN, PF_FAIL };

struct pf_line {
	enum pf_level level;
	char subject[48]; /* "reset 0000:01:00.0", "interrupt remapping" */
	char text[512];	  /* one sentence */
};

struct preflight {
	struct pf_line *lines; /* malloc'ed */
	size_t n, cap;
};

/* "ok", "warn", "FAIL". */
const char *preflight_level_name(enum pf_level level);

/* Appends a line; a line that cannot be stored (out of memory) is dropped. */
void preflight_add(struct preflight *pf, enum pf_level level, const char *subject, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* The host's facts: interrupt remapping and the IOMMU mode. */
void preflight_host(struct preflight *pf);

/*
 * For each device the plan hands over: its reset methods (and who shares a bus reset), the
 * AMD reset bug and vendor-reset; the ROM files the domain names; the host display going
 * dark; the domain's firmware and, for NVIDIA GPUs, the features older guest drivers need.
 */
void preflight_vm(struct preflight *pf, const char *vm, const struct plan *p,
		  const struct domxml *dom);

/* The domain's part of preflight_vm (plan/preflight_domain.c): its ROM files, the host
 * display, its firmware and the NVIDIA features. */
void preflight_domain(struct preflight *pf, const char *vm, const struct plan *p,
		      const struct domxml *dom);

size_t preflight_count(const struct preflight *pf, enum pf_level level);
void preflight_free(struct preflight *pf);

#endif
