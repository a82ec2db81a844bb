/* The libvirt hook: /etc/libvirt/hooks/qemu VM OPERATION SUB-OPERATION EXTRA, with the
 * domain XML on stdin. libvirt runs it for every operation of every VM, so this program
 * links only libc: it answers every call it does not act on at once, and execs the engine
 * (which loads libxml2, libpci, libkmod) only for "prepare begin" and "release end" of a
 * VM that opted in. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "hookproto.h"
#include "domxml.h"
#include "root.h"
#include "util.h"

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

int main(int argc, char **argv)
{
	char buf[PATH_MAX];
	const char *engine;
	bool prepare, release;
	int null, i = 1;

	/* Nothing ever goes to stdout: libvirt reads it as XML for some operations. */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			if (root_set(argv[++i]) < 0) {
				fprintf(stderr, "vfio-handoff: --root: path too long\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0) {
			hook_usage();
			return 0;
		} else if (strcmp(argv[i], "--dry-run") != 0) {
			fprintf(stderr, "vfio-handoff: unknown option %s\n", argv[i]);
			hook_usage();
			return 2;
		}
	}
	if (argc - i < 3) {
		hook_usage();
		return 2;
	}
	prepare = strcmp(argv[i + 1], "prepare") == 0 && strcmp(argv[i + 2], "begin") == 0;
	release = strcmp(argv[i + 1], "release") == 0 && strcmp(argv[i + 2], "end") == 0;
	/* The fast path: one stat, no configuration parsed, no device scanned. */
	if ((!prepare && !release) || !config_vm_opted_in(argv[i])) {
		hook_drain_stdin();
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
	syslog(LOG_ERR, "cannot run %s: %s", engine, strerror(err));
	hook_drain_stdin();
	if (release)
		return 0;
	fprintf(stderr, "vfio-handoff: cannot run %s: %s (reinstall vfio-handoff)\n", engine,
		strerror(err));
	return 1;
}
