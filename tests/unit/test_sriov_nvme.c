/* What libvirt gives to vfio-pci besides <hostdev>, through the whole engine on the fake
 * kernel: an SR-IOV virtual function named by <interface type='hostdev'> and an NVMe
 * controller named by <disk type='nvme'>, planned from the domain XML, prepared, released
 * and rolled back to the exact starting tree; an NVMe controller that holds a mounted
 * filesystem or swap is refused, naming it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "front/engine.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "steps/holders.h"
#include "fixture.h"
#include "fixture_display.h"
#include "topology_sriov.h"

#define VM "guest"

static struct vm_config cfg;
static struct plan *plan;
static struct domxml dom;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	holders_set_kill(NULL);
	config_defaults(&cfg);
	cfg.timeout_ms = 8000;
	plan = calloc(1, sizeof(*plan));
	memset(&dom, 0, sizeof(dom));
	return r || !plan;
}

static int teardown(void **state)
{
	if (plan)
		plan_free(plan);
	free(plan);
	plan = NULL;
	domxml_free(&dom);
	reason_clear();
	return fx_cmocka_teardown(state);
}

/* The domain: name, then devices (XML text) inside <devices>. */
static void domain(const char *devices)
{
	char xml[4096];

	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'>\n<name>" VM "</name>\n<devices>\n%s</devices>\n</domain>\n",
		 devices);
	domxml_free(&dom);
	reason_clear();
	if (domxml_parse_mem(xml, strlen(xml), "guest.xml", &dom) < 0)
		fail_msg("guest.xml: %s", reason_get());
}

#define VF0_IFACE(managed)                                                                 \
	"<interface type='hostdev' managed='" managed "'>\n"                               \
	"  <mac address='52:54:00:6d:90:02'/>\n"                                           \
	"  <source><address type='pci' domain='0x0000' bus='0x03' slot='0x01' "            \
	"function='0x0'/></source>\n"                                                      \
	"  <vlan><tag id='42'/></vlan>\n"                                                  \
	"</interface>\n"

/* Two namespaces of one controller, as libvirt's own tests have them. */
#define NVME_DISKS(bus, managed)                                                           \
	"<disk type='nvme' device='disk'><driver name='qemu' type='raw'/>\n"               \
	"  <source type='pci' managed='" managed "' namespace='1'><address domain='0x0000' " \
	"bus='" bus "' slot='0x00' function='0x0'/></source>\n"                            \
	"  <target dev='vda' bus='virtio'/></disk>\n"                                      \
	"<disk type='nvme' device='disk'><driver name='qemu' type='raw'/>\n"               \
	"  <source type='pci' managed='" managed "' namespace='2'><address domain='0x0000' " \
	"bus='" bus "' slot='0x00' function='0x0'/></source>\n"                            \
	"  <target dev='vdb' bus='virtio'/></disk>\n"

static void opt_in(void)
{
	config_set_required_owner(getuid());
	fx_write("etc/vfio-handoff/vm.d/" VM ".conf", "timeout = 8\n");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/" VM ".conf"), 0644), 0);
}

static const char *plan_text(void)
{
	plan_free(plan);
	if (plan_build(VM, &cfg, &dom, plan) < 0)
		fail_msg("plan: %s", reason_get());
	return fxd_steps(plan);
}

static int prepare(void)
{
	reason_clear();
	return engine_prepare(VM, &cfg, &dom, false, NULL);
}

/* ---- SR-IOV: a virtual function as the guest's NIC ---- */

static void test_vf_interface_plans_its_own_group_only(void **state)
{
	static const char steps[] = "load-module vfio-pci\n"
				    "override 0000:03:01.0\n"
				    "unbind 0000:03:01.0 (iavf)\n"
				    "bind-vfio 0000:03:01.0\n";

	fx_topology_sriov();
	domain(VF0_IFACE("yes"));
	assert_string_equal(plan_text(), steps);
	/* The PF carries the default route and stays: only the VF's group goes. */
	assert_int_equal(plan->n_devs, 1);
	assert_true(fxd_has_note(plan, "IOMMU group 40: 1 member(s) found from 0000:03:01.0"));
	/* Unmanaged, libvirt expects it on vfio-pci already: the same hand-over. */
	domain(VF0_IFACE("no"));
	assert_string_equal(plan_text(), steps);
}

