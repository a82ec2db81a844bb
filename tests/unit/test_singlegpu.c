/* Single-GPU hand-offs through the whole engine on the fake kernel: topologies 4 (laptop
 * iGPU) and 5 (NVIDIA desktop) planned, prepared, released, and rolled back after a
 * failure at every kernel operation, each time back to the exact starting tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "front/engine.h"
#include "input/config.h"
#include "plan/plan.h"
#include "steps/holders.h"
#include "fixture.h"
#include "fixture_display.h"
#include "topologies.h"

#define VM "win10"

static struct vm_config cfg;
static struct plan *plan;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	holders_set_kill(NULL);
	config_defaults(&cfg);
	/* The fake systemctl is a shell script: on a loaded machine a command can take over
	 * a second. Tests that wait for something that never happens shorten this. */
	cfg.timeout_ms = 8000;
	cfg.kill_grace_ms = 100;
	plan = calloc(1, sizeof(*plan));
	return r || !plan;
}

static int teardown(void **state)
{
	if (plan)
		plan_free(plan);
	free(plan);
	plan = NULL;
	holders_set_kill(NULL);
	reason_clear();
	return fx_cmocka_teardown(state);
}

/* The VM asks for one device; the whole group comes along. */
static void want(const char *bdf)
{
	cfg.devices = CFG_DEVICES_LIST;
	assert_int_equal(bdf_parse(bdf, &cfg.device_list[0]), 0);
	cfg.n_devices = 1;
}

static void helper_unit(const char *unit)
{
	strlcpy_chk(cfg.helper_units[cfg.n_helper_units++], unit, sizeof(cfg.helper_units[0]));
}

/* The VM's opt-in file, so release finds the same timeouts. */
static void opt_in(void)
{
	config_set_required_owner(getuid());
	fx_write("etc/vfio-handoff/vm.d/" VM ".conf", "timeout = 8\n");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/" VM ".conf"), 0644), 0);
}

static const char *plan_text(void)
{
	plan_free(plan);
	assert_int_equal(plan_build(VM, &cfg, NULL, plan), 0);
	return fxd_steps(plan);
}

static int prepare(void)
{
	reason_clear();
	return engine_prepare(VM, &cfg, NULL, false, NULL);
}

static void test_topology4_plan(void **state)
{
	fx_topology4();
	want(T4_IGPU);
	assert_string_equal(plan_text(),
			    "stop-unit gdm.service (display-manager.service)\n"
			    "end-holders 0000:00:02.0 (/dev/dri/card0 /dev/dri/renderD128 /dev/fb0)\n"
			    "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			    "unload-module i915 (devs=0000:00:02.0@i915)\n"
			    "load-module vfio-pci (disable_vga=1)\n"
			    "override 0000:00:02.0\n"
			    "unbind 0000:00:02.0 (i915)\n"
			    "bind-vfio 0000:00:02.0\n");
	assert_true(plan->host_display);
	assert_true(fxd_has_note(plan, "host display on 0000:00:02.0: boot_vga=1, frame buffer "
				 "console on fb0, connected card0-eDP-1"));
}

/* The hook's prepare prints nothing, so the plan carries hex ids (no pci.ids table in its
 * memory); plan_print() names the devices where it prints them. */
static void test_plan_names_devices_only_when_printed(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	fx_topology4();
	want(T4_IGPU);
	plan_text();
	assert_string_equal(plan->devs[0].desc, fx_fmt("[%04x:%04x]", plan->devs[0].vendor,
						       plan->devs[0].device));
	assert_string_equal(plan->devs[0].class_desc, "[0300]");
	f = open_memstream(&out, &len);
	assert_non_null(f);
	plan_print(plan, f);
	fclose(f);
	assert_non_null(strstr(out, "0000:00:02.0  VGA compatible controller [0300]: "));
	free(out);
}

