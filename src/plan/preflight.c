/* check's findings beyond the plan (plan/preflight.h): per device handed over, what
 * decides whether the passthrough works after vfio-pci has it: reset and the AMD reset bug;
 * the host's interrupt remapping and IOMMU mode. The domain's part is preflight_domain.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bdf.h"
#include "base/util.h"
#include "facts/hostfacts.h"
#include "facts/modules.h"
#include "facts/pcidev.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "plan/preflight.h"

#define VENDOR_AMD 0x1002

/*
 * AMD GPUs that do not come back from a reset (the "AMD reset bug"), and the family
 * vendor-reset handles them as: the ids of vendor-reset's src/device-db.h
 * (https://github.com/gnif/vendor-reset, commit 084881c6e9e1, April 2024).
 */
static const struct {
	const char *family;
	uint16_t ids[16];
} amd_reset_bug[] = {
    {"Polaris 10",
     {0x67c0, 0x67c1, 0x67c2, 0x67c4, 0x67c7, 0x67d0, 0x67df, 0x67c8, 0x67c9, 0x67ca, 0x67cc,
      0x67cf, 0x6fdf}},
    {"Polaris 11", {0x67e0, 0x67e3, 0x67e8, 0x67eb, 0x67ef, 0x67ff, 0x67e1, 0x67e7, 0x67e9}},
    {"Polaris 12", {0x6980, 0x6981, 0x6985, 0x6986, 0x6987, 0x6995, 0x6997, 0x699f}},
    {"Vega 10",
     {0x6860, 0x6861, 0x6862, 0x6863, 0x6864, 0x6867, 0x6868, 0x6869, 0x686a, 0x686b, 0x686c,
      0x686d, 0x686e, 0x686f, 0x687f}},
    {"Vega 20", {0x66a0, 0x66a1, 0x66a2, 0x66a3, 0x66a4, 0x66a7, 0x66af}},
    {"Arcturus (Instinct MI100)", {0x738c}},
    {"Navi 10", {0x7310, 0x7312, 0x7318, 0x7319, 0x731a, 0x731b, 0x731e, 0x731f}},
    {"Navi 14", {0x7340, 0x7341, 0x7347, 0x734f}},
    {"Navi 12", {0x7360, 0x7362}},
};

const char *preflight_level_name(enum pf_level level)
{
	switch (level) {
	case PF_OK:
		return "ok";
	case PF_WARN:
		return "warn";
	case PF_FAIL:
		return "FAIL";
	}
	return "?";
}

void preflight_add(struct preflight *pf, enum pf_level level, const char *subject, const char *fmt,
		   ...)
{
	struct pf_line *l;
	va_list ap;

	if (pf->n == pf->cap) {
		size_t ncap = pf->cap ? pf->cap * 2 : 16;
		struct pf_line *tmp = realloc(pf->lines, ncap * sizeof(*tmp));

		if (!tmp)
			return;
		pf->lines = tmp;
		pf->cap = ncap;
	}
	l = &pf->lines[pf->n++];
	l->level = level;
	snprintf(l->subject, sizeof(l->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
}

size_t preflight_count(const struct preflight *pf, enum pf_level level)
{
	size_t n = 0;

	for (size_t i = 0; i < pf->n; i++)
		n += pf->lines[i].level == level;
	return n;
}

void preflight_free(struct preflight *pf)
{
	free(pf->lines);
	*pf = (struct preflight){0};
}

void preflight_host(struct preflight *pf)
{
	struct iommu_facts f;
	const char *sub = "interrupt remapping";

	hostfacts_iommu(&f);
	switch (f.ir) {
	case IR_ON:
		preflight_add(pf, PF_OK, sub, "on: %s", f.ir_evidence);
		break;
	case IR_OFF:
		/* vfio_iommu_type1 refuses a group whose MSIs are not isolated. */
		if (f.unsafe_interrupts)
			preflight_add(pf, PF_OK, sub,
				      "off (%s); vfio_iommu_type1 allow_unsafe_interrupts=Y lets "
				      "devices attach anyway",
				      f.ir_evidence);
		else
			preflight_add(pf, PF_WARN, sub,
				      "off (%s): vfio_iommu_type1 refuses the devices unless "
				      "loaded with allow_unsafe_interrupts=1",
				      f.ir_evidence);
		break;
	case IR_UNKNOWN:
		preflight_add(pf, PF_OK, sub, "cannot tell whether it is on (%s)", f.ir_evidence);
		break;
	}
	sub = "IOMMU mode";
	if (f.passthrough || strcmp(f.domain_type, "identity") == 0)
		preflight_add(pf, PF_OK, sub,
			      "passthrough (%s%s%s%s): host devices bypass translation, devices "
			      "handed to a VM are translated all the same",
			      f.cmdline[0] ? f.cmdline : "",
			      f.cmdline[0] && f.domain_type[0] ? "; " : "",
			      f.domain_type[0] ? "default domain " : "", f.domain_type);
	else if (f.domain_type[0])
		preflight_add(pf, PF_OK, sub, "translated (default domain %s%s%s)", f.domain_type,
			      f.cmdline[0] ? "; " : "", f.cmdline);
	else
		preflight_add(pf, PF_OK, sub, "unknown (no group type%s%s)",
			      f.cmdline[0] ? "; " : "", f.cmdline);
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *s = list; (s = strstr(s, word)); s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == '\0' || s[n] == ' '))
			return true;
	return false;
}

