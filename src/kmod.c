/* The real module seam: load with libkmod's probe (softdeps and modprobe.d options
 * honoured), remove one module without waiting, each with libkmod's log routed to ours. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "log.h"
#include "sysfs.h"
#include "util.h"

static void kmod_log(void *data, int priority, const char *file, int line, const char *fn,
		     const char *format, va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), format, args);
	strip_trailing(buf);
	/* libkmod's own messages are details; ours carry the decision. */
	log_debug("libkmod: %s", buf);
}

static struct kmod_ctx *kmod_open(void)
{
	char dir[VH_PATH_MAX];
	struct utsname u;
	struct kmod_ctx *ctx;

	if (root_is_real()) {
		ctx = kmod_new(NULL, NULL);
	} else {
		if (uname(&u) < 0 || path_join(dir, sizeof(dir), "/lib/modules/%s", u.release) < 0)
			return NULL;
		ctx = kmod_new(dir, NULL);
	}
	if (!ctx)
		return NULL;
	kmod_set_log_fn(ctx, kmod_log, NULL);
	kmod_set_log_priority(ctx, LOG_DEBUG);
	return ctx;
}

/* Test fault injection (real-kernel tier): VFIO_HANDOFF_FAULT=module-busy:NAME makes the
 * removal of NAME fail as if it were in use. */
static bool fault_module_busy(const char *name)
{
	const char *f = getenv("VFIO_HANDOFF_FAULT");

	return f && str_has_prefix(f, "module-busy:") && strcmp(f + 12, name) == 0;
}

int kmod_real_load(const char *name, const char *options)
{
	struct kmod_ctx *ctx = kmod_open();
	struct kmod_list *list = NULL, *it;
	int r, loaded = 0;

	if (!ctx)
		return -ENOMEM;
	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0)
		goto out;
	if (!list) {
		r = -ENOENT;
		goto out;
	}
	kmod_list_foreach (it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);

		r = kmod_module_probe_insert_module(mod, 0, options && *options ? options : NULL,
						    NULL, NULL, NULL);
		kmod_module_unref(mod);
		if (r == 0 || r == -EEXIST)
			loaded++;
		else
			break;
	}
	if (loaded)
		r = 0;
	else if (r > 0)
		r = -EPERM; /* blacklisted or similar: kmod returns a positive mask */
out:
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return r;
}

struct remove_job {
	const char *name;
};

static int remove_now(void *data)
{
	struct remove_job *job = data;
	struct kmod_ctx *ctx = kmod_open();
	struct kmod_module *mod = NULL;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = kmod_module_new_from_name(ctx, job->name, &mod);
	if (r == 0) {
		/* No KMOD_REMOVE_FORCE: a module in use must fail, not be torn out. */
		r = kmod_module_remove_module(mod, 0);
		if (r == -EWOULDBLOCK || r == -EAGAIN)
			r = -EBUSY;
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return r;
}

int kmod_real_remove(const char *name, int timeout_ms)
{
	struct remove_job job = {name};

	if (fault_module_busy(name))
		return -EBUSY;
	return run_with_deadline(remove_now, &job, timeout_ms > 0 ? timeout_ms : 10000);
}
