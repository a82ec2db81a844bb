/* Planning: the requested devices, their whole IOMMU groups, group rules and safety
 * checks, then the ordered steps. Reads only; nothing changes here. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/names.h"
#include "base/util.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "steps/step.h"

static bool addr_in(const struct bdf *a, const struct bdf *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bdf_equal(a, &list[i]))
			return true;
	return false;
}

static bool dev_in(const struct bdf *a, const struct pcidev *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bdf_equal(a, &list[i].addr))
			return true;
	return false;
}

/* The addresses the VM asks for: its hostdevs, or the config's list. */
static int requested(const struct vm_config *cfg, const struct domxml *dom, struct bdf *ret,
		     size_t max, size_t *ret_n)
{
	size_t n = 0;

	if (cfg->devices == CFG_DEVICES_LIST) {
		for (size_t i = 0; i < cfg->n_devices && n < max; i++)
			ret[n++] = cfg->device_list[i];
	} else if (dom) {
		for (size_t i = 0; i < dom->n_hostdevs; i++) {
			if (addr_in(&dom->hostdevs[i].addr, ret, n))
				continue;
			if (n == max)
				return reason_set(-E2BIG, "too many hostdevs (more than %zu)", max);
			ret[n++] = dom->hostdevs[i].addr;
		}
	}
	*ret_n = n;
	return 0;
}

/* How the domain names a requested address: "hostdev", "interface hostdev", "nvme disk". */
static const char *requested_as(const struct vm_config *cfg, const struct domxml *dom,
				const struct bdf *a)
{
	if (cfg->devices != CFG_DEVICES_LIST && dom)
		for (size_t i = 0; i < dom->n_hostdevs; i++)
			if (bdf_equal(a, &dom->hostdevs[i].addr))
				return domxml_kind_name(dom->hostdevs[i].kind);
	return "hostdev";
}

static int dev_sort(const void *a, const void *b)
{
	return bdf_cmp(&((const struct pcidev *)a)->addr, &((const struct pcidev *)b)->addr);
}

static int add_group(struct plan *p, const struct vm_config *cfg, const struct pcidev *asked,
		     const struct bdf *req, size_t n_req)
{
	struct pcidev *members = NULL;
	char missing[512] = "";
	size_t n = 0;
	int group, r;

	r = pcidev_group(&asked->addr, &group, &members, &n);
	if (r == -ENOENT)
		return reason_set(-ENODEV,
				  "device %s has no IOMMU group: is the IOMMU enabled "
				  "(intel_iommu=on or amd_iommu=on, and VT-d/AMD-Vi in the "
				  "firmware)?",
				  asked->name);
	if (r < 0)
		return reason_set(r, "device %s: cannot read its IOMMU group: %s", asked->name,
				  strerror(-r));
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == group)
			goto out;
	if (p->n_groups == PLAN_MAX_GROUPS) {
		r = reason_set(-E2BIG, "too many IOMMU groups");
		goto out;
	}
	p->groups[p->n_groups++] = group;
	r = plan_check_chipset(group, asked->name, members, n);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct pcidev *m = &members[i];

		if (m->bridge) {
			if (p->n_bridges < PLAN_MAX_DEVS)
				p->bridges[p->n_bridges++] = *m;
			continue;
		}
		if (cfg->group == CFG_GROUP_STRICT && !addr_in(&m->addr, req, n_req)) {
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? ", " : "",
				 m->name);
			continue;
		}
		if (dev_in(&m->addr, p->devs, p->n_devs))
			continue;
		if (p->n_devs == PLAN_MAX_DEVS) {
			r = reason_set(-E2BIG, "too many devices in the hand-off");
			goto out;
		}
		p->devs[p->n_devs++] = *m;
	}
	if (missing[0]) {
		r = reason_set(-EPERM,
			       "VM '%s': IOMMU group %d is not complete: %s %s not in the "
			       "domain XML (group = strict hands over whole groups only)",
			       p->vm, group, missing, strchr(missing, ',') ? "are" : "is");
		goto out;
	}
	plan_note(p, "IOMMU group %d: %zu member(s) found from %s", group, n, asked->name);
