/* Drivers' habits through the whole engine on the fake kernel: a laptop whose HD audio pins
 * i915 through the HDMI component, a single AMD GPU whose HDMI audio shares snd_hda_intel
 * with the chipset's audio, an NVIDIA card with its USB-C functions. Each: the plan, then
 * prepare and release back to the exact starting tree. */
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
#include "kernel/kernel.h"
#include "plan/plan.h"
#include "steps/holders.h"
#include "fakekernel.h"
#include "fixture.h"
#include "fixture_display.h"
#include "topology_habits.h"

#define VM "win10"
/* Every wait's bound. A module pinned by a bound component never lets go: an unload step
 * that waited for one would fail prepare once this ran out, so success is the check. */
#define TIMEOUT_MS 8000

static struct vm_config cfg;
static struct plan *plan;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	holders_set_kill(NULL);
	config_defaults(&cfg);
	cfg.timeout_ms = TIMEOUT_MS;
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

/* The VM asks for these devices (NULL-terminated); whole groups come along. */
static void want(const char *bdf, ...)
{
	va_list ap;

	cfg.devices = CFG_DEVICES_LIST;
	cfg.n_devices = 0;
	va_start(ap, bdf);
	for (const char *b = bdf; b; b = va_arg(ap, const char *))
		assert_int_equal(bdf_parse(b, &cfg.device_list[cfg.n_devices++]), 0);
	va_end(ap);
}

static void unload_list(const char *mod)
{
	cfg.unload = CFG_UNLOAD_LIST;
	strlcpy_chk(cfg.unload_list[cfg.n_unload++], mod, sizeof(cfg.unload_list[0]));
}

/* The VM's opt-in file, so release finds the same timeout. */
static void opt_in(void)
{
	config_set_required_owner(getuid());
	fx_write("etc/vfio-handoff/vm.d/" VM ".conf", "timeout = 8\n");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/" VM ".conf"), 0644), 0);
}

static const char *plan_text(void)
{
	plan_free(plan);
	reason_clear();
	assert_int_equal(plan_build(VM, &cfg, NULL, plan), 0);
	return fxd_steps(plan);
}

/* Prepare; on failure the reason and how long it took go to stderr. */
static int prepare(void)
{
	int64_t t0 = now_ms();
	int r;

	reason_clear();
	opt_in();
	r = engine_prepare(VM, &cfg, NULL, false, NULL);
	if (r < 0)
		fprintf(stderr, "prepare: %d after %lld ms: %s\n", r, (long long)(now_ms() - t0),
			reason_get());
	return r;
}

static void release_to(const char *before)
{
	assert_int_equal(engine_release(VM), 0);
	fx_assert_same_but_design(before);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
}

/* --- The laptop: snd_hda_intel pins i915 through the HDMI audio component --- */

static const char *const i915_holder_link =
    "sys/devices/pci0000:00/" TL_IGPU "/consumer:pci:" TL_AUDIO;

static void test_laptop_hda_pins_i915_without_a_holders_entry(void **state)
{
	int refs;

	fx_topology_laptop_hdmi();
	assert_false(fx_exists("sys/module/i915/holders/snd_hda_intel"));
	assert_true(fx_exists(i915_holder_link));
	refs = fx_refcnt("i915");
	/* fbcon, gnome-shell's two nodes, the component. */
	assert_int_equal(refs, 4);
	assert_int_equal(fake_kernel_ops.module_remove("i915"), -EBUSY);
	/* Unbinding the HDA function unbinds the component: the reference and link go. */
	assert_int_equal(fake_kernel_ops.write_attr(
			     fx_path("sys/bus/pci/drivers/snd_hda_intel/unbind"), TL_AUDIO),
			 0);
	assert_int_equal(fx_refcnt("i915"), refs - 1);
	assert_false(fx_exists(i915_holder_link));
	assert_int_equal(
	    fake_kernel_ops.write_attr(fx_path("sys/bus/pci/drivers/snd_hda_intel/bind"), TL_AUDIO),
	    0);
	assert_int_equal(fx_refcnt("i915"), refs);
	assert_true(fx_exists(i915_holder_link));
}

/* The HDA function stays on the host: i915 cannot go while it is bound, so i915 stays
 * loaded and the iGPU is unbound only (which unbinds the component). */
