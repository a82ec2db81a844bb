/* A boot console on simpledrm (topology_simpledrm.h), through the whole engine on the fake
 * kernel: the hand-off before the native driver took over frees simpledrm's device, and
 * the give-back brings it back; after the native driver took over there is no boot
 * framebuffer to free, and the console returns with the native driver. Each time back to
 * the exact starting tree, and after a failure at every kernel operation too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "front/engine.h"
#include "input/config.h"
#include "kernel/kernel.h"
#include "plan/plan.h"
#include "steps/holders.h"
#include "fixture.h"
#include "fixture_display.h"
#include "topology_simpledrm.h"

#define VM "win11"

static struct vm_config cfg;
static struct plan *plan;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	holders_set_kill(NULL);
	config_defaults(&cfg);
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
	reason_clear();
	return fx_cmocka_teardown(state);
}

static void want(const char *bdf)
{
	cfg.devices = CFG_DEVICES_LIST;
	assert_int_equal(bdf_parse(bdf, &cfg.device_list[0]), 0);
	cfg.n_devices = 1;
}

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

/* Where line a comes before line b in the plan (both present). */
static void assert_before(const char *steps, const char *a, const char *b)
{
	const char *pa = strstr(steps, a), *pb = strstr(steps, b);

	if (!pa || !pb || pa > pb)
		fail_msg("want \"%s\" before \"%s\" in:\n%s", a, b, steps);
}