out:
	free(members);
	return r;
}

static int device_steps(struct plan *p, const struct vm_config *cfg)
{
	const char *opts = cfg->vfio_options;
	struct step s;
	size_t todo = 0;
	int r;

	for (size_t i = 0; i < p->n_devs; i++)
		if (strcmp(p->devs[i].driver, "vfio-pci") != 0)
			todo++;
	if (!todo) {
		if (p->n_devs)
			plan_note(p, "every device is already on vfio-pci");
		return 0;
	}
	if (!cfg->vfio_options_set && p->host_display)
		opts = "disable_vga=1";
	r = plan_step_init(&s, STEP_LOAD_MODULE, "vfio-pci");
	if (r == 0)
		r = plan_step_text(s.load_module.options, sizeof(s.load_module.options), opts);
	if (r == 0)
		r = plan_add_step(p, &s);
	if (r < 0)
		return r;
	/* Every override first, so no other driver grabs a function mid-sequence. */
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (strcmp(d->driver, "vfio-pci") == 0)
			continue;
		r = plan_step_init(&s, STEP_OVERRIDE, d->name);
		if (r == 0)
			r = plan_step_text(s.override.previous, sizeof(s.override.previous),
					   d->override);
		if (r == 0)
			r = plan_add_step(p, &s);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (!d->driver[0] || strcmp(d->driver, "vfio-pci") == 0)
			continue;
		r = plan_step_init(&s, STEP_UNBIND, d->name);
		if (r == 0)
			r = plan_step_text(s.unbind.driver, sizeof(s.unbind.driver), d->driver);
		if (r == 0)
			r = plan_add_step(p, &s);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (strcmp(d->driver, "vfio-pci") == 0)
			continue;
		r = plan_step_init(&s, STEP_BIND_VFIO, d->name);
		if (r == 0)
			r = plan_add_step(p, &s);
		if (r < 0)
			return r;
	}
	return 0;
}

int plan_build(const char *vm, const struct vm_config *cfg, const struct domxml *dom,
	       struct plan *ret)
{
	struct bdf req[PLAN_MAX_DEVS];
	struct pcidev asked[PLAN_MAX_DEVS];
	size_t n_req = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!name_vm_valid(vm))
		return reason_set(-EINVAL, "invalid VM name '%s'", vm);
	strlcpy_chk(ret->vm, vm, sizeof(ret->vm));

	r = requested(cfg, dom, req, ARRAY_SIZE(req), &n_req);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_req; i++) {
		char name[BDF_STRLEN];

		r = pcidev_read(&req[i], &asked[i]);
		if (r == -ENOENT)
			return reason_set(-ENODEV, "VM '%s': %s %s does not exist on this host", vm,
					  requested_as(cfg, dom, &req[i]), bdf_fmt(&req[i], name));
		if (r < 0)
			return reason_set(r, "VM '%s': cannot read device %s: %s", vm,
					  bdf_fmt(&req[i], name), strerror(-r));
		if (asked[i].bridge)
			return reason_set(-EINVAL,
					  "VM '%s': %s is a PCI bridge, not a device to "
					  "hand over",
					  vm, asked[i].name);
	}
	for (size_t i = 0; i < n_req; i++) {
		r = add_group(ret, cfg, &asked[i], req, cfg->group == CFG_GROUP_STRICT ? n_req : 0);
		if (r < 0)
			return r;
	}
	if (ret->n_devs)
		qsort(ret->devs, ret->n_devs, sizeof(ret->devs[0]), dev_sort);
	/* No pci.ids names here (libpci's name table is 2 MiB of heap): the hook's prepare
	 * prints nothing. plan_print() and the refusals name a device when they print it. */

	r = plan_check_host_needs(ret);
	if (r < 0)
		return r;
	if (!ret->n_devs) {
		plan_note(ret, "VM '%s' has no PCI hostdev: nothing to hand over", vm);
		return 0;
	}
	r = plan_host_display(ret, cfg);
	if (r < 0)
		return r;
	r = plan_unload_modules(ret, cfg);
	if (r < 0)
		return r;
	return device_steps(ret, cfg);
}
