/* The real module calls: load with libkmod's probe (softdeps and modprobe.d options
 * honoured, install commands refused), remove one module without waiting, each with
 * libkmod's log routed to ours. Both run in a deadline child (sysfs.c). */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "kernel/modcall.h"

static void modcall_log(void *data, int priority, const char *file, int line, const char *fn,
			const char *format, va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), format, args);
	strip_trailing(buf);
	/* libkmod's own messages are details; ours carry the decision. */
	log_debug("libkmod: %s", buf);
}

static struct kmod_ctx *modcall_ctx_new(void)
{
	char dir[VH_PATH_MAX], c1[VH_PATH_MAX], c2[VH_PATH_MAX], c3[VH_PATH_MAX];
	const char *cfg[] = {c1, c2, c3, NULL};
	struct utsname u;
	struct kmod_ctx *ctx;

	if (root_is_real()) {
		ctx = kmod_new(NULL, NULL);
	} else {
		/* Everything from under the root: never this machine's /etc/modprobe.d. */
		if (uname(&u) < 0 ||
		    path_join(dir, sizeof(dir), "/lib/modules/%s", u.release) < 0 ||
		    path_join(c1, sizeof(c1), "/etc/modprobe.d") < 0 ||
		    path_join(c2, sizeof(c2), "/run/modprobe.d") < 0 ||
		    path_join(c3, sizeof(c3), "/lib/modprobe.d") < 0)
			return NULL;
		ctx = kmod_new(dir, cfg);
	}
	if (!ctx)
		return NULL;
	kmod_set_log_fn(ctx, modcall_log, NULL);
	kmod_set_log_priority(ctx, LOG_DEBUG);
	return ctx;
}

/* Test fault injection (real-kernel tier): VFIO_HANDOFF_FAULT=module-busy:NAME makes the
 * removal of NAME fail as if it were in use. Only in test builds (VH_FAULTS,
 * VH_TEST_SEAMS): a release build has no such switch. */
#if defined(VH_FAULTS) || defined(VH_TEST_SEAMS)
static bool fault_module_busy(const char *name)
{
	const char *f = getenv("VFIO_HANDOFF_FAULT");

	return f && str_has_prefix(f, "module-busy:") && strcmp(f + 12, name) == 0;
}
#else
static inline bool fault_module_busy(const char *name)
{
	return false;
}
#endif

struct install_scan {
	char *mod, *cmd;
	size_t mod_n, cmd_n;
	bool found;
};

static struct install_scan *scan_now;

/* print_action of a dry run: called with install true for each module whose install
 * command the probe would run. libkmod gives it no user data. */
static void note_install(struct kmod_module *m, bool install, const char *options)
{
	const char *cmd;

	if (!install || !scan_now || scan_now->found)
		return;
	cmd = kmod_module_get_install_commands(m);
	strlcpy_chk(scan_now->mod, kmod_module_get_name(m), scan_now->mod_n);
	str_quote(scan_now->cmd, scan_now->cmd_n, cmd ? cmd : "?", 160);
	scan_now->found = true;
}

int modcall_install_command(const char *name, char *mod, size_t mod_n, char *cmd, size_t cmd_n)
{
	struct install_scan scan = {mod, cmd, mod_n, cmd_n, false};
	struct kmod_ctx *ctx = modcall_ctx_new();
	struct kmod_list *list = NULL, *it;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r == 0 && !list) {
		/* Unknown to modules.dep and aliases: its name may still carry a command. */
		struct kmod_module *m = NULL;

		if (kmod_module_new_from_name(ctx, name, &m) == 0) {
			const char *c = kmod_module_get_install_commands(m);

			if (c) {
				strlcpy_chk(mod, kmod_module_get_name(m), mod_n);
				str_quote(cmd, cmd_n, c, 160);
				scan.found = true;
			}
			kmod_module_unref(m);
		}
	}
	scan_now = &scan;
	kmod_list_foreach (it, list) {
		struct kmod_module *m = kmod_module_get_module(it);

		/* A dry run walks dependencies and softdeps as the real probe would, and
		 * makes no module call. */
		kmod_module_probe_insert_module(m, KMOD_PROBE_DRY_RUN, NULL, NULL, NULL,
						note_install);
		kmod_module_unref(m);
		if (scan.found)
			break;
	}
	scan_now = NULL;
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	if (r < 0 && !scan.found)
		return r == -ENOENT ? 0 : r;
	return scan.found;
}

int modcall_refuse_install_command(const char *name)
{
	char mod[128], cmd[800];
	int r;

	r = modcall_install_command(name, mod, sizeof(mod), cmd, sizeof(cmd));
	if (r <= 0)
		return r == -ENOMEM ? r : 0;
	/* Such a line is shell text libkmod hands to a shell: with libvirt's environment and
	 * stderr and no deadline. We run programs by absolute path with a deadline only,
	 * and a command line cannot be checked for either. */
	return reason_set(-EPERM,
			  "module %s has a modprobe.d install command (\"%s\"); vfio-handoff "
			  "does not run install commands: remove the line or load %s yourself "
			  "before the VM starts",
			  mod, cmd, mod);
}

int modcall_load(const char *name, const char *options)
{
	struct kmod_ctx *ctx;
	struct kmod_list *list = NULL, *it;
	int r, loaded = 0;

	if (!root_is_real())
		return -EPERM;
	ctx = modcall_ctx_new();
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

		/* Never through a shell: an install command was refused before we got here, and
		 * one that appeared since is skipped, not run. */
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_IGNORE_COMMAND,
						    options && *options ? options : NULL, NULL,
						    NULL, NULL);
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

int modcall_remove(const char *name)
{
	struct kmod_ctx *ctx;
	struct kmod_module *mod = NULL;
	int r;

	if (!root_is_real())
		return -EPERM;
	if (fault_module_busy(name))
		return -EBUSY;
	ctx = modcall_ctx_new();
	if (!ctx)
		return -ENOMEM;
	r = kmod_module_new_from_name(ctx, name, &mod);
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
