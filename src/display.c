/* Host-display mode: whether a handed GPU drives the host's display (and on what
 * evidence), the steps that free it — display manager and helper units, holders,
 * frame buffer consoles, boot framebuffer — and the check that release brought it back. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consoles.h"
#include "display.h"
#include "framebuffers.h"
#include "holders.h"
#include "log.h"
#include "plan.h"
#include "spawn.h"
#include "sysfs.h"
#include "units.h"
#include "util.h"

static bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Appends ", text" (or "text" first) to buf. */
static void add_item(char *buf, size_t n, const char *text)
{
	size_t len = strlen(buf);

	if (len + 1 < n)
		snprintf(buf + len, n - len, "%s%s", len ? ", " : "", text);
}

/* The lowest-numbered framebuffer of the host: fbcon maps every console to it unless told
 * otherwise. -1 when there is none. */
static int first_fb(void)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int best = -1;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/class/graphics") < 0)
		return -1;
	d = opendir(p);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *end;
		long i;

		if (!str_has_prefix(e->d_name, "fb"))
			continue;
		i = strtol(e->d_name + 2, &end, 10);
		if (end != e->d_name + 2 && !*end && i >= 0 && (best < 0 || i < best))
			best = (int)i;
	}
	closedir(d);
	return best;
}

/* Evidence: the frame buffer console sits on a framebuffer of the device. */
static void fbcon_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX], item[64];
	int first = first_fb(), r;
	struct dirent *e;
	DIR *d;

	r = consoles_fb_bound();
	if (r <= 0)
		return;
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/graphics", dev->name) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long i;

		if (!str_has_prefix(e->d_name, "fb"))
			continue;
		i = strtol(e->d_name + 2, &end, 10);
		if (end == e->d_name + 2 || *end)
			continue;
		/* With no class listing, fb0 is where fbcon starts. */
		if (i == (first >= 0 ? first : 0)) {
			snprintf(item, sizeof(item), "frame buffer console on fb%ld", i);
			add_item(buf, n, item);
			break;
		}
	}
	closedir(d);
}

/* Evidence: connected outputs of the device's DRM cards (drm/cardN/cardN-NAME/status). */
static void connector_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX], card[VH_PATH_MAX], st[32], item[300];
	struct dirent *e, *c;
	DIR *d, *cd;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/drm", dev->name) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!str_has_prefix(e->d_name, "card") || strchr(e->d_name, '-') ||
		    snprintf_chk(card, sizeof(card), "%s/%s", p, e->d_name) < 0)
			continue;
		cd = opendir(card);
		if (!cd)
			continue;
		while ((c = readdir(cd))) {
			char sp[VH_PATH_MAX];

			if (!str_has_prefix(c->d_name, e->d_name) ||
			    c->d_name[strlen(e->d_name)] != '-' ||
			    snprintf_chk(sp, sizeof(sp), "%s/%s/status", card, c->d_name) < 0 ||
			    attr_read(sp, st, sizeof(st)) < 0 || strcmp(st, "connected") != 0)
				continue;
			snprintf(item, sizeof(item), "connected %s", c->d_name);
			add_item(buf, n, item);
		}
		closedir(cd);
	}
	closedir(d);
}

int display_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	buf[0] = '\0';
	if (dev->boot_vga == 1)
		add_item(buf, n, "boot_vga=1");
	fbcon_evidence(dev, buf, n);
	connector_evidence(dev, buf, n);
	if (buf[0])
		return 1;
	snprintf(buf, n, "boot_vga=%d, no frame buffer console on it, no connected output",
		 dev->boot_vga);
	return 0;
}

/* How many display-class PCI devices the host has (for hosts without boot_vga). */
static int count_displays(void)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices") < 0)
		return 0;
	d = opendir(p);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char cp[VH_PATH_MAX];
		long cls;

		if (e->d_name[0] == '.' ||
		    path_join(cp, sizeof(cp), "/sys/bus/pci/devices/%s/class", e->d_name) < 0 ||
		    attr_read_long(cp, &cls) < 0)
			continue;
		if ((cls >> 16) == 0x03)
			n++;
	}
	closedir(d);
	return n;
}