static void test_vf_prepare_and_release_restore_the_tree(void **state)
{
	char *before;

	fx_topology_sriov();
	domain(VF0_IFACE("yes"));
	opt_in();
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(TSR_VF0), "vfio-pci");
	assert_true(fx_exists(fx_fmt("dev/vfio/%d", TSR_GROUP_VF0)));
	assert_false(fx_exists("sys/class/net/enp3s0f0v0"));
	/* The PF, its interface and the other VF stay as they were. */
	assert_string_equal(fx_driver_of(TSR_PF), "ice");
	assert_true(fx_exists("sys/class/net/enp3s0f0"));
	assert_string_equal(fx_driver_of(TSR_VF1), "iavf");
	assert_true(fx_exists("run/vfio-handoff/" VM ".journal"));
	assert_int_equal(engine_release(VM), 0);
	assert_string_equal(fx_driver_of(TSR_VF0), "iavf");
	assert_true(fx_exists("sys/class/net/enp3s0f0v0"));
	assert_int_equal(fx_diff_but_design(before), 0);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

static void test_vf_failure_at_every_kernel_op_restores_the_tree(void **state)
{
	int ops, base;

	fx_topology_sriov();
	domain(VF0_IFACE("yes"));
	base = fx_writes();
	assert_int_equal(prepare(), 0);
	ops = fx_writes() - base;
	assert_true(ops >= 3);
	for (int k = 1; k <= ops; k++) {
		char *before;
		int r, diff;

		fx_topology_sriov();
		before = fx_snapshot();
		fx_fail_write_at(fx_writes() + k, EIO);
		r = prepare();
		diff = fx_diff_but_design(before);
		free(before);
		if (r == 0 || diff != 0)
			fail_msg("failure at kernel op %d of %d: prepare returned %d, reason '%s', "
				 "%d line(s) differ",
				 k, ops, r, reason_get(), diff);
		assert_true(reason_get()[0] != '\0');
	}
}

static void test_vf_of_the_default_route_refused(void **state)
{
	char *before;

	fx_topology_sriov();
	fx_append("proc/net/route", "enp3s0f0v0\t00000000\t0100000A\t0003\t0\t0\t0\t"
				    "00000000\t0\t0\t0\n");
	domain(VF0_IFACE("yes"));
	before = fx_snapshot();
	assert_int_equal(prepare(), -EPERM);
	assert_true(str_has_prefix(reason_get(), "refusing to hand over 0000:03:01.0 ("));
	if (!strstr(reason_get(), "it is enp3s0f0v0, the interface of the default route"))
		fail_msg("reason: %s", reason_get());
	assert_int_equal(fx_diff_but_design(before), 0);
	free(before);
}

static void test_missing_vf_named_as_interface_hostdev(void **state)
{
	fx_topology_sriov();
	domain("<interface type='hostdev'><source><address type='pci' bus='0x03' slot='0x01' "
	       "function='0x7'/></source></interface>\n");
	assert_int_equal(plan_build(VM, &cfg, &dom, plan), -ENODEV);
	assert_string_equal(reason_get(), "VM '" VM "': interface hostdev 0000:03:01.7 does "
					  "not exist on this host");
}

/* ---- NVMe: a controller for QEMU's userspace driver ---- */