static void test_laptop_igpu_alone_keeps_i915_loaded(void **state)
{
	fx_topology_laptop_hdmi();
	want(TL_IGPU, NULL);
	assert_string_equal(
	    plan_text(), "stop-unit gdm.service (display-manager.service)\n"
			 "end-holders 0000:00:02.0 (/dev/dri/card0 /dev/dri/renderD128 /dev/fb0)\n"
			 "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			 "load-module vfio-pci (disable_vga=1)\n"
			 "override 0000:00:02.0\n"
			 "unbind 0000:00:02.0 (i915)\n"
			 "bind-vfio 0000:00:02.0\n");
	assert_true(fxd_has_note(plan, "module i915 stays loaded: snd_hda_intel holds it through "
				       "the HDMI audio component of 0000:00:1f.3, which stays on "
				       "the host; devices are unbound only"));
}

static void test_laptop_igpu_alone_hands_over_without_waiting(void **state)
{
	char *before;

	fx_topology_laptop_hdmi();
	want(TL_IGPU, NULL);
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(TL_IGPU), "vfio-pci");
	assert_string_equal(fx_driver_of(TL_AUDIO), "snd_hda_intel");
	assert_true(fx_refcnt("i915") >= 0);
	assert_false(fx_exists(i915_holder_link));
	release_to(before);
	assert_true(fx_exists(i915_holder_link));
	free(before);
}

/* Both handed over: snd_hda_intel goes first, which unbinds the component; then i915. */
static void test_laptop_igpu_and_audio_unload_audio_first(void **state)
{
	char *before;

	fx_topology_laptop_hdmi();
	want(TL_IGPU, TL_AUDIO, NULL);
	assert_string_equal(
	    plan_text(), "stop-unit gdm.service (display-manager.service)\n"
			 "end-holders 0000:00:02.0 (/dev/dri/card0 /dev/dri/renderD128 /dev/fb0)\n"
			 "end-holders 0000:00:1f.3 (/dev/snd/controlC0)\n"
			 "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			 "unload-module snd_hda_intel (devs=0000:00:1f.3@snd_hda_intel)\n"
			 "unload-module i915 (devs=0000:00:02.0@i915)\n"
			 "load-module vfio-pci (disable_vga=1)\n"
			 "override 0000:00:02.0\n"
			 "override 0000:00:1f.3\n"
			 "unbind 0000:00:02.0 (i915)\n"
			 "unbind 0000:00:1f.3 (snd_hda_intel)\n"
			 "bind-vfio 0000:00:02.0\n"
			 "bind-vfio 0000:00:1f.3\n");
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_int_equal(fx_refcnt("i915"), -1);
	assert_int_equal(fx_refcnt("snd_hda_intel"), -1);
	assert_string_equal(fx_driver_of(TL_AUDIO), "vfio-pci");
	release_to(before);
	free(before);
}

/* Listed by hand while the HDA function stays: refused in one line that says what to do. */
static void test_laptop_i915_listed_is_refused_with_advice(void **state)
{
	fx_topology_laptop_hdmi();
	want(TL_IGPU, NULL);
	unload_list("i915");
	reason_clear();
	assert_int_equal(plan_build(VM, &cfg, NULL, plan), -EBUSY);
	assert_string_equal(reason_get(),
			    "unload-modules lists i915, but snd_hda_intel holds it through the "
			    "HDMI audio component of 0000:00:1f.3 (not shown in "
			    "/sys/module/i915/holders): hand 0000:00:1f.3 over and list "
			    "snd_hda_intel too, or leave i915 out to unbind its devices only");
}

/* Both listed, audio second: the audio module still goes first. */
static void test_laptop_both_listed_unload_audio_first(void **state)
{
	fx_topology_laptop_hdmi();
	want(TL_IGPU, TL_AUDIO, NULL);
	unload_list("i915");
	unload_list("snd_hda_intel");
	assert_non_null(strstr(plan_text(), "unload-module snd_hda_intel "
					    "(devs=0000:00:1f.3@snd_hda_intel)\n"
					    "unload-module i915 (devs=0000:00:02.0@i915)\n"));
}

/* --- A single AMD GPU; its HDMI audio and the chipset's audio share snd_hda_intel --- */

