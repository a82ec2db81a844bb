/* The firmware's boot framebuffer (efi-, simple- or vesa-framebuffer platform device) and
 * the unbind-fb step. Rebinding it on release is best effort: on real hardware it often
 * fails, and the GPU driver's own fbdev takes the console back anyway. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "framebuffers.h"
#include "log.h"
#include "step.h"
#include "sysfs.h"
#include "util.h"

static const char *const boot_fbs[] = {
    "efi-framebuffer",
    "simple-framebuffer",
    "vesa-framebuffer",
    /* Linux 6.12's name for the legacy VGA one (SeaBIOS); 6.1: platform-framebuffer. */
    "vga-framebuffer",
};

bool framebuffers_is_boot_fb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(boot_fbs); i++) {
		size_t len = strlen(boot_fbs[i]);

		if (strncmp(name, boot_fbs[i], len) == 0 && name[len] == '.')
			return true;
	}
	return false;
}

/* The driver of platform device name into buf ("" when unbound). -ENOENT when the
 * device is gone. */
static int fb_driver(const char *name, char *buf, size_t n)
{
	return device_driver("platform", name, buf, n);
}

static int fb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct platform_fb *)a)->name, ((const struct platform_fb *)b)->name);
}

int framebuffers_bound(struct platform_fb *ret, size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/platform/devices");
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d) {
		if (errno == ENOENT) {
			*ret_n = 0;
			return 0;
		}
		return -errno;
	}
	while ((e = readdir(d)) && n < max) {
		if (!framebuffers_is_boot_fb(e->d_name))
			continue;
		if (strlcpy_chk(ret[n].name, e->d_name, sizeof(ret[n].name)) < 0)
			continue;
		if (fb_driver(e->d_name, ret[n].driver, sizeof(ret[n].driver)) < 0 ||
		    !ret[n].driver[0])
			continue;
		n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, sizeof(*ret), fb_cmp);
	*ret_n = n;
	return 0;
}

struct fb_wait {
	const char *name;
	bool bound;
};

static int fb_reached(void *data)
{
	struct fb_wait *w = data;
	char drv[64];
	int r = fb_driver(w->name, drv, sizeof(drv));

	/* Gone counts as unbound: the device may be unregistered rather than unbound. */
	if (r == -ENOENT)
		return !w->bound;
	if (r < 0)
		return r;
	return (drv[0] != '\0') == w->bound;
}

/* --- unbind-fb P DRIVER --- */

static int unbind_fb_apply(const struct step *s, const struct step_env *env)
{
	struct fb_wait w = {s->arg, false};
	char drv[64], p[VH_PATH_MAX];
	int r;

	r = fb_driver(s->arg, drv, sizeof(drv));
	if (r == -ENOENT || (r == 0 && !drv[0])) {
		log_info("%s is gone or unbound already; nothing to unbind", s->arg);
		return 0;
	}
	if (r < 0)
		return reason_set(r, "cannot read the driver of %s: %s", s->arg, strerror(-r));
	log_info("unbinding %s from %s", s->arg, drv);
	r = path_join(p, sizeof(p), "/sys/bus/platform/drivers/%s/unbind", drv);
	if (r < 0)
		return reason_set(r, "path too long for %s", s->arg);
	r = kernel_write(p, s->arg, step_timeout_ms(env));
	if (r == 0)
		r = wait_until(fb_reached, &w, step_timeout_ms(env));
	if (r < 0)
		return reason_set(r, "cannot unbind boot framebuffer %s from %s: %s", s->arg, drv,
				  strerror(-r));
	return 0;
}

static int unbind_fb_undo(const struct step *s, const struct step_env *env)
{
	struct fb_wait w = {s->arg, true};
	char drv[64], p[VH_PATH_MAX];
	int r;

	r = fb_driver(s->arg, drv, sizeof(drv));
	if (r == -ENOENT) {
		log_info("%s is gone (the GPU driver replaced it); nothing to bind", s->arg);
		return 0;
	}
	if (r < 0) {
		log_warn("cannot read the driver of %s, ignoring: %s", s->arg, strerror(-r));
		return 0;
	}
	if (drv[0])
		return 0;
	if (!s->rec[0]) {
		log_warn("%s: no driver recorded; left unbound", s->arg);
		return 0;
	}
	log_info("binding %s to %s", s->arg, s->rec);
	r = path_join(p, sizeof(p), "/sys/bus/platform/drivers/%s/bind", s->rec);
	if (r == 0)
		r = kernel_write(p, s->arg, step_timeout_ms(env));
	if (r == 0)
		r = wait_until(fb_reached, &w, step_timeout_ms(env));
	/* Known to fail on real hardware once a native driver owned the GPU; that driver's
	 * own framebuffer brings the console back, which release verifies. */
	if (r < 0)
		log_warn("cannot bind %s to %s again, ignoring: %s", s->arg, s->rec, strerror(-r));
	return 0;
}

const struct step_ops step_ops_unbind_fb = {
    .name = "unbind-fb",
    .apply = unbind_fb_apply,
    .undo = unbind_fb_undo,
};
