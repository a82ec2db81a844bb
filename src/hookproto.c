/* libvirt's hook protocol as the hook and its engine both need it. libc only: the hook's
 * fast path links it. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "domxml.h"
#include "hookproto.h"

void hook_usage(void)
{
	fprintf(stderr, "usage: qemu [--root DIR] [--dry-run] VM OPERATION SUB-OPERATION EXTRA\n"
			"  the libvirt hook of vfio-handoff; acts on 'prepare begin' and "
			"'release end'\n  with the domain XML on stdin (see vfio-handoff(8))\n");
}

void hook_drain_stdin(void)
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
		/* Past twice the XML size limit it is not libvirt's XML: stop. */
		if (total > 2 * DOMXML_MAX_BYTES)
			break;
	}
}