static void test_amd_plan_keeps_snd_hda_intel_for_the_chipset(void **state)
{
	fx_topology_amd_hdmi();
	want(TA_GPU, NULL);
	assert_string_equal(
	    plan_text(), "stop-unit gdm.service (display-manager.service)\n"
			 "end-holders 0000:01:00.0 (/dev/dri/card0 /dev/dri/renderD128 /dev/fb0)\n"
			 "end-holders 0000:01:00.1 (/dev/snd/controlC1)\n"
			 "unbind-vtcon vtcon1 ((M) frame buffer device)\n"
			 "unload-module amdgpu (devs=0000:01:00.0@amdgpu)\n"
			 "load-module vfio-pci (disable_vga=1)\n"
			 "override 0000:01:00.0\n"
			 "override 0000:01:00.1\n"
			 "unbind 0000:01:00.0 (amdgpu)\n"
			 "unbind 0000:01:00.1 (snd_hda_intel)\n"
			 "bind-vfio 0000:01:00.0\n"
			 "bind-vfio 0000:01:00.1\n");
	assert_true(fxd_has_note(plan, "module snd_hda_intel stays loaded: it also drives "
				       "0000:00:1f.3; devices are unbound only"));
}

static void test_amd_chipset_audio_keeps_its_driver(void **state)
{
	char *before;

	fx_topology_amd_hdmi();
	want(TA_GPU, NULL);
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	/* amdgpu's audio component pins nothing: its removal goes through. */
	assert_string_equal(fx_driver_of(TA_GPU), "vfio-pci");
	assert_string_equal(fx_driver_of(TA_AUDIO), "vfio-pci");
	assert_string_equal(fx_driver_of(TA_CHIPSET_AUDIO), "snd_hda_intel");
	assert_int_equal(fx_refcnt("amdgpu"), -1);
	assert_true(fx_refcnt("snd_hda_intel") >= 0);
	assert_true(fx_exists("dev/snd/controlC0"));
	assert_false(fx_exists("dev/snd/controlC1"));
	/* The quirk's link stays whatever the drivers. */
	assert_true(fx_exists("sys/devices/pci0000:00/" TA_GPU "/consumer:pci:" TA_AUDIO));
	release_to(before);
	assert_string_equal(fx_driver_of(TA_CHIPSET_AUDIO), "snd_hda_intel");
	assert_string_equal(fx_driver_of(TA_AUDIO), "snd_hda_intel");
	free(before);
}

/* --- An NVIDIA card with its USB-C functions --- */

static void test_nvidia_usbc_plan_unbinds_every_function(void **state)
{
	fx_topology_nvidia_usbc();
	want(TN_GPU, NULL);
	assert_string_equal(plan_text(),
			    "end-holders 0000:01:00.0 (/dev/dri/card1 /dev/dri/renderD129 "
			    "/dev/nvidia0 /dev/nvidiactl)\n"
			    "load-module vfio-pci\n"
			    "override 0000:01:00.0\n"
			    "override 0000:01:00.1\n"
			    "override 0000:01:00.2\n"
			    "override 0000:01:00.3\n"
			    "unbind 0000:01:00.0 (nvidia)\n"
			    "unbind 0000:01:00.1 (snd_hda_intel)\n"
			    "unbind 0000:01:00.2 (xhci_hcd)\n"
			    "unbind 0000:01:00.3 (nvidia-gpu)\n"
			    "bind-vfio 0000:01:00.0\n"
			    "bind-vfio 0000:01:00.1\n"
			    "bind-vfio 0000:01:00.2\n"
			    "bind-vfio 0000:01:00.3\n");
	assert_false(plan->host_display);
}

