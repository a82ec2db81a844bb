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
#include "domxml.h"
#include "root.h"
#include "util.h"

#ifndef VH_ENGINE_PATH
#define VH_ENGINE_PATH "/usr/local/libexec/vfio-handoff/hook-engine"
#endif
#define ENGINE_SIBLING "vfio-handoff-hook-engine"

static void usage(void)
{
	fprintf(stderr, "usage: qemu [--root DIR] [--dry-run] VM OPERATION SUB-OPERATION EXTRA\n"
			"  the libvirt hook of vfio-handoff; acts on 'prepare begin' and "
			"'release end'\n  with the domain XML on stdin (see vfio-handoff(8))\n");
}

/* libvirt writes the XML to our stdin for every call; reading it all lets it finish its
 * write cleanly. Bounded: past twice the XML size limit we stop. */
static void drain_stdin(void)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		total += (size_t)n;
		if (total > 2 * DOMXML_MAX_BYTES)
			break;
	}
}

/* The engine beside this program when it runs from a build tree, else the installed one. */
static const char *engine_path(char *buf, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len > 0) {
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf_chk(buf, n, "%s/" ENGINE_SIBLING, self) == 0 &&
			    access(buf, X_OK) == 0)
				return buf;
		}
	}
	return VH_ENGINE_PATH;
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
			usage();
			return 0;
		} else if (strcmp(argv[i], "--dry-run") != 0) {
			fprintf(stderr, "vfio-handoff: unknown option %s\n", argv[i]);
			usage();
			return 2;
		}
	}
	if (argc - i < 3) {
		usage();
		return 2;
	}
	prepare = strcmp(argv[i + 1], "prepare") == 0 && strcmp(argv[i + 2], "begin") == 0;
	release = strcmp(argv[i + 1], "release") == 0 && strcmp(argv[i + 2], "end") == 0;
	/* The fast path: one stat, no configuration parsed, no device scanned. */
	if ((!prepare && !release) || !config_vm_opted_in(argv[i])) {
		drain_stdin();
		return 0;
	}

	engine = engine_path(buf, sizeof(buf));
	argv[0] = (char *)engine;
	execv(engine, argv);

	int err = errno;
	openlog("vfio-handoff", LOG_PID, LOG_DAEMON);
	syslog(LOG_ERR, "cannot run %s: %s", engine, strerror(err));
	drain_stdin();
	if (release)
		return 0;
	fprintf(stderr, "vfio-handoff: cannot run %s: %s (reinstall vfio-handoff)\n", engine,
		strerror(err));
	return 1;
}
