/* The hook's engine: what /etc/libvirt/hooks/qemu (hook/qemu.c) runs for "prepare begin"
 * and "release end" of a VM that opted in, with the same arguments and the domain XML
 * still unread on stdin. Run by hand it behaves like the hook itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hookproto.h"
#include "domxml.h"
#include "engine.h"
#include "log.h"
#include "sysfs.h"

static int fail(const char *vm)
{
	const char *why = reason_get();

	/* Exactly one line: libvirt puts all of stderr into the error the user sees. */
	fprintf(stderr, "vfio-handoff: %s\n", why[0] ? why : "prepare failed");
	log_setup(LOG_TO_SYSLOG, LOG_INFO);
	log_err("VM '%s': prepare failed: %s", vm, why[0] ? why : "unknown reason");
	return 1;
}

int main(int argc, char **argv)
{
	const char *vm, *op, *sub;
	bool dry_run = false, by_hand;
	struct vm_config cfg;
	struct domxml dom;
	int null, r, i = 1;

	/* Nothing ever goes to stdout: libvirt reads it as XML for some operations. */
	fflush(stdout);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	signal(SIGPIPE, SIG_IGN);

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			if (root_set(argv[++i]) < 0) {
				fprintf(stderr, "vfio-handoff: --root: path too long\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			hook_usage();
			return 0;
		} else {
			fprintf(stderr, "vfio-handoff: unknown option %s\n", argv[i]);
			hook_usage();
			return 2;
		}
	}
	if (argc - i < 3) {
		hook_usage();
		return 2;
	}
	vm = argv[i];
	op = argv[i + 1];
	sub = argv[i + 2];
	if (getenv("VFIO_HANDOFF_DRY_RUN") && strcmp(getenv("VFIO_HANDOFF_DRY_RUN"), "1") == 0)
		dry_run = true;

	bool prepare = strcmp(op, "prepare") == 0 && strcmp(sub, "begin") == 0;
	bool release = strcmp(op, "release") == 0 && strcmp(sub, "end") == 0;

	/* Fast path: no config parsing, no device scan, for every other call and for VMs
	 * that did not opt in. */
	if ((!prepare && !release) || !config_vm_opted_in(vm)) {
		hook_drain_stdin();
		return 0;
	}

	by_hand = isatty(STDERR_FILENO) || (getenv("VFIO_HANDOFF_VERBOSE") &&
					    strcmp(getenv("VFIO_HANDOFF_VERBOSE"), "1") == 0);
	log_setup(LOG_TO_SYSLOG | (by_hand ? LOG_TO_STDERR : 0), LOG_INFO);

	if (release) {
		hook_drain_stdin();
		r = engine_release(vm);
		if (r < 0)
			log_err("VM '%s': release incomplete%s%s", vm, reason_get()[0] ? ": " : "",
				reason_get());
		/* libvirt cannot act on a failed release; what is left is in the journal. */
		return 0;
	}

	r = config_load(vm, &cfg);
	if (r < 0) {
		hook_drain_stdin();
		return fail(vm);
	}
	r = domxml_parse_fd(STDIN_FILENO, "stdin", &dom);
	if (r < 0) {
		hook_drain_stdin();
		return fail(vm);
	}
	if (strcmp(dom.name, vm) != 0)
		log_warn("domain XML names VM '%s', libvirt called the hook for '%s'", dom.name,
			 vm);
	r = engine_prepare(vm, &cfg, &dom, dry_run, dry_run ? stderr : NULL);
	domxml_free(&dom);
	if (r < 0)
		return fail(vm);
	return 0;
}