static void test_nvidia_usbc_prepare_and_release_restore_every_driver(void **state)
{
	static const char *const kept[] = {"xhci_hcd", "xhci_pci",	"i2c_nvidia_gpu",
					   "ucsi_ccg", "snd_hda_intel", "nvidia"};
	static const char *const fns[] = {TN_GPU, TN_AUDIO, TN_USB, TN_UCSI};
	char *before;

	fx_topology_nvidia_usbc();
	want(TN_GPU, NULL);
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		assert_string_equal(fx_driver_of(fns[i]), "vfio-pci");
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		assert_true(fx_refcnt(kept[i]) >= 0);
	assert_string_equal(fx_driver_of(TN_CHIPSET_USB), "xhci_hcd");
	assert_string_equal(fx_driver_of(TN_CHIPSET_AUDIO), "snd_hda_intel");
	/* The CCGx client went with nvidia-gpu's adapter. */
	assert_false(fx_exists("sys/bus/i2c/devices/" TN_UCSI_CLIENT));
	release_to(before);
	assert_string_equal(fx_driver_of(TN_USB), "xhci_hcd");
	assert_string_equal(fx_driver_of(TN_UCSI), "nvidia-gpu");
	assert_true(fx_exists("sys/bus/i2c/drivers/ucsi_ccg/" TN_UCSI_CLIENT));
	free(before);
}

/* Even as the host display: xhci_pci and snd_hda_intel stay for the chipset's functions;
 * i2c_nvidia_gpu, which drives nothing else, is removed and loaded back, and its CCGx
 * client comes back on ucsi_ccg. */
static void test_nvidia_usbc_as_host_display_keeps_the_shared_drivers(void **state)
{
	char *before;

	fx_topology_nvidia_usbc();
	want(TN_GPU, NULL);
	cfg.host_display = CFG_YES;
	plan_text();
	assert_true(fxd_has_note(plan, "module xhci_pci stays loaded: it also drives "
				       "0000:00:14.0; devices are unbound only"));
	assert_null(strstr(fxd_steps(plan), "unload-module xhci"));
	assert_null(strstr(fxd_steps(plan), "unload-module snd_hda_intel"));
	assert_null(strstr(fxd_steps(plan), "unload-module ucsi_ccg"));
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_int_equal(fx_refcnt("nvidia"), -1);
	assert_int_equal(fx_refcnt("i2c_nvidia_gpu"), -1);
	assert_true(fx_refcnt("xhci_pci") >= 0);
	assert_true(fx_refcnt("ucsi_ccg") >= 0);
	assert_string_equal(fx_driver_of(TN_CHIPSET_USB), "xhci_hcd");
	assert_string_equal(fx_driver_of(TN_USB), "vfio-pci");
	release_to(before);
	assert_string_equal(fx_driver_of(TN_UCSI), "nvidia-gpu");
	assert_true(fx_exists("sys/bus/i2c/drivers/ucsi_ccg/" TN_UCSI_CLIENT));
	free(before);
}

static void test_nvidia_usbc_xhci_listed_is_refused(void **state)
{
	fx_topology_nvidia_usbc();
	want(TN_GPU, NULL);
	unload_list("xhci_pci");
	reason_clear();
	assert_int_equal(plan_build(VM, &cfg, NULL, plan), -EBUSY);
	assert_non_null(strstr(reason_get(), "0000:00:14.0"));
}

/* Prepares once to count the kernel operations, then fails each one in turn on a fresh
 * tree: every rollback must give back the exact starting tree, component and device links
 * included. */
static void fail_at_every_op(void (*build)(void))
{
	int ops, base;

	build();
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
				 "%d line(s) differ",
				 k, ops, r, reason_get(), diff);
	}
}

static void test_laptop_igpu_and_audio_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	want(TL_IGPU, TL_AUDIO, NULL);
	fail_at_every_op(fx_topology_laptop_hdmi);
}

static void test_nvidia_usbc_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	want(TN_GPU, NULL);
	fail_at_every_op(fx_topology_nvidia_usbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_laptop_hda_pins_i915_without_a_holders_entry,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_laptop_igpu_alone_keeps_i915_loaded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_laptop_igpu_alone_hands_over_without_waiting,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_laptop_igpu_and_audio_unload_audio_first, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_laptop_i915_listed_is_refused_with_advice, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_laptop_both_listed_unload_audio_first, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_amd_plan_keeps_snd_hda_intel_for_the_chipset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_amd_chipset_audio_keeps_its_driver, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_nvidia_usbc_plan_unbinds_every_function, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_nvidia_usbc_prepare_and_release_restore_every_driver, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_nvidia_usbc_as_host_display_keeps_the_shared_drivers, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_laptop_igpu_and_audio_failure_at_every_kernel_op_restores_the_tree, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_nvidia_usbc_failure_at_every_kernel_op_restores_the_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nvidia_usbc_xhci_listed_is_refused, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
