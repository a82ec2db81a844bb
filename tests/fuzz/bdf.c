/* Fuzz target: PCI address parsing (bdf_parse) and the canonical form it round-trips
 * through. */
#include <string.h>

#include "base/bdf.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char canon[BDF_STRLEN];
	struct bdf b, again;

	if (bdf_parse(s, &b) == 0) {
		/* Only hex digits and the two separators, and a canonical form that parses
		 * back to the same address. */
		fuzz_assert(strspn(s, "0123456789abcdefABCDEF:.") == strlen(s));
		fuzz_assert(b.dev <= 0x1f && b.fn <= 7);
		fuzz_assert(strlen(bdf_fmt(&b, canon)) == BDF_STRLEN - 1);
		fuzz_assert(bdf_parse(canon, &again) == 0 && bdf_equal(&b, &again));
		fuzz_assert(bdf_cmp(&b, &again) == 0);
	}
	free(s);
	return 0;
}
