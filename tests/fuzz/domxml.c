/* Fuzz target: the domain XML reader as the hook's engine calls it on what libvirt wrote
 * to stdin (domxml_parse_mem, reading the document through xmlsafe.c). */
#include <string.h>

#include "base/log.h"
#include "input/domxml.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_setup(0, LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml d;
	int r;

	reason_clear();
	r = domxml_parse_mem((const char *)data, size, "stdin", &d);
	if (r < 0) {
		/* Every refusal says why, in one line, naming the input. (Which errno is the
		 * reader's choice: a limit may add its own.) */
		fuzz_assert(r > -4096);
		fuzz_assert(strncmp(reason_get(), "stdin", 5) == 0);
		fuzz_assert(!strpbrk(reason_get(), "\r\n"));
		return 0;
	}
	fuzz_assert(r == 0);
	fuzz_assert(d.name[0] && memchr(d.name, '\0', sizeof(d.name)));
	fuzz_assert(memchr(d.uuid, '\0', sizeof(d.uuid)));
	fuzz_assert(d.n_hostdevs <= DOMXML_MAX_HOSTDEVS);
	fuzz_assert((d.n_hostdevs == 0) == (d.hostdevs == NULL));
	for (size_t i = 0; i < d.n_hostdevs; i++) {
		const struct hostdev *h = &d.hostdevs[i];

		fuzz_assert(h->addr.dev <= 0x1f && h->addr.fn <= 7);
		fuzz_assert(h->managed == MANAGED_ABSENT || h->managed == MANAGED_NO ||
			    h->managed == MANAGED_YES);
		fuzz_assert(h->line >= 0);
	}
	domxml_free(&d);
	return 0;
}