static void test_nvme_disk_prepare_and_release_restore_the_tree(void **state)
{
	char *before;

	fx_topology_nvme();
	domain(NVME_DISKS("0x05", "yes"));
	assert_int_equal(dom.n_hostdevs, 1);
	assert_string_equal(plan_text(), "load-module vfio-pci\n"
					 "override 0000:05:00.0\n"
					 "unbind 0000:05:00.0 (nvme)\n"
					 "bind-vfio 0000:05:00.0\n");
	opt_in();
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(TNV_DATA), "vfio-pci");
	assert_true(fx_exists(fx_fmt("dev/vfio/%d", TNV_GROUP_DATA)));
	assert_false(fx_exists("sys/class/block/nvme1n1"));
	assert_string_equal(fx_driver_of(TNV_ROOT), "nvme");
	assert_true(fx_exists("sys/class/block/nvme0n1p2"));
	assert_int_equal(engine_release(VM), 0);
	assert_string_equal(fx_driver_of(TNV_DATA), "nvme");
	assert_true(fx_exists("sys/class/block/nvme1n1"));
	assert_true(fx_exists("sys/class/block/nvme1n1p1"));
	assert_int_equal(fx_diff_but_design(before), 0);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

static void test_unmanaged_nvme_disk_is_handed_over_too(void **state)
{
	char *before;

	fx_topology_nvme();
	domain(NVME_DISKS("0x05", "no"));
	opt_in();
	before = fx_snapshot();
	assert_int_equal(prepare(), 0);
	assert_string_equal(fx_driver_of(TNV_DATA), "vfio-pci");
	assert_int_equal(engine_release(VM), 0);
	assert_int_equal(fx_diff_but_design(before), 0);
	free(before);
}

static void test_nvme_disk_of_the_root_filesystem_refused(void **state)
{
	char *before;

	fx_topology_nvme();
	domain(NVME_DISKS("0x02", "yes"));
	opt_in();
	before = fx_snapshot();
	assert_int_equal(prepare(), -EPERM);
	if (!str_has_prefix(reason_get(), "refusing to hand over 0000:02:00.0 (") ||
	    !strstr(reason_get(), "): it holds /dev/nvme0n1p2, mounted on /"))
		fail_msg("reason: %s", reason_get());
	assert_string_equal(fx_driver_of(TNV_ROOT), "nvme");
	assert_int_equal(fx_diff_but_design(before), 0);
	assert_false(fx_exists("run/vfio-handoff/" VM ".journal"));
	free(before);
}

static void test_nvme_disk_holding_swap_refused(void **state)
{
	char *before;

	fx_topology_nvme();
	fx_append("proc/swaps", "/dev/nvme1n1p1\t\t\t\tpartition\t8388604\t\t0\t\t-2\n");
	domain(NVME_DISKS("0x05", "yes"));
	before = fx_snapshot();
	assert_int_equal(prepare(), -EPERM);
	if (!strstr(reason_get(), "refusing to hand over 0000:05:00.0 (") ||
	    !strstr(reason_get(), "): it holds swap device /dev/nvme1n1p1"))
		fail_msg("reason: %s", reason_get());
	assert_int_equal(fx_diff_but_design(before), 0);
	free(before);
}

/* Under native multipath the mounted disk is the subsystem's head, not under the PCI
 * device: its path under the controller still ties the mount to it. */
static void test_nvme_multipath_disk_holding_a_mount_refused(void **state)
{
	char *before;

	fx_topology_nvme_multipath();
	domain(NVME_DISKS("0x06", "yes"));
	before = fx_snapshot();
	assert_int_equal(prepare(), -EPERM);
	if (!strstr(reason_get(), "refusing to hand over 0000:06:00.0 (") ||
	    !strstr(reason_get(), "): it holds /dev/nvme2n1p1, mounted on /srv"))
		fail_msg("reason: %s", reason_get());
	assert_int_equal(fx_diff_but_design(before), 0);
	free(before);
	/* The single-path controller beside it still goes. */
	domain(NVME_DISKS("0x05", "yes"));
	assert_non_null(strstr(plan_text(), "bind-vfio 0000:05:00.0\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vf_interface_plans_its_own_group_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vf_prepare_and_release_restore_the_tree,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_failure_at_every_kernel_op_restores_the_tree,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_of_the_default_route_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_vf_named_as_interface_hostdev, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nvme_disk_prepare_and_release_restore_the_tree,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmanaged_nvme_disk_is_handed_over_too, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nvme_disk_of_the_root_filesystem_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvme_disk_holding_swap_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nvme_multipath_disk_holding_a_mount_refused,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