/* Whether every method listed resets the whole bus ("bus", "cxl_bus"). */
static bool only_bus_reset(const char *methods)
{
	char buf[128], *save = NULL;
	bool any = false;

	snprintf(buf, sizeof(buf), "%s", methods);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (strcmp(w, "bus") != 0 && strcmp(w, "cxl_bus") != 0)
			return false;
		any = true;
	}
	return any;
}

static bool handed(const struct plan *p, const struct bdf *a)
{
	for (size_t i = 0; i < p->n_devs; i++)
		if (bdf_equal(&p->devs[i].addr, a))
			return true;
	/* Bridges of the handed groups stay on their driver; vfio-pci's hot reset accepts
	 * them, as they belong to groups the VM owns. */
	for (size_t i = 0; i < p->n_bridges; i++)
		if (bdf_equal(&p->bridges[i].addr, a))
			return true;
	return false;
}

/* The devices a bus reset of dev also resets that stay on the host, listed into buf. */
static size_t host_bus_peers(const struct plan *p, const struct pcidev *dev, char *buf, size_t n)
{
	struct bdf peers[32];
	size_t np = 0, host = 0;

	buf[0] = '\0';
	if (hostfacts_bus_peers(&dev->addr, peers, ARRAY_SIZE(peers), &np) < 0)
		return 0;
	for (size_t i = 0; i < np && i < ARRAY_SIZE(peers); i++) {
		char a[BDF_STRLEN];
		size_t len = strlen(buf);

		if (handed(p, &peers[i]))
			continue;
		if (host++ < 4)
			snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
				 bdf_fmt(&peers[i], a));
	}
	if (host > 4) {
		size_t len = strlen(buf);

		snprintf(buf + len, n - len, " and %zu more", host - 4);
	}
	return host;
}

static void check_reset(struct preflight *pf, const struct plan *p, const struct pcidev *dev,
			char *methods, size_t n)
{
	char sub[48], peers[160];
	bool has_reset = false;
	int r;

	snprintf(sub, sizeof(sub), "reset %s", dev->name);
	r = hostfacts_reset_methods(&dev->addr, methods, n, &has_reset);
	if (r == -ENOENT && has_reset) {
		preflight_add(pf, PF_OK, sub,
			      "the kernel can reset it (it has no reset_method, before Linux 5.15, "
			      "to say how)");
		return;
	}
	if (r < 0 && r != -ENOENT) {
		preflight_add(pf, PF_WARN, sub, "cannot read its reset_method: %s", strerror(-r));
		return;
	}
	if (!methods[0]) {
		preflight_add(pf, PF_WARN, sub,
			      "no reset method: the device keeps its state from one VM start to "
			      "the next, and a guest may find it hung after a restart");
		return;
	}
	if (!only_bus_reset(methods)) {
		preflight_add(pf, PF_OK, sub, "reset methods: %s", methods);
		return;
	}
	if (host_bus_peers(p, dev, peers, sizeof(peers)))
		preflight_add(pf, PF_WARN, sub,
			      "only a bus reset, and it would also reset %s, which stays on the "
			      "host: vfio-pci cannot reset the device between VM starts",
			      peers);
	else
		preflight_add(pf, PF_OK, sub,
			      "bus reset only (%s); nothing that stays on the host shares the bus",
			      methods);
}

static const char *amd_reset_bug_family(const struct pcidev *dev)
{
	if (dev->vendor != VENDOR_AMD)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(amd_reset_bug); i++)
		for (size_t k = 0; k < ARRAY_SIZE(amd_reset_bug[i].ids) && amd_reset_bug[i].ids[k];
		     k++)
			if (amd_reset_bug[i].ids[k] == dev->device)
				return amd_reset_bug[i].family;
	return NULL;
}

static void check_amd_reset_bug(struct preflight *pf, const struct pcidev *dev, const char *methods)
{
	const char *family = amd_reset_bug_family(dev);
	char sub[48];

	if (!family)
		return;
	snprintf(sub, sizeof(sub), "AMD reset bug %s", dev->name);
	if (module_state_of("vendor_reset") == MODULE_ABSENT)
		preflight_add(pf, PF_WARN, sub,
			      "AMD %s [1002:%04x] does not come back from a VM stop without the "
			      "vendor-reset module (github.com/gnif/vendor-reset), which is not "
			      "loaded: load it at boot, before the GPU is first reset",
			      family, dev->device);
	/* Since Linux 5.15 the kernel uses vendor-reset's hook only when reset_method lists
	 * device_specific (vendor-reset's udev rule writes it). */
	else if (methods[0] && !has_word(methods, "device_specific"))
		preflight_add(pf, PF_WARN, sub,
			      "vendor-reset is loaded, but reset_method (%s) does not list "
			      "device_specific, so the kernel does not use it: write "
			      "device_specific to its reset_method",
			      methods);
	else
		preflight_add(pf, PF_OK, sub,
			      "AMD %s [1002:%04x] needs vendor-reset to come back from a VM stop, "
			      "and it is loaded",
			      family, dev->device);
}

void preflight_vm(struct preflight *pf, const char *vm, const struct plan *p,
		  const struct domxml *dom)
{
	for (size_t i = 0; i < p->n_devs; i++) {
		char methods[128] = "";

		check_reset(pf, p, &p->devs[i], methods, sizeof(methods));
		check_amd_reset_bug(pf, &p->devs[i], methods);
	}
	preflight_domain(pf, vm, p, dom);
}