static void test_topology5_plan(void **state)
{
	fx_topology5();
	want(T5_GPU);
	helper_unit("nvidia-persistenced.service");
	assert_string_equal(plan_text(),
			    "stop-unit gdm.service (display-manager.service)\n"
			    "stop-unit nvidia-persistenced.service\n"
			    "end-holders 0000:01:00.0 (/dev/dri/card0 /dev/dri/renderD128 "
			    "/dev/nvidia-modeset /dev/nvidia-uvm /dev/nvidia-uvm-tools /dev/nvidia0 "
			    "/dev/nvidiactl)\n"
			    "end-holders 0000:01:00.1 (/dev/snd/controlC0)\n"
			    "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			    "unbind-fb efi-framebuffer.0 (efi-framebuffer)\n"
			    "unload-module nvidia_drm\n"
			    "unload-module nvidia_modeset\n"
			    "unload-module nvidia_uvm\n"
			    "unload-module nvidia (devs=0000:01:00.0@nvidia)\n"
			    "unload-module snd_hda_intel (devs=0000:01:00.1@snd_hda_intel)\n"
			    "load-module vfio-pci (disable_vga=1)\n"
			    "override 0000:01:00.0\n"
			    "override 0000:01:00.1\n"
			    "unbind 0000:01:00.0 (nvidia)\n"
			    "unbind 0000:01:00.1 (snd_hda_intel)\n"
			    "bind-vfio 0000:01:00.0\n"
			    "bind-vfio 0000:01:00.1\n");
}

static void test_topology3_keeps_amdgpu_for_the_host_card(void **state)
{
	fx_topology3();
	want(T3_GPU);
	/* Even when told the guest card is the host display. */
	cfg.host_display = CFG_YES;
	cfg.display_manager[0] = '\0';
	assert_null(strstr(plan_text(), "unload-module"));
	assert_true(fxd_has_note(plan, "module amdgpu stays loaded: it also drives 0000:03:00.0"));
	assert_non_null(strstr(fxd_steps(plan), "unbind 0000:07:00.0 (amdgpu)\n"));
}

static void test_topology1_secondary_gpu_is_no_host_display(void **state)
{
	fx_topology1();
	want(T1_GPU);
	plan_text();
	assert_false(plan->host_display);
	assert_null(strstr(fxd_steps(plan), "stop-unit"));
	assert_null(strstr(fxd_steps(plan), "unload-module"));
	assert_null(strstr(fxd_steps(plan), "unbind-vtcon"));
}

static void hand_off_and_back(const char *gpu)
{
	char *before = fx_snapshot();

	opt_in();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(gpu), "vfio-pci");
	assert_string_equal(fx_unit_state("display-manager.service"), "inactive");
	assert_int_equal(engine_release(VM), 0);
	fx_assert_same_but_design(before);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

static void test_topology4_prepare_and_release_restore_the_tree(void **state)
{
	fx_topology4();
	want(T4_IGPU);
	hand_off_and_back(T4_IGPU);
}

static void test_topology5_prepare_and_release_restore_the_tree(void **state)
{
	char *before;

	fx_topology5();
	want(T5_GPU);
	helper_unit("nvidia-persistenced.service");
	before = fx_snapshot();
	opt_in();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(T5_GPU), "vfio-pci");
	assert_string_equal(fx_driver_of(T5_AUDIO), "vfio-pci");
	assert_int_equal(fx_refcnt("nvidia"), -1);
	assert_string_equal(fx_unit_state("nvidia-persistenced.service"), "inactive");
	assert_false(fx_exists("sys/bus/platform/devices/efi-framebuffer.0/driver"));
	assert_int_equal(engine_release(VM), 0);
	fx_assert_same_but_design(before);
	free(before);
}