/* Whether the firmware's boot framebuffer is on a handed device: it lives in the boot
 * GPU's memory. Without boot_vga, a host with a single display device has it there. */
static bool boot_fb_handed(const struct plan *p)
{
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (!pcidev_is_display(d))
			continue;
		if (d->boot_vga == 1 || (d->boot_vga < 0 && count_displays() == 1))
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
	if (!suffix || !str_has_suffix(target, suffix) || !unit_name_ok(target))
		return;
	strlcpy_chk(buf, target, n);
}

/* A unit step when the unit is active now; a note otherwise. The step names the real
 * unit, so logs and the release check say "gdm3.service", with the alias recorded. */
static int plan_unit(struct plan *p, const char *unit, const char *what)
{
	char real[128];
	int r;

	if (!unit_name_ok(unit))
		return reason_set(-EINVAL, "invalid unit name '%s'", unit);
	unit_resolve(unit, real, sizeof(real));
	r = unit_is_active(real);
	if (r < 0)
		return r;
	if (!r) {
		plan_note(p, "%s %s is not active: not stopped", what, unit);
		return 0;
	}
	return plan_add_step(p, STEP_STOP_UNIT, real, strcmp(real, unit) ? unit : "");
}

/* end-holders for dev when it has device nodes; the nodes go into the record (shown in
 * plan output; apply looks again). */
static int plan_holders(struct plan *p, const struct pcidev *dev)
{
	struct devnode nodes[HOLDERS_MAX_NODES];
	char rec[STEP_REC_MAX] = "";
	size_t n;
	int r;

	r = holders_nodes(dev->name, nodes, ARRAY_SIZE(nodes), &n);
	if (r < 0)
		return reason_set(r, "device %s: cannot list its device nodes: %s", dev->name,
				  strerror(-r));
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(rec);

		if (len + strlen(nodes[i].path) + 5 >= sizeof(rec)) {
			snprintf(rec + len, sizeof(rec) - len, " ...");
			break;
		}
		snprintf(rec + len, sizeof(rec) - len, "%s%s", len ? " " : "", nodes[i].path);
	}
	return plan_add_step(p, STEP_END_HOLDERS, dev->name, rec);
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
		r = plan_add_step(p, STEP_UNBIND_VTCON, arg, cons[i].name);
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
		r = plan_add_step(p, STEP_UNBIND_FB, fbs[i].name, fbs[i].driver);
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

/* --- after release --- */

static int fb_console_bound(void *data)
{
	int r = consoles_fb_bound();

	return r < 0 ? 0 : r;
}

int display_verify_restored(const struct journal_data *d, const struct vm_config *cfg)
{
	int timeout = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	bool had_vtcon = false, had_reason = reason_get()[0] != '\0';
	int problems = 0;

	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].kind == STEP_UNBIND_VTCON)
			had_vtcon = true;
	/* fbcon binds by itself once the GPU driver's framebuffer is back: give it until the
	 * deadline. */
	if (had_vtcon && wait_until(fb_console_bound, NULL, timeout) < 0) {
		log_err("VM '%s': no frame buffer console is bound after release: the host "
			"console did not come back; check that the GPU driver loaded (dmesg), "
			"then bind it with 'echo 1 > /sys/class/vtconsole/vtconN/bind' for the "
			"vtcon whose name says frame buffer",
			d->vm);
		problems++;
	}
	for (size_t i = 0; i < d->n_steps; i++) {
		const char *unit = d->steps[i].arg;
		int r;

		if (d->steps[i].kind != STEP_STOP_UNIT)
			continue;
		r = unit_is_active(unit);
		if (r > 0)
			continue;
		log_err("VM '%s': %s is not active after release%s%s; start it with "
			"'systemctl start %s' (see 'journalctl -u %s')",
			d->vm, unit, r < 0 ? ": " : "", r < 0 ? reason_get() : "", unit, unit);
		problems++;
	}
	/* The checks' own failures are logged above; they are not the cause of anything. */
	if (!had_reason)
		reason_clear();
	return problems ? -EIO : 0;
}
