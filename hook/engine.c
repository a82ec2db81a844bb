/* The hook's engine: what /etc/libvirt/hooks/qemu (hook/qemu.c) runs for "prepare begin"
 * of a VM that opted in and "release end" of a VM that opted in or has a journal, with the
 * same arguments and the domain XML still unread on stdin. Run by hand it behaves like
 * the hook itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stdfds.h"
#include "base/util.h"
#include "front/engine.h"
#include "front/hookproto.h"
#include "input/config.h"
#include "input/domxml.h"

static int fail(const char *vm)
{
	const char *why = reason_get();

	/* Exactly one line: libvirt puts all of stderr into the error the user sees. */
	fprintf(stderr, "vfio-handoff: %s\n", why[0] ? why : "prepare failed");
	log_setup(LOG_TO_SYSLOG, LOG_INFO);
	log_err("VM '%s': prepare failed: %s", vm, why[0] ? why : "unknown reason");
	return 1;
}

/* Drains stdin with a deadline, saying in the log when the writer never closed it. */
static void drain(const char *vm)
{
	size_t len;
	int r = hook_drain_stdin(HOOK_DRAIN_TIMEOUT_MS, &len);

	if (r == -ETIMEDOUT) {
		char q[300];

		log_warn("VM '%s': stdin still open after %d ms (%zu bytes read); going on "
			 "without the rest",
			 str_quote(q, sizeof(q), vm, 64), HOOK_DRAIN_TIMEOUT_MS, len);
	}
}

/* The domain XML from stdin, within the VM's timeout: libvirt writes it at once, so a
 * writer that has not closed by then never will, and prepare fails rather than hang. */
static int read_xml(const struct vm_config *cfg, struct domxml *ret)
{
	int timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	char *xml;
	size_t len;
	int r;

	r = hook_read_fd(STDIN_FILENO, timeout, DOMXML_MAX_BYTES, &xml, &len);
	if (r == -ETIMEDOUT)
		return reason_set(r,
				  "stdin: domain XML incomplete: stdin not closed within %d ms "
				  "(%zu bytes read)",
				  timeout, len);
	if (r == -EFBIG)
		return reason_set(r, "stdin: domain XML larger than %d MiB",
				  DOMXML_MAX_BYTES >> 20);
	if (r < 0)
		return reason_set(r, "stdin: cannot read the domain XML: %s", strerror(-r));
	r = domxml_parse_mem(xml, len, "stdin", ret);
	free(xml);
	return r;
}

int main(int argc, char **argv)
{
	struct hook_args a;
	bool dry_run, by_hand;
	struct vm_config cfg;
	struct domxml dom;
	const char *vm;
	int null, r;

	/* Before anything is opened: a closed 0, 1 or 2 would become the lock's or a
	 * journal's number, and what goes to stdout or stderr would land in that file. */
	r = stdfds_ensure();
	if (r < 0) {
		log_setup(LOG_TO_SYSLOG, LOG_INFO);
		log_err("cannot open /dev/null for a closed standard descriptor: %s", strerror(-r));
		return 1;
	}
	/* Nothing ever goes to stdout: libvirt reads it as XML for some operations. With 0-2
	 * open, this descriptor is never 1 itself (dup2 onto itself, then close, would close
	 * stdout). */
	fflush(stdout);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null > STDERR_FILENO) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	signal(SIGPIPE, SIG_IGN);

	/* The same rules as the hook that exec'd us (hookproto.h). */
	if (hook_parse_args(argc, argv, &a) < 0) {
		hook_usage();
		return 2;
	}
	if (a.help) {
		hook_usage();
		return 0;
	}
	vm = a.vm;
	dry_run = a.dry_run;
	if (getenv("VFIO_HANDOFF_DRY_RUN") && strcmp(getenv("VFIO_HANDOFF_DRY_RUN"), "1") == 0)
		dry_run = true;

	by_hand = isatty(STDERR_FILENO) || (getenv("VFIO_HANDOFF_VERBOSE") &&
					    strcmp(getenv("VFIO_HANDOFF_VERBOSE"), "1") == 0);
	log_setup(LOG_TO_SYSLOG | (by_hand ? LOG_TO_STDERR : 0), LOG_INFO);

	/* Run by hand, the engine decides as the hook does: nothing for other calls and for
	 * VMs neither opted in nor holding a journal. */
	switch (hook_action_of(&a)) {
	case HOOK_IGNORE:
		drain(vm);
		return 0;
	case HOOK_RELEASE:
		drain(vm);
		log_info("VM '%s': release end, shut-off reason: %s", vm,
			 hook_release_reason(&a) ? hook_release_reason(&a) : "none given");
		/* The journal says what to give back, whether or not the VM's opt-in file is
		 * still there. */
		r = engine_release(vm);
		if (r < 0)
			log_err("VM '%s': release incomplete%s%s", vm, reason_get()[0] ? ": " : "",
				reason_get());
		/* libvirt cannot act on a failed release; what is left is in the journal. */
		return 0;
	case HOOK_PREPARE:
		break;
	}

	r = config_load(vm, &cfg);
	if (r < 0) {
		drain(vm);
		return fail(vm);
	}
	r = read_xml(&cfg, &dom);
	if (r < 0) {
		/* Past the deadline the writer is not going to close: do not wait again. */
		if (r != -ETIMEDOUT)
			drain(vm);
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
