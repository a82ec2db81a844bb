/* Tests for driver module unloading: which modules a plan removes (holders first, never
 * one that still drives a host device, never a builtin), and the unload-module step with
 * its undo (load back, bind the recorded devices). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakekernel.h"
#include "fixture.h"
#include "fixture_display.h"
#include "base/log.h"
#include "base/util.h"
#include "facts/modules.h"
#include "input/config.h"
#include "kernel/kernel.h"
#include "plan/plan.h"
#include "steps/step.h"

#define GPU "0000:01:00.0"
#define AUD "0000:01:00.1"

static struct vm_config cfg;
static struct plan *plan;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	config_defaults(&cfg);
	cfg.timeout_ms = 300;
	plan = calloc(1, sizeof(*plan));
	return r || !plan;
}

static int teardown(void **state)
{
	if (plan)
		plan_free(plan);
	free(plan);
	plan = NULL;
	reason_clear();
	return fx_cmocka_teardown(state);
}

/* A GTX 1060 with the nvidia stack and its HDMI audio, nothing else. */
static void nvidia_desktop(void)
{
	fx_module("nvidia_drm", 0, NULL);
	fx_module("nvidia_uvm", 0, NULL);
	fx_module("nvidia_modeset", 0, "nvidia_drm");
	fx_module("nvidia", 0, "nvidia_modeset nvidia_uvm");
	fx_driver("nvidia", "nvidia");
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_pci(GPU, 0x10de, 0x1c81, 0x030000, "nvidia", 1, 1);
	fx_pci(AUD, 0x10de, 0x0fb9, 0x040300, "snd_hda_intel", 1, -1);
	fx_devnode("dev/nvidia0", 'c', 195, 0, "nvidia", NULL);
	fx_devnode("dev/nvidiactl", 'c', 195, 255, "nvidia", NULL);
}

/* Topology 3: the guest RX 6600 next to the host's RX 6750 XT. */
static void two_amd_cards(void)
{
	fx_driver("amdgpu", "amdgpu");
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_driver("pcieport", NULL);
	fx_pci("0000:00:01.0", 0x1022, 0x1483, 0x060400, "pcieport", 1, -1);
	fx_pci("0000:03:00.0", 0x1002, 0x73df, 0x030000, "amdgpu", 1, 1);
	fx_pci("0000:03:00.1", 0x1002, 0xab28, 0x040300, "snd_hda_intel", 1, -1);
	fx_pci("0000:07:00.0", 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_pci("0000:07:00.1", 0x1002, 0xab28, 0x040300, "snd_hda_intel", 19, -1);
}

/* --- planning --- */

static void test_holders_come_before_what_they_hold(void **state)
{
	char chain[MODULE_CHAIN_MAX][MODULE_NAME_MAX];
	size_t n;

	nvidia_desktop();
	assert_int_equal(module_chain("nvidia", chain, MODULE_CHAIN_MAX, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(chain[0], "nvidia_drm");
	assert_string_equal(chain[1], "nvidia_modeset");
	assert_string_equal(chain[2], "nvidia_uvm");
	assert_string_equal(chain[3], "nvidia");
}

static void test_single_gpu_unloads_the_nvidia_stack_and_audio(void **state)
{
	nvidia_desktop();
	fxd_plan(plan, GPU, AUD, NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan),
			    "unload-module nvidia_drm\n"
			    "unload-module nvidia_modeset\n"
			    "unload-module nvidia_uvm\n"
			    "unload-module nvidia (devs=0000:01:00.0@nvidia)\n"
			    "unload-module snd_hda_intel (devs=0000:01:00.1@snd_hda_intel)\n");
}

static void test_module_that_drives_a_host_card_stays(void **state)
{
	two_amd_cards();
	fxd_plan(plan, "0000:07:00.0", "0000:07:00.1", NULL);
	/* Even when the guest card is taken as the host display. */
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "module amdgpu stays loaded: it also drives 0000:03:00.0"));
	assert_true(fxd_has_note(plan, "module snd_hda_intel stays loaded: it also drives "
				 "0000:03:00.1"));
}

