/* Fuzz target: the configuration reader (config_apply_file) on a file of the fuzzer's
 * bytes in a scratch directory, owned by this process as the rule wants. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/names.h"
#include "input/config.h"

#include "fuzz.h"

static char conf_path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_setup(0, LOG_ERR);
	snprintf(conf_path, sizeof(conf_path), "%s/t.conf", fuzz_scratch_dir("config"));
	config_set_required_owner((unsigned)geteuid());
	return 0;
}

/* What a configuration that was accepted holds: bounded lists of names that pass their
 * rule, and times in range. */
static void check_config(const struct vm_config *c)
{
	fuzz_assert(c->n_devices <= CONFIG_MAX_DEVICES);
	fuzz_assert(c->n_unload <= CONFIG_MAX_MODULES);
	fuzz_assert(c->n_helper_units <= CONFIG_MAX_UNITS);
	for (size_t i = 0; i < c->n_devices; i++)
		fuzz_assert(c->device_list[i].dev <= 0x1f && c->device_list[i].fn <= 7);
	for (size_t i = 0; i < c->n_unload; i++)
		fuzz_assert(name_module_valid(c->unload_list[i]));
	for (size_t i = 0; i < c->n_helper_units; i++)
		fuzz_assert(name_unit_valid(c->helper_units[i]));
	fuzz_assert(!c->display_manager[0] || name_unit_valid(c->display_manager));
	fuzz_assert(memchr(c->vfio_options, '\0', sizeof(c->vfio_options)));
	fuzz_assert(c->timeout_ms > 0 && c->timeout_ms <= 600 * 1000);
	fuzz_assert(c->kill_grace_ms >= 0 && c->kill_grace_ms <= 600 * 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg, before;
	int r;

	fuzz_write_file(conf_path, data, size);
	reason_clear();
	config_defaults(&cfg);
	before = cfg;
	r = config_apply_file(conf_path, &cfg);
	if (r < 0) {
		/* Refused: the configuration is untouched, and the reason names the file. */
		fuzz_assert(r == -EINVAL || r == -ENOMEM);
		fuzz_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
		fuzz_assert(strncmp(reason_get(), conf_path, strlen(conf_path)) == 0);
		fuzz_assert(!strpbrk(reason_get(), "\r\n"));
		return 0;
	}
	fuzz_assert(r == 0);
	check_config(&cfg);
	return 0;
}
