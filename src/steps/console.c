/* The unbind-vtcon step (frame buffer console off; undo binds it back and, on kernels
 * that need it, has fbcon take the framebuffer again) and the unbind-fb step (the boot
 * framebuffer's platform device; undo binds it back). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "kernel/attr.h"
#include "kernel/kernel.h"
#include "steps/step.h"

/*
 * The frame buffer console a step means: vtconN of its argument when that still is a
 * frame buffer console; else one named as recorded; else (want_bind given) any frame
 * buffer console whose bind differs from want_bind. 0 with *ret, or -ENOENT.
 */
static int find_console(const struct step *s, int want_bind, struct vtcon *ret)
{
	struct vtcon cons[CONSOLES_MAX];
	size_t n;
	int idx = -1, r;

	if (str_has_prefix(s->arg, "vtcon"))
		idx = atoi(s->arg + 5);
	r = consoles_list(cons, ARRAY_SIZE(cons), &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (cons[i].index == idx && vtcon_is_fb(&cons[i])) {
			*ret = cons[i];
			return 0;
		}
	for (size_t i = 0; i < n; i++)
		if (s->unbind_vtcon.name[0] && strcmp(cons[i].name, s->unbind_vtcon.name) == 0 &&
		    vtcon_is_fb(&cons[i])) {
			*ret = cons[i];
			return 0;
		}
	for (size_t i = 0; want_bind >= 0 && i < n; i++)
		if (vtcon_is_fb(&cons[i]) && cons[i].bind != want_bind) {
			*ret = cons[i];
			return 0;
		}
	return -ENOENT;
}

struct bind_wait {
	int index;
	int want;
};

static int bind_is(void *data)
{
	struct bind_wait *w = data;
	struct vtcon c;
	int r = consoles_read(w->index, &c);

	if (r < 0)
		return r;
	return c.bind == w->want;
}

static int set_bind(const struct vtcon *c, int bind, int timeout_ms)
{
	struct bind_wait w = {c->index, bind};
	char p[VH_PATH_MAX];
	int r;

	r = path_join(p, sizeof(p), "/sys/class/vtconsole/vtcon%d/bind", c->index);
	if (r < 0)
		return r;
	r = kernel_write(p, bind ? "1" : "0", timeout_ms);
	if (r < 0)
		return r;
	return wait_until(bind_is, &w, timeout_ms);
}

static int fb_console_bound(void *data)
{
	return consoles_fb_bound();
}

/* The lowest-numbered framebuffer registered now, or -ENOENT. */
static int first_framebuffer(void)
{
	char p[VH_PATH_MAX];

	for (int fb = 0; fb < 32; fb++) {
		if (path_join(p, sizeof(p), "/sys/class/graphics/fb%d", fb) < 0)
			return -ENAMETOOLONG;
		if (path_exists(p))
			return fb;
	}
	return -ENOENT;
}

static int fbcon_takeover(int timeout_ms)
{
	char dev[VH_PATH_MAX];
	int fb, r;

	fb = first_framebuffer();
	if (fb < 0)
		return fb;
	r = path_join(dev, sizeof(dev), "/dev/fb%d", fb);
	if (r < 0)
		return r;
	log_info("asking fbcon to take the consoles on fb%d", fb);
	r = kernel_fbcon_takeover(dev, fb);
	if (r < 0)
		return r;
	return wait_until(fb_console_bound, NULL, timeout_ms);
}

/* --- unbind-vtcon vtconN NAME --- */

static int unbind_vtcon_apply(const struct step *s, const struct step_env *env)
{
	struct vtcon c;
	int r;

	r = find_console(s, -1, &c);
	if (r == -ENOENT) {
		log_info("%s: no frame buffer console any more; nothing to unbind", s->arg);
		return 0;
	}
	if (r < 0)
		return reason_set(r, "cannot read the virtual consoles: %s", strerror(-r));
	if (!c.bind)
		return 0;
	log_info("unbinding vtcon%d (%s)", c.index, c.name);
	r = set_bind(&c, 0, step_timeout_ms(env));
	/* The kernel ignores the write while a VT is in graphics mode: the console then
	 * simply stays bound. */
	if (r == -EBUSY || r == -ETIMEDOUT)
		return reason_set(-EBUSY,
				  "vtcon%d (%s) stayed bound: a console is in graphics "
				  "mode (is a display server still running?)",
				  c.index, c.name);
	if (r < 0)
		return reason_set(r, "cannot unbind vtcon%d (%s): %s", c.index, c.name,
				  strerror(-r));
	return 0;
}

static int unbind_vtcon_undo(const struct step *s, const struct step_env *env)
{
	struct vtcon c;
	int r;

	r = find_console(s, 1, &c);
	if (r == -ENOENT) {
		/* fbcon goes with the last framebuffer and binds by itself when the GPU
		 * driver's framebuffer comes back; release checks that it did. */
		log_info("%s: no frame buffer console now; it binds by itself when a "
			 "framebuffer returns",
			 s->arg);
		return 0;
	}
	if (r < 0) {
		log_err("cannot read the virtual consoles: %s", strerror(-r));
		return r;
	}
	if (c.bind)
		return 0;
	log_info("binding vtcon%d (%s)", c.index, c.name);
	r = set_bind(&c, 1, 0);
	if (r == -ETIMEDOUT) {
		/* Linux 6.1 ignores the bind while the framebuffer stayed registered (a
		 * rollback before the GPU driver went): map a console to it instead. */
		r = fbcon_takeover(step_timeout_ms(env));
	}
	if (r < 0)
		log_err("cannot bind vtcon%d (%s) again: %s; try 'echo 1 > "
			"/sys/class/vtconsole/vtcon%d/bind'",
			c.index, c.name, strerror(-r), c.index);
	return r;
}

const struct step_ops step_ops_unbind_vtcon = {
    .name = "unbind-vtcon",
    .apply = unbind_vtcon_apply,
    .undo = unbind_vtcon_undo,
};

struct fb_wait {
	const char *name;
	bool bound;
};

static int fb_reached(void *data)
{
	struct fb_wait *w = data;
	char drv[64];
	int r = device_driver("platform", w->name, drv, sizeof(drv));

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

	r = device_driver("platform", s->arg, drv, sizeof(drv));
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

	r = device_driver("platform", s->arg, drv, sizeof(drv));
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
	if (!s->unbind_fb.driver[0]) {
		log_warn("%s: no driver recorded; left unbound", s->arg);
		return 0;
	}
	log_info("binding %s to %s", s->arg, s->unbind_fb.driver);
	r = path_join(p, sizeof(p), "/sys/bus/platform/drivers/%s/bind", s->unbind_fb.driver);
	if (r == 0)
		r = kernel_write(p, s->arg, step_timeout_ms(env));
	if (r == 0)
		r = wait_until(fb_reached, &w, step_timeout_ms(env));
	/* Known to fail on real hardware once a native driver owned the GPU; that driver's
	 * own framebuffer brings the console back, which release verifies. */
	if (r < 0)
		log_warn("cannot bind %s to %s again, ignoring: %s", s->arg, s->unbind_fb.driver,
			 strerror(-r));
	return 0;
}

const struct step_ops step_ops_unbind_fb = {
    .name = "unbind-fb",
    .apply = unbind_fb_apply,
    .undo = unbind_fb_undo,
};
