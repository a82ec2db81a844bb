/* Tests for host-display detection and its plan steps, and for the console and boot
 * framebuffer steps and the check at the end of release. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "facts/display.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "plan/plan.h"
#include "steps/journal.h"
#include "steps/step.h"
#include "steps/verify.h"
#include "fixture.h"
#include "fixture_display.h"

#define IGPU "0000:00:02.0"
#define DGPU "0000:01:00.0"

static struct vm_config cfg;
static struct plan *plan;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	config_defaults(&cfg);
	cfg.timeout_ms = 500;
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

/* An iGPU alone: boot VGA, an internal panel, fbcon on its fb0, GDM running. */
static void laptop(void)
{
	fx_driver("i915", "i915");
	fx_pci(IGPU, 0x8086, 0xa7a0, 0x030000, "i915", 0, 1);
	fx_drm_card(0, IGPU, "i915", "eDP-1:connected");
	fx_fb(0, IGPU, "i915drmfb", "i915");
	fx_vtcon(0, "(S) dummy device", 0);
	fx_vtcon(1, "(M) frame buffer device", 1);
	fx_unit("gdm3.service", true);
	fx_unit_alias("display-manager.service", "gdm3.service");
}

static void test_boot_vga_alone_is_evidence(void **state)
{
	struct pcidev d;
	char ev[256];

	fx_driver("i915", "i915");
	fx_pci(IGPU, 0x8086, 0xa7a0, 0x030000, "i915", 0, 1);
	fxd_read(IGPU, &d);
	assert_int_equal(display_evidence(&d, ev, sizeof(ev)), 1);
	assert_string_equal(ev, "boot_vga=1");
}

