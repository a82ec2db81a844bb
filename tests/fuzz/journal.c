/* Fuzz target: the journal reader (journal_read) on a journal of the fuzzer's bytes under
 * a scratch root prefix (ROOT/run/vfio-handoff/<vm>.journal), never the host's /run. The
 * VM is the one the input's "vm" line names when that is a valid name, so the journals the
 * program wrote for any VM seed it as they are. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "input/config.h"
#include "steps/journal.h"
#include "steps/step.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *root = fuzz_scratch_dir("journal");
	char p[4200];

	log_setup(0, LOG_ERR);
	snprintf(p, sizeof(p), "%s/run", root);
	fuzz_assert(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/run/vfio-handoff", root);
	fuzz_assert(mkdir(p, 0700) == 0);
	fuzz_assert(root_set(root) == 0);
	config_set_required_owner((unsigned)geteuid());
	return 0;
}

/* The VM the input's first "vm<TAB>" line names, when valid; else "fz". */
static void vm_of(const uint8_t *data, size_t size, char *vm, size_t n)
{
	const uint8_t *p = data, *end = data + size;

	snprintf(vm, n, "fz");
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len > 3 && len - 3 < n && memcmp(p, "vm\t", 3) == 0) {
			char name[256];

			memcpy(name, p + 3, len - 3);
			name[len - 3] = '\0';
			if (strlen(name) == len - 3 && name_vm_valid(name))
				snprintf(vm, n, "%s", name);
			return;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* A step read back is one the planner could have written, and its text form reads back
 * to itself. */
static void check_step(const struct step *s)
{
	char line[STEP_ARG_MAX + STEP_REC_MAX + 64], again[sizeof(line)];
	struct step t;

	fuzz_assert(step_valid(s));
	fuzz_assert(step_format(s, line, sizeof(line)) == 0);
	fuzz_assert(step_parse(line, &t) == 0);
	fuzz_assert(t.kind == s->kind && strcmp(t.arg, s->arg) == 0);
	fuzz_assert(step_format(&t, again, sizeof(again)) == 0);
	fuzz_assert(strcmp(line, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char vm[256], path[VH_PATH_MAX], canon[BDF_STRLEN];
	struct journal_data d;
	int r;

	if (size > JOURNAL_MAX_BYTES)
		return 0;
	vm_of(data, size, vm, sizeof(vm));
	fuzz_assert(journal_path(vm, path, sizeof(path)) == 0);
	fuzz_write_file(path, data, size);
	reason_clear();
	r = journal_read(vm, &d);
	/* The next input may name another VM: one journal in the directory at a time. */
	fuzz_assert(unlink(path) == 0);
	if (r < 0) {
		/* Refused whole, nothing kept, and the reason names the file and line. */
		fuzz_assert(r == -EBADMSG || r == -ENOMEM);
		fuzz_assert(!d.devs && !d.steps && !d.wedged);
		fuzz_assert(strncmp(reason_get(), path, strlen(path)) == 0);
		fuzz_assert(!strpbrk(reason_get(), "\r\n"));
		return 0;
	}
	fuzz_assert(r == 0);
	fuzz_assert(strcmp(d.vm, vm) == 0);
	fuzz_assert(d.n_devs <= JOURNAL_MAX_DEVS && d.n_wedged <= JOURNAL_MAX_DEVS);
	fuzz_assert(d.n_steps <= JOURNAL_MAX_STEPS);
	for (size_t i = 0; i < d.n_devs; i++)
		fuzz_assert(strlen(bdf_fmt(&d.devs[i], canon)) == BDF_STRLEN - 1);
	for (size_t i = 0; i < d.n_wedged; i++)
		fuzz_assert(!strpbrk(d.wedged[i].why, "\t\r\n"));
	for (size_t i = 0; i < d.n_steps; i++)
		check_step(&d.steps[i]);
	journal_data_free(&d);
	return 0;
}