/* The GPU's and its audio function's end-holders steps share one /proc scan for the group. */
static void test_topology5_scans_proc_once_for_the_group(void **state)
{
	unsigned scans;

	fx_topology5();
	want(T5_GPU);
	helper_unit("nvidia-persistenced.service");
	opt_in();
	scans = holders_scan_count();
	assert_int_equal(prepare(), 0);
	assert_int_equal(holders_scan_count() - scans, 1);
	assert_string_equal(fx_driver_of(T5_AUDIO), "vfio-pci");
	assert_int_equal(engine_release(VM), 0);
}

/* A holder of the second function's node, seen by the group's scan, is still waited for by
 * that function's own step. */
static void test_topology5_holder_of_the_audio_function_is_refused(void **state)
{
	cfg.timeout_ms = 3000; /* what is waited for never happens */
	const char *files[] = { "/dev/snd/controlC0", NULL };
	char *before;

	fx_topology5();
	fx_proc(FX_PID_BASE + 91, "pipewire", NULL, files);
	want(T5_GPU);
	helper_unit("nvidia-persistenced.service");
	before = fx_snapshot();
	assert_int_equal(prepare(), -EBUSY);
	assert_string_equal(reason_get(), fx_fmt("process %d (pipewire) holds /dev/snd/controlC0: "
						 "stop it, or set holders = kill",
						 FX_PID_BASE + 91));
	fx_assert_same_but_design(before);
	free(before);
}

static void test_topology5_unlisted_persistenced_is_refused_by_name(void **state)
{
	cfg.timeout_ms = 3000; /* what is waited for never happens */
	char *before;

	fx_topology5();
	want(T5_GPU);
	before = fx_snapshot();
	assert_int_equal(prepare(), -EBUSY);
	assert_non_null(strstr(reason_get(), fx_fmt("process %d (nvidia-persiste) holds /dev/",
						    T5_PERSISTENCED_PID)));
	fx_assert_same_but_design(before);
	assert_string_equal(fx_unit_state("display-manager.service"), "active");
	free(before);
}

static void test_holder_that_does_not_exit_rolls_everything_back(void **state)
{
	cfg.timeout_ms = 3000; /* what is waited for never happens */
	const char *files[] = { "/dev/dri/renderD128", NULL };
	char *before;

	fx_topology4();
	/* A session process outside the display manager's unit. */
	fx_proc(FX_PID_BASE + 90, "steam", NULL, files);
	want(T4_IGPU);
	before = fx_snapshot();
	assert_int_equal(prepare(), -EBUSY);
	assert_string_equal(reason_get(), fx_fmt("process %d (steam) holds /dev/dri/renderD128: "
						 "stop it, or set holders = kill",
						 FX_PID_BASE + 90));
	fx_assert_same_but_design(before);
	assert_string_equal(fx_unit_state("display-manager.service"), "active");
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

static int end_on_term(pid_t pid, int sig)
{
	fx_proc_exit((int)pid);
	return 0;
}

static void test_kill_mode_ends_a_holder_and_hands_off(void **state)
{
	const char *files[] = { "/dev/dri/card0", NULL };

	fx_topology4();
	fx_proc(FX_PID_BASE + 90, "steam", NULL, files);
	want(T4_IGPU);
	cfg.holders = CFG_HOLDERS_KILL;
	holders_set_kill(end_on_term);
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(T4_IGPU), "vfio-pci");
	assert_false(fx_exists(fx_fmt("proc/%d", FX_PID_BASE + 90)));
}

static void test_module_that_will_not_unload_rolls_back(void **state)
{
	cfg.timeout_ms = 3000; /* what is waited for never happens */
	char *before;

	fx_topology5();
	want(T5_GPU);
	helper_unit("nvidia-persistenced.service");
	fx_module_stuck("nvidia");
	before = fx_snapshot();
	assert_int_equal(prepare(), -EBUSY);
	assert_true(str_has_prefix(reason_get(), "module nvidia is still in use"));
	fx_assert_same_but_design(before);
	assert_int_not_equal(fx_refcnt("nvidia_drm"), -1);
	free(before);
}

