/* What the fuzz targets share: libFuzzer's entry points, a check that aborts (libFuzzer
 * then keeps the input as a crash), and a scratch directory that is removed at exit. */
#ifndef VH_FUZZ_H
#define VH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the parser promises, checked on every input. */
#define fuzz_assert(cond)                                                                      \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: fuzz_assert(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                        \
			abort();                                                               \
		}                                                                              \
	} while (0)

/* Creates a private directory under $TMPDIR (or /tmp) named after tag, removed with its
 * content at exit; returns its path (static storage). Aborts when it cannot. */
const char *fuzz_scratch_dir(const char *tag);

/* Replaces path's content with data (mode 0600 whatever the umask). Aborts on failure. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/* A NUL-terminated malloc'ed copy of data. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
