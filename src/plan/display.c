/* The host-display part of the plan: whether host-display mode applies (with its evidence
 * as notes), then the steps that free the display: display manager and helper units,
 * holders, frame buffer consoles, boot framebuffer. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "facts/display.h"
#include "facts/framebuffers.h"
#include "facts/holders.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "kernel/attr.h"
#include "kernel/spawn.h"
#include "kernel/units.h"
#include "plan/plan.h"
#include "steps/step.h"

/* Whether the firmware's boot framebuffer is on a handed device: it lives in the boot
 * GPU's memory. Without boot_vga, a host with a single display device has it there. */
static bool boot_fb_handed(const struct plan *p)
{
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (!pcidev_is_display(d))
			continue;
		if (d->boot_vga == 1 || (d->boot_vga < 0 && display_count() == 1))
			return true;
	}
	return false;
}

/* The unit an alias such as display-manager.service stands for, from the link that
 * enabling gdm3/sddm/lightdm creates in /etc/systemd/system; the unit itself otherwise.
 * The link is read, never followed: its target is not under the root prefix. */
static void unit_resolve(const char *unit, char *buf, size_t n)
{
	char p[VH_PATH_MAX], target[128];
	const char *suffix = strrchr(unit, '.');

	strlcpy_chk(buf, unit, n);
	if (path_join(p, sizeof(p), "/etc/systemd/system/%s", unit) < 0 ||
	    link_base(p, target, sizeof(target)) < 0)
		return;
	/* A masked unit links to /dev/null: keep the name. */
	if (!suffix || !str_has_suffix(target, suffix) || !name_unit_valid(target))
		return;
	strlcpy_chk(buf, target, n);
}

/* A unit step when the unit is active now; a note otherwise. The step names the real
 * unit, so logs and the release check say "gdm3.service", with the alias recorded. */
static int plan_unit(struct plan *p, const char *unit, const char *what)
{
	struct step s;
	char real[128];
	int r;

	if (!name_unit_valid(unit))
		return reason_set(-EINVAL, "invalid unit name '%s'", unit);
	unit_resolve(unit, real, sizeof(real));
	r = unit_is_active(real);
	if (r < 0)
		return r;
	if (!r) {
		plan_note(p, "%s %s is not active: not stopped", what, unit);
		return 0;
	}
	r = plan_step_init(&s, STEP_STOP_UNIT, real);
	if (r == 0 && strcmp(real, unit) != 0)
		r = plan_step_text(s.stop_unit.alias, sizeof(s.stop_unit.alias), unit);
	return r < 0 ? r : plan_add_step(p, &s);
}

/* end-holders for dev when it has device nodes; the nodes go into the record (shown in
 * plan output; apply looks again). */
static int plan_holders(struct plan *p, const struct pcidev *dev)
{
	struct devnode nodes[HOLDERS_MAX_NODES];
	struct step s;
	char *rec;
	size_t n;
	int r;

	r = holders_nodes(dev->name, nodes, ARRAY_SIZE(nodes), &n);
	if (r < 0)
		return reason_set(r, "device %s: cannot list its device nodes: %s", dev->name,
				  strerror(-r));
	if (!n)
		return 0;
	r = plan_step_init(&s, STEP_END_HOLDERS, dev->name);
	if (r < 0)
		return r;
	rec = s.end_holders.nodes;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(rec), size = sizeof(s.end_holders.nodes);

		if (len + strlen(nodes[i].path) + 5 >= size) {
			snprintf(rec + len, size - len, " ...");
			break;
		}
		snprintf(rec + len, size - len, "%s%s", len ? " " : "", nodes[i].path);
	}
	return plan_add_step(p, &s);
}

static bool systemctl_present(void)
{
	char path[VH_PATH_MAX];

	return spawn_find("systemctl", path, sizeof(path)) == 0;
}