static bool fbcon_bound(void)
{
	return fx_exists("sys/class/vtconsole/vtcon1/bind") &&
	       strcmp(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1") == 0;
}

static void test_simpledrm_console_is_the_gpus_host_display(void **state)
{
	fx_topology_simpledrm_before();
	want(TSD_GPU);
	plan_text();
	/* boot_vga says it; fbcon sits on simpledrm's framebuffer, not on the PCI device. */
	assert_true(plan->host_display);
	assert_true(fxd_has_note(plan, "host display on " TSD_GPU ": boot_vga=1"));
}

static void test_plan_before_native_driver_frees_simpledrm(void **state)
{
	const char *s;

	fx_topology_simpledrm_before();
	want(TSD_GPU);
	s = plan_text();
	assert_before(s, "stop-unit gdm.service (display-manager.service)\n",
		      "unbind-vtcon vtcon1 ((M) frame buffer device)\n");
	assert_before(s, "unbind-vtcon vtcon1 ((M) frame buffer device)\n",
		      "unbind-fb " TSD_FB " (simpledrm)\n");
	assert_before(s, "unbind-fb " TSD_FB " (simpledrm)\n", "bind-vfio " TSD_GPU "\n");
	assert_before(s, "bind-vfio " TSD_GPU "\n", "bind-vfio " TSD_AUDIO "\n");
	/* No driver on the GPU: nothing to unload or unbind for it. */
	assert_null(strstr(s, "unbind " TSD_GPU));
	assert_null(strstr(s, "unload-module simpledrm"));
}

static void test_hand_off_before_native_driver_and_back(void **state)
{
	char *before;

	fx_topology_simpledrm_before();
	want(TSD_GPU);
	before = fx_snapshot();
	opt_in();
	assert_int_equal(engine_prepare(VM, &cfg, NULL, false, NULL), 0);
	assert_string_equal(fx_driver_of(TSD_GPU), "vfio-pci");
	assert_string_equal(fx_driver_of(TSD_AUDIO), "vfio-pci");
	/* simpledrm let go of the GPU's memory: its device is unbound, its card and fbdev
	 * gone, the console on the dummy device, the compositor stopped. */
	assert_false(fx_exists("sys/bus/platform/devices/" TSD_FB "/driver"));
	assert_false(fx_exists("dev/dri/card0"));
	assert_false(fx_exists("sys/class/graphics/fb0"));
	assert_false(fbcon_bound());
	assert_string_equal(fx_unit_state("display-manager.service"), "inactive");

	assert_int_equal(engine_release(VM), 0);
	/* simpledrm drives the console again, as before: the GPU has no native driver. */
	assert_true(fx_exists("sys/bus/platform/devices/" TSD_FB "/driver"));
	assert_true(fx_exists("dev/dri/card0"));
	assert_true(fbcon_bound());
	assert_string_equal(fx_unit_state("display-manager.service"), "active");
	fx_assert_same_but_design(before);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

/* The native driver got loaded while the VM ran (the user installed it, or modprobe'd it):
 * the give-back probes the GPU with it, which unregisters simple-framebuffer.0 and takes
 * the console; release does not bring simpledrm back and verifies the console is bound. */
static void test_give_back_leaves_the_console_to_a_native_driver_loaded_meanwhile(void **state)
{
	fx_topology_simpledrm_native_later();
	want(TSD_GPU);
	opt_in();
	assert_int_equal(engine_prepare(VM, &cfg, NULL, false, NULL), 0);
	assert_string_equal(fx_driver_of(TSD_GPU), "vfio-pci");
	assert_false(fx_exists("dev/dri/card1"));
	assert_int_equal(kernel_module_load("nouveau", NULL), 0);
	/* Loading it probes nothing: the GPU is on vfio-pci. */
	assert_string_equal(fx_driver_of(TSD_GPU), "vfio-pci");

	assert_int_equal(engine_release(VM), 0);
	assert_string_equal(fx_driver_of(TSD_GPU), "nouveau");
	assert_string_equal(fx_driver_of(TSD_AUDIO), "snd_hda_intel");
	assert_false(fx_exists("sys/bus/platform/devices/" TSD_FB));
	assert_false(fx_exists("dev/dri/card0"));
	assert_true(fx_exists("dev/dri/card1"));
	assert_string_equal(fx_cat("sys/class/graphics/fb0/name"), "nouveaudrmfb");
	assert_true(fbcon_bound());
	assert_string_equal(fx_unit_state("display-manager.service"), "active");
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
}

/* Without the aperture hand-over modelled, the fake would leave two framebuffers on one
 * GPU: the fixture itself is checked. */
static void test_native_probe_unregisters_simple_framebuffer(void **state)
{
	fx_topology_simpledrm_native_later();
	assert_true(fx_exists("sys/bus/platform/devices/" TSD_FB "/driver"));
	assert_int_equal(kernel_module_load("nouveau", NULL), 0);
	assert_string_equal(fx_driver_of(TSD_GPU), "nouveau");
	assert_false(fx_exists("sys/bus/platform/devices/" TSD_FB));
	assert_false(fx_exists("sys/bus/platform/drivers/simpledrm/" TSD_FB));
	assert_false(fx_exists("dev/dri/card0"));
	assert_true(fx_exists("dev/dri/card1"));
	assert_string_equal(fx_cat("sys/class/graphics/fb0/name"), "nouveaudrmfb");
	assert_true(fbcon_bound());
}

static void test_plan_after_native_driver_has_no_boot_framebuffer(void **state)
{
	const char *s;

	fx_topology_simpledrm_after();
	want(TSA_GPU);
	s = plan_text();
	assert_true(plan->host_display);
	assert_null(strstr(s, "unbind-fb"));
	assert_before(s, "unbind-vtcon vtcon1 ((M) frame buffer device)\n",
		      "unbind " TSA_GPU " (amdgpu)\n");
	assert_non_null(strstr(s, "unload-module amdgpu"));
}

static void test_hand_off_after_native_driver_gives_the_console_to_it(void **state)
{
	char *before;

	fx_topology_simpledrm_after();
	want(TSA_GPU);
	before = fx_snapshot();
	opt_in();
	assert_int_equal(engine_prepare(VM, &cfg, NULL, false, NULL), 0);
	assert_string_equal(fx_driver_of(TSA_GPU), "vfio-pci");
	assert_false(fx_exists("dev/dri/card1"));
	assert_false(fbcon_bound());

	assert_int_equal(engine_release(VM), 0);
	/* The native driver's card and fbdev carry the console; simpledrm has no device. */
	assert_string_equal(fx_driver_of(TSA_GPU), "amdgpu");
	assert_true(fx_exists("dev/dri/card1"));
	assert_true(fbcon_bound());
	assert_false(fx_exists("sys/bus/platform/devices/" TSD_FB));
	fx_assert_same_but_design(before);
	free(before);
}

/* Prepares once to count the kernel operations, then fails each one in turn on a fresh
 * tree: every rollback must give back the exact starting tree. */
static void failure_at_every_op_restores(void (*topology)(void), const char *gpu)
{
	int ops, base;

	topology();
	want(gpu);
	base = fx_writes();
	assert_int_equal(engine_prepare(VM, &cfg, NULL, false, NULL), 0);
	ops = fx_writes() - base;
	assert_true(ops >= 5);
	for (int k = 1; k <= ops; k++) {
		char *before;
		int r, diff;

		topology();
		before = fx_snapshot();
		fx_fail_write_at(fx_writes() + k, EIO);
		reason_clear();
		r = engine_prepare(VM, &cfg, NULL, false, NULL);
		diff = fx_diff_but_design(before);
		free(before);
		if (r == 0 || diff != 0)
			fail_msg("failure at kernel op %d of %d: prepare returned %d, reason '%s', "
				 "%d line(s) differ",
				 k, ops, r, reason_get(), diff);
		assert_true(reason_get()[0] != '\0');
	}
}

static void test_before_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	failure_at_every_op_restores(fx_topology_simpledrm_before, TSD_GPU);
}

static void test_after_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	failure_at_every_op_restores(fx_topology_simpledrm_after, TSA_GPU);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_simpledrm_console_is_the_gpus_host_display),
		T(test_plan_before_native_driver_frees_simpledrm),
		T(test_hand_off_before_native_driver_and_back),
		T(test_native_probe_unregisters_simple_framebuffer),
		T(test_give_back_leaves_the_console_to_a_native_driver_loaded_meanwhile),
		T(test_plan_after_native_driver_has_no_boot_framebuffer),
		T(test_hand_off_after_native_driver_gives_the_console_to_it),
		T(test_before_failure_at_every_kernel_op_restores_the_tree),
		T(test_after_failure_at_every_kernel_op_restores_the_tree),
	};
#undef T

	log_setup(LOG_TO_STDERR, getenv("VH_TEST_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
	if (getenv("VH_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
