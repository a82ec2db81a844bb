/* Fuzz target: VM-name validation (name_vm_valid), the name that becomes a file name
 * (vm.d/<name>.conf, the journal), and the other name rules beside it. Pure string checks:
 * journal_path() only builds the path. */
#include <stdbool.h>
#include <string.h>

#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "steps/journal.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_setup(0, LOG_ERR);
	return 0;
}

/* What every rule keeps out: '/', ".", "..", control characters; and for a name that
 * becomes a program's argument, a leading '-'. A VM name is only ever a path component. */
static void check_component(const char *s, bool argument)
{
	fuzz_assert(s[0] && s[0] != '.' && !(argument && s[0] == '-'));
	for (const char *c = s; *c; c++)
		fuzz_assert((unsigned char)*c >= 0x20 && *c != 0x7f && *c != '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char path[VH_PATH_MAX];
	size_t len = strlen(s);

	if (name_vm_valid(s)) {
		check_component(s, false);
		fuzz_assert(len <= VM_NAME_MAX);
		/* C1 controls (U+0080..U+009F) are out too; in UTF-8 they are C2 80..C2 9F. */
		for (size_t i = 0; i + 1 < len; i++)
			fuzz_assert(!((unsigned char)s[i] == 0xc2 &&
				      (unsigned char)s[i + 1] >= 0x80 &&
				      (unsigned char)s[i + 1] <= 0x9f));
		fuzz_assert(journal_path(s, path, sizeof(path)) == 0);
		fuzz_assert(strncmp(path, RUN_DIR "/", sizeof(RUN_DIR)) == 0);
		fuzz_assert(!strchr(path + sizeof(RUN_DIR), '/'));
	} else {
		fuzz_assert(journal_path(s, path, sizeof(path)) < 0);
	}
	if (name_unit_valid(s)) {
		check_component(s, true);
		fuzz_assert(len < 128);
	}
	if (name_driver_valid(s) || name_platform_valid(s)) {
		check_component(s, true);
		fuzz_assert(len < NAME_MAX_LEN);
	}
	if (name_module_valid(s)) {
		check_component(s, true);
		fuzz_assert(len < NAME_MAX_LEN && !strchr(s, '.'));
	}
	if (name_vtcon_valid(s)) {
		check_component(s, true);
		fuzz_assert(len >= 6 && len <= 8);
	}
	if (name_option_valid(s)) {
		check_component(s, true);
		fuzz_assert(strchr(s, '=') && !strpbrk(s, " \"'\\$;|&"));
	}
	free(s);
	return 0;
}