static void test_module_whose_holder_drives_a_host_device_stays(void **state)
{
	nvidia_desktop();
	/* A second nvidia card would keep nvidia; here a holder drives something. */
	fx_driver("nvidia-vgpu", "nvidia_modeset");
	fx_pci("0000:02:00.0", 0x10de, 0x1c82, 0x030000, "nvidia-vgpu", 2, 0);
	fxd_plan(plan, GPU, NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_null(strstr(fxd_steps(plan), "nvidia"));
	assert_true(fxd_has_note(plan, "module nvidia stays loaded: its holder nvidia_modeset "
				 "also drives 0000:02:00.0"));
}

static void test_builtin_driver_is_not_unloaded(void **state)
{
	/* No module link at all... */
	fx_driver("i915", NULL);
	fx_pci("0000:00:02.0", 0x8086, 0xa7a0, 0x030000, "i915", 0, 1);
	fxd_plan(plan, "0000:00:02.0", NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "driver i915 of 0000:00:02.0 is built into the kernel"));
	/* ...or a link to a /sys/module entry without initstate. */
	fx_module_builtin("i915");
	fx_link("sys/bus/pci/drivers/i915/module", "../../../../module/i915");
	fxd_plan(plan, "0000:00:02.0", NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "module i915 is built into the kernel"));
}

static void test_auto_unloads_nothing_for_a_secondary_gpu(void **state)
{
	nvidia_desktop();
	fxd_plan(plan, GPU, AUD, NULL);
	plan->host_display = false;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "");
}

static void test_unload_none_unloads_nothing(void **state)
{
	nvidia_desktop();
	cfg.unload = CFG_UNLOAD_NONE;
	fxd_plan(plan, GPU, AUD, NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "unload-modules = none"));
}

static void test_listed_modules_are_unloaded_outside_host_display_mode(void **state)
{
	nvidia_desktop();
	cfg.unload = CFG_UNLOAD_LIST;
	strlcpy_chk(cfg.unload_list[0], "nvidia-drm", sizeof(cfg.unload_list[0]));
	strlcpy_chk(cfg.unload_list[1], "nouveau", sizeof(cfg.unload_list[1]));
	cfg.n_unload = 2;
	fxd_plan(plan, GPU, AUD, NULL);
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_string_equal(fxd_steps(plan), "unload-module nvidia_drm\n");
	assert_true(fxd_has_note(plan, "module nouveau is not loaded"));
}

static void test_listed_module_that_drives_the_host_is_refused(void **state)
{
	two_amd_cards();
	cfg.unload = CFG_UNLOAD_LIST;
	strlcpy_chk(cfg.unload_list[0], "amdgpu", sizeof(cfg.unload_list[0]));
	cfg.n_unload = 1;
	fxd_plan(plan, "0000:07:00.0", "0000:07:00.1", NULL);
	assert_int_equal(plan_unload_modules(plan, &cfg), -EBUSY);
	assert_string_equal(reason_get(), "unload-modules lists amdgpu, but it also drives "
			    "0000:03:00.0, which stays on the host");
}

/* --- the step --- */

static struct step mkstep(const char *mod, const char *rec)
{
	struct step s;

	assert_int_equal(step_init(&s, STEP_UNLOAD_MODULE, mod), 0);
	assert_int_equal(step_rec_parse(&s, rec), 0);
	return s;
}

static void plan_steps(void)
{
	fxd_plan(plan, GPU, AUD, NULL);
	plan->host_display = true;
	assert_int_equal(plan_unload_modules(plan, &cfg), 0);
	assert_int_equal(plan->n_steps, 5);
}