static void test_fbcon_on_the_gpus_framebuffer_is_evidence(void **state)
{
	struct pcidev d;
	char ev[256];

	fx_driver("amdgpu", "amdgpu");
	fx_pci(DGPU, 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_fb(0, DGPU, "amdgpudrmfb", "amdgpu");
	fx_vtcon(0, "(S) dummy device", 0);
	fx_vtcon(1, "(M) frame buffer device", 1);
	fxd_read(DGPU, &d);
	assert_int_equal(display_evidence(&d, ev, sizeof(ev)), 1);
	assert_string_equal(ev, "frame buffer console on fb0");

	/* The same framebuffer without the console bound is no evidence. */
	fx_write("sys/class/vtconsole/vtcon1/bind", "0\n");
	assert_int_equal(display_evidence(&d, ev, sizeof(ev)), 0);
}

static void test_connected_output_is_evidence(void **state)
{
	struct pcidev d;
	char ev[256];

	fx_driver("amdgpu", "amdgpu");
	fx_pci(DGPU, 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_drm_card(1, DGPU, "amdgpu", "HDMI-A-1:connected DP-1:disconnected");
	fxd_read(DGPU, &d);
	assert_int_equal(display_evidence(&d, ev, sizeof(ev)), 1);
	assert_string_equal(ev, "connected card1-HDMI-A-1");
}

/* A guest GPU next to the host's iGPU: no evidence, no host-display step. */
static void test_secondary_gpu_is_not_the_host_display(void **state)
{
	laptop();
	fx_driver("amdgpu", "amdgpu");
	fx_pci(DGPU, 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_drm_card(1, DGPU, "amdgpu", "DP-1:disconnected");
	fx_fb(1, DGPU, "amdgpudrmfb", "amdgpu");
	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	fxd_plan(plan, DGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_false(plan->host_display);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "0000:01:00.0 does not drive the host display (boot_vga=0"));
}

static void test_single_gpu_plan_frees_the_display_in_order(void **state)
{
	laptop();
	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	fx_unit("nvidia-persistenced.service", false);
	strlcpy_chk(cfg.helper_units[0], "nvidia-persistenced.service", sizeof(cfg.helper_units[0]));
	cfg.n_helper_units = 1;
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_true(plan->host_display);
	assert_string_equal(fxd_steps(plan),
			    "stop-unit gdm3.service (display-manager.service)\n"
			    "end-holders 0000:00:02.0 (/dev/dri/card0 /dev/dri/renderD128 /dev/fb0)\n"
			    "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			    "unbind-fb efi-framebuffer.0 (efi-framebuffer)\n");
	assert_true(fxd_has_note(plan, "host display on 0000:00:02.0: boot_vga=1, frame buffer "
				 "console on fb0, connected card0-eDP-1"));
	assert_true(fxd_has_note(plan, "unit nvidia-persistenced.service is not active"));
}

static void test_active_helper_unit_is_stopped_after_the_display_manager(void **state)
{
	laptop();
	fx_unit("nvidia-persistenced.service", true);
	strlcpy_chk(cfg.helper_units[0], "nvidia-persistenced.service", sizeof(cfg.helper_units[0]));
	cfg.n_helper_units = 1;
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_true(str_has_prefix(fxd_steps(plan),
				   "stop-unit gdm3.service (display-manager.service)\n"
				   "stop-unit nvidia-persistenced.service\n"));
}

static void test_inactive_display_manager_gets_no_step(void **state)
{
	laptop();
	fx_unit("gdm3.service", false);
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_true(plan->host_display);
	assert_null(strstr(fxd_steps(plan), "stop-unit"));
	assert_true(fxd_has_note(plan, "display manager display-manager.service is not active"));
}

static void test_display_manager_none_gets_no_step(void **state)
{
	char *log;

	laptop();
	cfg.display_manager[0] = '\0';
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_null(strstr(fxd_steps(plan), "stop-unit"));
	log = fx_systemctl_log();
	assert_string_equal(log, "");
	free(log);
}

static void test_host_display_no_leaves_the_display_alone(void **state)
{
	laptop();
	cfg.host_display = CFG_NO;
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_false(plan->host_display);
	assert_string_equal(fxd_steps(plan), "");
	assert_true(fxd_has_note(plan, "host-display = no: 0000:00:02.0 seems to drive"));
}

static void test_host_display_yes_without_evidence(void **state)
{
	fx_driver("amdgpu", "amdgpu");
	fx_pci(DGPU, 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_unit("sddm.service", true);
	strlcpy_chk(cfg.display_manager, "sddm.service", sizeof(cfg.display_manager));
	cfg.host_display = CFG_YES;
	fxd_plan(plan, DGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_true(plan->host_display);
	assert_string_equal(fxd_steps(plan), "stop-unit sddm.service\n");
}

static void test_frame_buffer_console_is_found_by_name(void **state)
{
	/* Under SeaBIOS the frame buffer console is vtcon0 and the dummy vtcon1. */
	fx_driver("bochs", "bochs");
	fx_pci(IGPU, 0x1234, 0x1111, 0x030000, "bochs", 0, 1);
	fx_fb(0, IGPU, "bochs-drmdrmfb", "bochs");
	fx_vtcon(0, "(M) frame buffer device", 1);
	fx_vtcon(1, "(S) dummy device", 0);
	cfg.display_manager[0] = '\0';
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_non_null(strstr(fxd_steps(plan), "unbind-vtcon vtcon0 ((M) frame buffer device)\n"));
	assert_null(strstr(fxd_steps(plan), "vtcon1"));
}

static void test_only_bound_boot_framebuffers_get_a_step(void **state)
{
	laptop();
	fx_platform_fb("efi-framebuffer.0", NULL);
	fx_platform_fb("simple-framebuffer.0", "simpledrm");
	fxd_plan(plan, IGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_null(strstr(fxd_steps(plan), "efi-framebuffer"));
	assert_non_null(strstr(fxd_steps(plan), "unbind-fb simple-framebuffer.0 (simpledrm)\n"));
}

static void test_boot_framebuffer_of_another_gpu_stays(void **state)
{
	laptop();
	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	fx_driver("amdgpu", "amdgpu");
	fx_pci(DGPU, 0x1002, 0x73ff, 0x030000, "amdgpu", 18, 0);
	fx_drm_card(1, DGPU, "amdgpu", "HDMI-A-1:connected");
	fxd_plan(plan, DGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_true(plan->host_display);
	assert_null(strstr(fxd_steps(plan), "unbind-fb"));
	assert_true(fxd_has_note(plan, "boot framebuffer efi-framebuffer.0 stays"));
}

static void test_secondary_nvidia_gpu_gets_its_holders_checked(void **state)
{
	fx_driver("nvidia", "nvidia");
	fx_pci(DGPU, 0x10de, 0x2786, 0x030000, "nvidia", 13, 0);
	fx_devnode("dev/nvidia0", 'c', 195, 0, "nvidia", NULL);
	fxd_plan(plan, DGPU, NULL);
	assert_int_equal(plan_host_display(plan, &cfg), 0);
	assert_false(plan->host_display);
	assert_string_equal(fxd_steps(plan), "end-holders 0000:01:00.0 (/dev/nvidia0)\n");
}

/* --- unbind-vtcon --- */

static struct step mkstep(enum step_kind kind, const char *arg, const char *rec)
{
	struct step s;

	assert_int_equal(step_init(&s, kind, arg), 0);
	assert_int_equal(step_rec_parse(&s, rec), 0);
	return s;
}

static void test_vtcon_unbind_and_rebind(void **state)
{
	struct step s = mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device");
	struct step_env env = { "win10", &cfg };
	char *before, *after;

	laptop();
	before = fx_snapshot();
	assert_int_equal(step_apply(&s, &env), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "0");
	assert_int_equal(consoles_fb_bound(), 0);
	assert_int_equal(step_undo(&s, &env), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1");
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(before);
	free(after);
}

static void test_vtcon_in_graphics_mode_fails_clearly(void **state)
{
	struct step s = mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device");
	struct step_env env = { "win10", &cfg };

	laptop();
	cfg.timeout_ms = 100;
	fx_vt_graphics(true);
	assert_int_equal(step_apply(&s, &env), -EBUSY);
	assert_non_null(strstr(reason_get(), "vtcon1 ((M) frame buffer device) stayed bound: a "
			       "console is in graphics mode"));
}

static void test_vtcon_undo_finds_a_renumbered_console_by_name(void **state)
{
	struct step s = mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device");
	struct step_env env = { "win10", &cfg };

	laptop();
	assert_int_equal(step_apply(&s, &env), 0);
	/* vtcon1 went with the last framebuffer; the console came back as vtcon2. */
	fx_rm("sys/class/vtconsole/vtcon1");
	fx_rm("sys/devices/virtual/vtconsole/vtcon1");
	fx_vtcon(1, "(S) dummy device", 1);
	fx_vtcon(2, "(M) frame buffer device", 0);
	assert_int_equal(step_undo(&s, &env), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon2/bind"), "1");
}

static void test_vtcon_undo_tolerates_a_vanished_console(void **state)
{
	struct step s = mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device");
	struct step_env env = { "win10", &cfg };
	int writes;

	laptop();
	assert_int_equal(step_apply(&s, &env), 0);
	fx_rm("sys/class/vtconsole/vtcon1");
	fx_rm("sys/devices/virtual/vtconsole/vtcon1");
	writes = fx_writes();
	assert_int_equal(step_undo(&s, &env), 0);
	assert_int_equal(fx_writes(), writes);
}

static void test_vtcon_undo_never_touches_another_console(void **state)
{
	struct step s = mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device");
	struct step_env env = { "win10", &cfg };
	int writes;

	/* vtcon1 is now something else, and no frame buffer console exists. */
	fx_vtcon(0, "(S) dummy device", 1);
	fx_vtcon(1, "(M) newport console", 0);
	writes = fx_writes();
	assert_int_equal(step_undo(&s, &env), 0);
	assert_int_equal(fx_writes(), writes);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "0");
}

/* --- unbind-fb --- */

static void test_boot_framebuffer_unbind_and_rebind(void **state)
{
	struct step s = mkstep(STEP_UNBIND_FB, "efi-framebuffer.0", "efi-framebuffer");
	struct step_env env = { "win10", &cfg };
	char *before, *after;

	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	before = fx_snapshot();
	assert_int_equal(step_apply(&s, &env), 0);
	assert_false(fx_exists("sys/bus/platform/devices/efi-framebuffer.0/driver"));
	assert_int_equal(step_undo(&s, &env), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(before);
	free(after);
}

static void test_boot_framebuffer_failed_rebind_is_only_a_warning(void **state)
{
	struct step s = mkstep(STEP_UNBIND_FB, "efi-framebuffer.0", "efi-framebuffer");
	struct step_env env = { "win10", &cfg };

	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	assert_int_equal(step_apply(&s, &env), 0);
	fx_fail_on("*efi-framebuffer/bind=*", ENODEV);
	assert_int_equal(step_undo(&s, &env), 0);
	assert_false(fx_exists("sys/bus/platform/devices/efi-framebuffer.0/driver"));
}

static void test_boot_framebuffer_gone_at_undo_is_fine(void **state)
{
	struct step s = mkstep(STEP_UNBIND_FB, "efi-framebuffer.0", "efi-framebuffer");
	struct step_env env = { "win10", &cfg };

	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	assert_int_equal(step_apply(&s, &env), 0);
	fx_rm("sys/bus/platform/devices/efi-framebuffer.0");
	assert_int_equal(step_undo(&s, &env), 0);
}

/* --- after release --- */

static void test_verify_restored_reports_what_is_missing(void **state)
{
	struct step steps[2] = {
		mkstep(STEP_STOP_UNIT, "gdm3.service", "display-manager.service"),
		mkstep(STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device"),
	};
	struct journal_data d = { .vm = "win10", .steps = steps, .n_steps = 2 };

	laptop();
	cfg.timeout_ms = 100;
	assert_int_equal(display_verify_restored(&d, &cfg), 0);
	fx_unit("gdm3.service", false);
	assert_int_equal(display_verify_restored(&d, &cfg), -EIO);
	fx_unit("gdm3.service", true);
	fx_write("sys/class/vtconsole/vtcon1/bind", "0\n");
	assert_int_equal(display_verify_restored(&d, &cfg), -EIO);
	/* The checks leave no reason behind: release has no failure to report. */
	assert_string_equal(reason_get(), "");
}

static void test_verify_restored_skips_a_plain_hand_off(void **state)
{
	struct step steps[1] = { mkstep(STEP_UNBIND, IGPU, "i915") };
	struct journal_data d = { .vm = "win10", .steps = steps, .n_steps = 1 };
	char *log;

	assert_int_equal(display_verify_restored(&d, &cfg), 0);
	log = fx_systemctl_log();
	assert_string_equal(log, "");
	free(log);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_boot_vga_alone_is_evidence),
		T(test_fbcon_on_the_gpus_framebuffer_is_evidence),
		T(test_connected_output_is_evidence),
		T(test_secondary_gpu_is_not_the_host_display),
		T(test_single_gpu_plan_frees_the_display_in_order),
		T(test_active_helper_unit_is_stopped_after_the_display_manager),
		T(test_inactive_display_manager_gets_no_step),
		T(test_display_manager_none_gets_no_step),
		T(test_host_display_no_leaves_the_display_alone),
		T(test_host_display_yes_without_evidence),
		T(test_frame_buffer_console_is_found_by_name),
		T(test_only_bound_boot_framebuffers_get_a_step),
		T(test_boot_framebuffer_of_another_gpu_stays),
		T(test_secondary_nvidia_gpu_gets_its_holders_checked),
		T(test_vtcon_unbind_and_rebind),
		T(test_vtcon_in_graphics_mode_fails_clearly),
		T(test_vtcon_undo_finds_a_renumbered_console_by_name),
		T(test_vtcon_undo_tolerates_a_vanished_console),
		T(test_vtcon_undo_never_touches_another_console),
		T(test_boot_framebuffer_unbind_and_rebind),
		T(test_boot_framebuffer_failed_rebind_is_only_a_warning),
		T(test_boot_framebuffer_gone_at_undo_is_fine),
		T(test_verify_restored_reports_what_is_missing),
		T(test_verify_restored_skips_a_plain_hand_off),
	};
#undef T

	log_setup(LOG_TO_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
