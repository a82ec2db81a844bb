/* The libvirt hook: /etc/libvirt/hooks/qemu VM OPERATION SUB-OPERATION EXTRA, with the
 * domain XML on stdin. libvirt runs it for every operation of every VM, so this program
 * links only libc: it answers every call it does not act on at once, and execs the engine
 * (which loads libxml2, libpci, libkmod) only for "prepare begin" of a VM that opted in and
 * "release end" of a VM that opted in or has a journal. Argument rules: hookproto.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/stdfds.h"
#include "base/util.h"
#include "front/hookproto.h"

/* Where the engine is, relative to this program's directory: the build tree; installed as
 * hooks/qemu; installed as hooks/qemu.d/NAME. Under the hooks directory because libvirtd's
 * AppArmor profile lets a hook exec only from there and from the system bin directories. */
static const char *const engine_places[] = {
    "vfio-handoff-hook-engine",
    "vfio-handoff/hook-engine",
    "../vfio-handoff/hook-engine",
};

/* The engine beside this program. libvirt runs hooks by absolute path (argv[0]); by hand
 * argv[0] may be a bare name found in PATH, then /proc/self/exe says where we are. */
static const char *engine_path(const char *argv0, char *buf, size_t n)
{
	char self[PATH_MAX];
	char *slash;

	if (strchr(argv0, '/')) {
		if (strlcpy_chk(self, argv0, sizeof(self)) < 0)
			return NULL;
	} else {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len <= 0)
			return NULL;
		self[len] = '\0';
	}
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(engine_places); i++)
		if (snprintf_chk(buf, n, "%s/%s", self[0] ? self : "/", engine_places[i]) == 0 &&
		    access(buf, X_OK) == 0)
			return buf;
	return NULL;
}

/* Drains stdin with a deadline; a writer that never closes is logged, not waited for. */
static void drain(const struct hook_args *a)
{
	size_t len;
	int r = hook_drain_stdin(HOOK_DRAIN_TIMEOUT_MS, &len);

	if (r == -ETIMEDOUT) {
		char vm[300], op[100], sub[100];

		openlog("vfio-handoff", LOG_PID, LOG_DAEMON);
		syslog(LOG_WARNING,
		       "VM '%s' %s %s: stdin still open after %d ms (%zu bytes read); "
		       "answering without waiting for the rest",
		       str_quote(vm, sizeof(vm), a->vm, 64), str_quote(op, sizeof(op), a->op, 16),
		       str_quote(sub, sizeof(sub), a->sub, 16), HOOK_DRAIN_TIMEOUT_MS, len);
	}
}

int main(int argc, char **argv)
{
	struct hook_args a;
	enum hook_action act;
	char buf[PATH_MAX];
	const char *engine;
	int null;

	/* Before anything is opened: a closed 0, 1 or 2 would become the next file's number
	 * (the lock, a journal), and what goes to stdout or stderr would land in it. */
	int r = stdfds_ensure();
	if (r < 0) {
		openlog("vfio-handoff", LOG_PID, LOG_DAEMON);
		syslog(LOG_ERR, "cannot open /dev/null for a closed standard descriptor: %s",
		       strerror(-r));
		return 1;
	}
	/* Nothing ever goes to stdout: libvirt reads it as XML for some operations. With 0-2
	 * open, this descriptor is never 1 itself (dup2 onto itself, then close, would close
	 * stdout). */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null > STDERR_FILENO) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (hook_parse_args(argc, argv, &a) < 0) {
		hook_usage();
		return 2;
	}
	if (a.help) {
		hook_usage();
		return 0;
	}
	/* The fast path: one stat (two for release end), no configuration parsed, no device
	 * scanned. */
	act = hook_action_of(&a);
	if (act == HOOK_IGNORE) {
		drain(&a);
		return 0;
	}

	engine = engine_path(argv[0], buf, sizeof(buf));
	int err = ENOENT;
	if (engine) {
		argv[0] = (char *)engine;
		execv(engine, argv);
		err = errno;
	} else {
		engine = "vfio-handoff/hook-engine beside the hook";
	}

	openlog("vfio-handoff", LOG_PID, LOG_DAEMON);
	syslog(LOG_ERR, "cannot run %s: %s", ESC(engine), strerror(err));
	drain(&a);
	if (act == HOOK_RELEASE)
		return 0;
	fprintf(stderr, "vfio-handoff: cannot run %s: %s (reinstall vfio-handoff)\n", ESC(engine),
		strerror(err));
	return 1;
}