static void test_unload_and_reload_restore_the_tree(void **state)
{
	struct step_env env = { "win10", &cfg };
	char *before, *after;

	nvidia_desktop();
	plan_steps();
	before = fx_snapshot();
	for (size_t i = 0; i < plan->n_steps; i++)
		assert_int_equal(step_apply(&plan->steps[i], &env), 0);
	assert_int_equal(fx_refcnt("nvidia"), -1);
	assert_int_equal(fx_refcnt("snd_hda_intel"), -1);
	/* rmmod unbinds silently: the lead's unbind step tolerates that. */
	assert_string_equal(fx_driver_of(GPU), "");
	for (size_t i = plan->n_steps; i-- > 0;)
		assert_int_equal(step_undo(&plan->steps[i], &env), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	/* Loaded back with no options of ours: modprobe.d's apply through the probe. */
	assert_string_equal(fx_module_options("nvidia"), "");
	free(before);
	free(after);
}

/* The planner records no options (modprobe.d and the kernel command line give them back
 * through the probe), so a record carrying some was not written by it: refused where
 * records are read, so it never reaches apply or undo, and nothing is loaded. */
static void test_record_with_options_is_refused(void **state)
{
	struct step s;

	nvidia_desktop();
	assert_int_equal(step_init(&s, STEP_UNLOAD_MODULE, "nvidia_drm"), 0);
	assert_int_equal(step_rec_parse(&s, "opts=modeset=1 fbdev=1"), -EINVAL);
	assert_int_equal(step_parse("unload-module\tnvidia_drm\topts=modeset=1 fbdev=1", &s),
			 -EINVAL);
	assert_int_equal(step_parse("unload-module\tnvidia\tdevs=0000:01:00.0@nvidia", &s), 0);
	assert_int_equal(s.unload_module.n_devs, 1);
	assert_string_equal(s.unload_module.devs[0].bdf, "0000:01:00.0");
	assert_string_equal(s.unload_module.devs[0].driver, "nvidia");
	assert_null(fx_module_options("nvidia_drm"));
}

static void test_module_held_by_a_module_fails_naming_it(void **state)
{
	struct step s = mkstep("nvidia", "devs=0000:01:00.0@nvidia");
	struct step_env env = { "win10", &cfg };

	nvidia_desktop();
	assert_int_equal(step_apply(&s, &env), -EBUSY);
	assert_string_equal(reason_get(), "module nvidia is in use: module nvidia_modeset holds it");
	assert_int_not_equal(fx_refcnt("nvidia"), -1);
}

static void test_module_in_use_by_a_process_fails_naming_it(void **state)
{
	const char *files[] = { "/dev/nvidiactl", NULL };
	struct step_env env = { "win10", &cfg };

	nvidia_desktop();
	plan_steps();
	fx_proc(FX_PID_BASE, "nvidia-smi", NULL, files);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(step_apply(&plan->steps[i], &env), 0);
	assert_int_equal(step_apply(&plan->steps[3], &env), -EBUSY);
	assert_string_equal(reason_get(), fx_fmt("module nvidia is in use: process %d "
						 "(nvidia-smi) holds /dev/nvidiactl", FX_PID_BASE));
	assert_string_equal(fx_driver_of(GPU), "nvidia");
}

static void test_stuck_module_fails_and_changes_nothing(void **state)
{
	struct step s = mkstep("snd_hda_intel", "devs=0000:01:00.1@snd_hda_intel");
	struct step_env env = { "win10", &cfg };
	char *before, *after;

	nvidia_desktop();
	fx_module_stuck("snd_hda_intel");
	before = fx_snapshot();
	assert_int_equal(step_apply(&s, &env), -EBUSY);
	assert_true(str_has_prefix(reason_get(), "module snd_hda_intel is still in use"));
	/* Undo of the failed step checks the present state and changes nothing. */
	assert_int_equal(step_undo(&s, &env), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(before);
	free(after);
}

/* A module whose load does not probe its devices (as with async probing gone wrong). */
static int noprobe_load(const char *name, const char *options)
{
	int r = fake_kernel_ops.module_load(name, options);

	if (r == 0 && strcmp(fx_driver_of(AUD), "snd_hda_intel") == 0)
		fake_kernel_ops.write_attr(fx_path("sys/bus/pci/drivers/snd_hda_intel/unbind"),
					   AUD);
	return r;
}

static void test_undo_binds_a_device_the_load_left_unbound(void **state)
{
	struct kernel_ops ops = fake_kernel_ops;
	struct step s = mkstep("snd_hda_intel", "devs=0000:01:00.1@snd_hda_intel");
	struct step_env env = { "win10", &cfg };

	nvidia_desktop();
	assert_int_equal(step_apply(&s, &env), 0);
	ops.module_load = noprobe_load;
	kernel_ops_set(&ops);
	assert_int_equal(step_undo(&s, &env), 0);
	kernel_ops_set(&fake_kernel_ops);
	assert_string_equal(fx_driver_of(AUD), "snd_hda_intel");
}

static void test_undo_of_a_step_never_applied_changes_nothing(void **state)
{
	struct step s = mkstep("nvidia", "devs=0000:01:00.0@nvidia");
	struct step_env env = { "win10", &cfg };
	int writes;

	nvidia_desktop();
	writes = fx_writes();
	assert_int_equal(step_undo(&s, &env), 0);
	assert_int_equal(fx_writes(), writes);
}

static void test_failed_load_is_reported(void **state)
{
	struct step s = mkstep("snd_hda_intel", "devs=0000:01:00.1@snd_hda_intel");
	struct step_env env = { "win10", &cfg };

	nvidia_desktop();
	assert_int_equal(step_apply(&s, &env), 0);
	fx_fail_on("module_load=snd_hda_intel", EIO);
	assert_int_equal(step_undo(&s, &env), -EIO);
	fx_fail_clear();
	/* Idempotent: a second undo (recover) finishes the job. */
	assert_int_equal(step_undo(&s, &env), 0);
	assert_string_equal(fx_driver_of(AUD), "snd_hda_intel");
}

static void test_bad_record_is_refused(void **state)
{
	struct step s;

	nvidia_desktop();
	assert_int_equal(step_init(&s, STEP_UNLOAD_MODULE, "nvidia"), 0);
	assert_int_equal(step_rec_parse(&s, "devs=garbage"), -EINVAL);
	assert_int_equal(step_rec_parse(&s, "devs=0000:01:00.0@nvidia,"), -EINVAL);
	assert_int_equal(step_parse("unload-module\tnvidia\tdevs=garbage@nvidia", &s), -EINVAL);
	assert_int_equal(step_parse("unload-module\tnvidia\tdevs=0000:01:00.0@", &s), -EINVAL);
	assert_int_equal(step_parse("unload-module\tnvidia\tdevs=0000:01:00.0@../x", &s), -EINVAL);
	assert_int_not_equal(fx_refcnt("nvidia"), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_holders_come_before_what_they_hold),
		T(test_single_gpu_unloads_the_nvidia_stack_and_audio),
		T(test_module_that_drives_a_host_card_stays),
		T(test_module_whose_holder_drives_a_host_device_stays),
		T(test_builtin_driver_is_not_unloaded),
		T(test_auto_unloads_nothing_for_a_secondary_gpu),
		T(test_unload_none_unloads_nothing),
		T(test_listed_modules_are_unloaded_outside_host_display_mode),
		T(test_listed_module_that_drives_the_host_is_refused),
		T(test_unload_and_reload_restore_the_tree),
		T(test_record_with_options_is_refused),
		T(test_module_held_by_a_module_fails_naming_it),
		T(test_module_in_use_by_a_process_fails_naming_it),
		T(test_stuck_module_fails_and_changes_nothing),
		T(test_undo_binds_a_device_the_load_left_unbound),
		T(test_undo_of_a_step_never_applied_changes_nothing),
		T(test_failed_load_is_reported),
		T(test_bad_record_is_refused),
	};
#undef T

	log_setup(LOG_TO_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