static void test_refused_display_manager_stop_changes_nothing(void **state)
{
	char *before;

	fx_topology4();
	want(T4_IGPU);
	fx_unit_refuse_stop("gdm.service");
	before = fx_snapshot();
	assert_int_equal(prepare(), -EIO);
	assert_true(str_has_prefix(reason_get(), "systemctl stop gdm.service failed"));
	fx_assert_same_but_design(before);
	free(before);
}

/* Prepares once to count the kernel operations, then fails each one in turn on a fresh
 * tree: every rollback must give back the exact starting tree. */
static void fail_at_every_op(void (*build)(void), const char *gpu, const char *helper)
{
	int ops, base;

	build();
	want(gpu);
	if (helper)
		helper_unit(helper);
	base = fx_writes();
	assert_int_equal(prepare(), 0);
	ops = fx_writes() - base;
	assert_true(ops >= 5);
	for (int k = 1; k <= ops; k++) {
		char *before;
		int r, diff;

		fx_setup();
		build();
		before = fx_snapshot();
		fx_fail_write_at(fx_writes() + k, EIO);
		r = prepare();
		diff = fx_diff_but_design(before);
		free(before);
		if (r == 0 || diff != 0)
			fail_msg("failure at kernel op %d of %d: prepare returned %d, reason '%s', "
				 "%d line(s) differ", k, ops, r, reason_get(), diff);
		assert_true(reason_get()[0] != '\0');
	}
}

static void test_topology4_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	fail_at_every_op(fx_topology4, T4_IGPU, NULL);
}

static void test_topology5_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	fail_at_every_op(fx_topology5, T5_GPU, "nvidia-persistenced.service");
}

static void test_release_reports_a_display_manager_that_stays_down(void **state)
{
	fx_topology4();
	want(T4_IGPU);
	opt_in();
	assert_int_equal(prepare(), 0);
	fx_unit_refuse_start("gdm.service");
	/* Release always finishes the rest; the step that failed stays for recover. */
	assert_int_equal(engine_release(VM), -EIO);
	assert_string_equal(fx_driver_of(T4_IGPU), "i915");
	assert_int_equal(fx_exists("sys/class/vtconsole/vtcon1/bind") &&
			 strcmp(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1") == 0, 1);
	assert_true(fx_exists("run/vfio-handoff/" VM ".journal"));
	fx_rm("run/fake-systemd/gdm.service.refuse-start");
	assert_int_equal(engine_recover(VM), 0);
	assert_string_equal(fx_unit_state("gdm.service"), "active");
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_topology4_plan),
		T(test_plan_names_devices_only_when_printed),
		T(test_topology5_plan),
		T(test_topology3_keeps_amdgpu_for_the_host_card),
		T(test_topology1_secondary_gpu_is_no_host_display),
		T(test_topology4_prepare_and_release_restore_the_tree),
		T(test_topology5_prepare_and_release_restore_the_tree),
		T(test_topology5_scans_proc_once_for_the_group),
		T(test_topology5_holder_of_the_audio_function_is_refused),
		T(test_topology5_unlisted_persistenced_is_refused_by_name),
		T(test_holder_that_does_not_exit_rolls_everything_back),
		T(test_kill_mode_ends_a_holder_and_hands_off),
		T(test_module_that_will_not_unload_rolls_back),
		T(test_refused_display_manager_stop_changes_nothing),
		T(test_topology4_failure_at_every_kernel_op_restores_the_tree),
		T(test_topology5_failure_at_every_kernel_op_restores_the_tree),
		T(test_release_reports_a_display_manager_that_stays_down),
	};
#undef T

	/* VH_TEST_VERBOSE=1 shows the engine's log; VH_TEST_FILTER=pattern picks tests. */
	log_setup(LOG_TO_STDERR, getenv("VH_TEST_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
	if (getenv("VH_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