static int plan_host_steps(struct plan *p, const struct vm_config *cfg)
{
	struct vtcon cons[CONSOLES_MAX];
	struct platform_fb fbs[FRAMEBUFFERS_MAX];
	struct step s;
	size_t n;
	int r;

	/* The display server first: consoles cannot be unbound while a VT is in graphics
	 * mode, and it holds the card. */
	if (cfg->display_manager[0] || cfg->n_helper_units) {
		if (!systemctl_present()) {
			plan_note(p, "systemctl not found: no unit is stopped (a display server "
				     "still running makes the holders step fail)");
		} else {
			if (cfg->display_manager[0]) {
				r = plan_unit(p, cfg->display_manager, "display manager");
				if (r < 0)
					return r;
			}
			for (size_t i = 0; i < cfg->n_helper_units; i++) {
				r = plan_unit(p, cfg->helper_units[i], "unit");
				if (r < 0)
					return r;
			}
		}
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		r = plan_holders(p, &p->devs[i]);
		if (r < 0)
			return r;
	}
	r = consoles_list(cons, ARRAY_SIZE(cons), &n);
	if (r < 0)
		return reason_set(r, "cannot read the virtual consoles: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		char arg[32];

		if (!vtcon_is_fb(&cons[i]) || !cons[i].bind)
			continue;
		snprintf(arg, sizeof(arg), "vtcon%d", cons[i].index);
		r = plan_step_init(&s, STEP_UNBIND_VTCON, arg);
		if (r == 0)
			r = plan_step_text(s.unbind_vtcon.name, sizeof(s.unbind_vtcon.name),
					   cons[i].name);
		if (r == 0)
			r = plan_add_step(p, &s);
		if (r < 0)
			return r;
	}
	r = framebuffers_bound(fbs, ARRAY_SIZE(fbs), &n);
	if (r < 0)
		return reason_set(r, "cannot read the platform devices: %s", strerror(-r));
	if (n && !boot_fb_handed(p)) {
		plan_note(p, "boot framebuffer %s stays: it is not on a handed device",
			  fbs[0].name);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		r = plan_step_init(&s, STEP_UNBIND_FB, fbs[i].name);
		if (r == 0)
			r = plan_step_text(s.unbind_fb.driver, sizeof(s.unbind_fb.driver),
					   fbs[i].driver);
		if (r == 0)
			r = plan_add_step(p, &s);
		if (r < 0)
			return r;
	}
	return 0;
}

int plan_host_display(struct plan *p, const struct vm_config *cfg)
{
	char ev[256], driving[BDF_STRLEN] = "";
	int r;

	p->host_display = false;
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (!pcidev_is_display(d))
			continue;
		if (display_evidence(d, ev, sizeof(ev)) > 0) {
			if (cfg->host_display != CFG_NO)
				plan_note(p, "host display on %s: %s", d->name, ev);
			if (!driving[0])
				strlcpy_chk(driving, d->name, sizeof(driving));
		} else if (cfg->host_display == CFG_AUTO) {
			plan_note(p, "%s does not drive the host display (%s)", d->name, ev);
		}
	}
	switch (cfg->host_display) {
	case CFG_NO:
		if (driving[0])
			plan_note(p,
				  "host-display = no: %s seems to drive the host display; the "
				  "display manager, consoles and framebuffers are left alone",
				  driving);
		break;
	case CFG_YES:
		p->host_display = true;
		plan_note(p, "host-display = yes: the host display is handed over");
		break;
	case CFG_AUTO:
		p->host_display = driving[0] != '\0';
		break;
	}
	if (p->host_display)
		return plan_host_steps(p, cfg);
	/* Outside host-display mode only nvidia needs its holders gone first: its remove
	 * blocks while /dev/nvidia* is open, which would hang the unbind. */
	for (size_t i = 0; i < p->n_devs; i++) {
		if (strcmp(p->devs[i].driver, "nvidia") != 0)
			continue;
		r = plan_holders(p, &p->devs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
