/* The engine on the fake kernel: plans for topologies 1-3 and the refusals, a full
 * prepare/release round trip, a failure injected at every kernel operation, release after
 * a partial prepare or when the devices are already back, a second VM refused, and a
 * crash that recover undoes. Every "as before" is a whole-tree snapshot comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "front/engine.h"
#include "input/config.h"
#include "input/domxml.h"
#include "kernel/kernel.h"
#include "plan/plan.h"
#include "steps/journal.h"
#include "steps/step.h"
#include "fixture.h"
#include "fakekernel.h"
#include "fixture_display.h"
#include "topologies.h"

static struct vm_config cfg;
static struct plan *plan;
static struct domxml dom;

static int setup(void **state)
{
	reason_clear();
	log_setup(0, LOG_ERR);
	config_defaults(&cfg);
	cfg.timeout_ms = 1000;
	config_set_required_owner(getuid());
	plan = calloc(1, sizeof(*plan));
	memset(&dom, 0, sizeof(dom));
	return plan ? 0 : -1;
}

static int teardown(void **state)
{
	if (plan)
		plan_free(plan);
	free(plan);
	plan = NULL;
	domxml_free(&dom);
	reason_clear();
	fx_teardown();
	return 0;
}

/* The domain XML libvirt would pass, with one hostdev per address given. */
static void xml_with(const char *vm, const char *const bdfs[])
{
	char buf[4096];
	size_t len;

	domxml_free(&dom);
	len = (size_t)snprintf(buf, sizeof(buf), "<domain type='kvm'><name>%s</name><devices>", vm);
	for (size_t i = 0; bdfs[i]; i++) {
		struct bdf b;

		assert_int_equal(bdf_parse(bdfs[i], &b), 0);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
					"<address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
					"function='0x%x'/></source></hostdev>",
					b.domain, b.bus, b.dev, b.fn);
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "</devices></domain>");
	assert_int_equal(domxml_parse_mem(buf, len, "test.xml", &dom), 0);
}

static void opt_in(const char *vm)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "etc/vfio-handoff/vm.d/%s.conf", vm);
	fx_write(rel, "timeout = 1\n");
	assert_int_equal(chmod(fx_path(rel), 0644), 0);
}

/* vfio-pci loaded up front, so its appearance is not part of what is compared. */
static void preload_vfio(void)
{
	assert_int_equal(kernel_module_load("vfio-pci", ""), 0);
}

static const char *plan_for(const char *vm)
{
	plan_free(plan);
	memset(plan, 0, sizeof(*plan));
	reason_clear();
	assert_int_equal(plan_build(vm, &cfg, &dom, plan), 0);
	return fxd_steps(plan);
}

static int plan_refused(const char *vm)
{
	plan_free(plan);
	memset(plan, 0, sizeof(*plan));
	reason_clear();
	return plan_build(vm, &cfg, &dom, plan);
}

static bool has_journal(const char *vm)
{
	return fx_exists(fx_fmt("run/vfio-handoff/%s.journal", vm));
}

/* --- plans --- */

static void test_topology1_hands_gpu_and_audio_without_display_steps(void **state)
{
	fx_topology1();
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	const char *steps = plan_for("win10");

	assert_int_equal(plan->n_devs, 2);
	assert_string_equal(plan->devs[0].name, T1_GPU);
	assert_string_equal(plan->devs[1].name, T1_AUDIO);
	assert_int_equal(plan->n_groups, 1);
	assert_int_equal(plan->groups[0], T1_GROUP);
	assert_false(plan->host_display);
	assert_null(strstr(steps, "stop-unit"));
	assert_null(strstr(steps, "unbind-vtcon"));
	assert_null(strstr(steps, "unbind-fb"));
	/* The device steps, in this order, after anything the NVIDIA driver needs first. */
	const char *tail = strstr(steps, "load-module vfio-pci\n");
	assert_non_null(tail);
	assert_string_equal(tail, "load-module vfio-pci\n"
				  "override 0000:01:00.0\n"
				  "override 0000:01:00.1\n"
				  "unbind 0000:01:00.0 (nvidia)\n"
				  "unbind 0000:01:00.1 (snd_hda_intel)\n"
				  "bind-vfio 0000:01:00.0\n"
				  "bind-vfio 0000:01:00.1\n");
}

static void test_topology2_hands_four_endpoints_and_leaves_the_root_port(void **state)
{
	fx_topology2();
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	const char *steps = plan_for("linux");

	assert_int_equal(plan->n_devs, 4);
	assert_string_equal(plan->devs[3].name, T2_UCSI);
	assert_int_equal(plan->n_bridges, 1);
	assert_string_equal(plan->bridges[0].name, T2_BRIDGE);
	assert_null(strstr(steps, T2_BRIDGE));
	/* UCSI has no driver: an override and a probe, nothing to unbind. */
	assert_string_equal(steps, "load-module vfio-pci\n"
				   "override 0000:01:00.0\n"
				   "override 0000:01:00.1\n"
				   "override 0000:01:00.2\n"
				   "override 0000:01:00.3\n"
				   "unbind 0000:01:00.0 (nouveau)\n"
				   "unbind 0000:01:00.1 (snd_hda_intel)\n"
				   "unbind 0000:01:00.2 (xhci_hcd)\n"
				   "bind-vfio 0000:01:00.0\n"
				   "bind-vfio 0000:01:00.1\n"
				   "bind-vfio 0000:01:00.2\n"
				   "bind-vfio 0000:01:00.3\n");
}

static void test_topology3_hands_two_groups_and_keeps_amdgpu(void **state)
{
	fx_topology3();
	xml_with("win11", (const char *const[]){ T3_GPU, T3_AUDIO, NULL });
	const char *steps = plan_for("win11");

	assert_int_equal(plan->n_groups, 2);
	assert_int_equal(plan->n_devs, 2);
	assert_null(strstr(steps, "unload-module"));
	assert_string_equal(steps, "load-module vfio-pci\n"
				   "override 0000:07:00.0\n"
				   "override 0000:07:00.1\n"
				   "unbind 0000:07:00.0 (amdgpu)\n"
				   "unbind 0000:07:00.1 (snd_hda_intel)\n"
				   "bind-vfio 0000:07:00.0\n"
				   "bind-vfio 0000:07:00.1\n");
}

static void test_strict_group_names_the_missing_members(void **state)
{
	fx_topology2();
	cfg.group = CFG_GROUP_STRICT;
	xml_with("linux", (const char *const[]){ T2_GPU, T2_AUDIO, NULL });
	assert_int_equal(plan_refused("linux"), -EPERM);
	assert_non_null(strstr(reason_get(), "IOMMU group 1 is not complete"));
	assert_non_null(strstr(reason_get(), "0000:01:00.2, 0000:01:00.3"));
	assert_null(strstr(reason_get(), T2_BRIDGE));

	xml_with("linux", (const char *const[]){ T2_GPU, T2_AUDIO, T2_USB, T2_UCSI, NULL });
	plan_for("linux");
	assert_int_equal(plan->n_devs, 4);
}

static void test_missing_hostdev_is_refused_by_address(void **state)
{
	fx_topology1();
	xml_with("win10", (const char *const[]){ "0000:0b:00.0", NULL });
	assert_int_equal(plan_refused("win10"), -ENODEV);
	assert_string_equal(reason_get(), "VM 'win10': hostdev 0000:0b:00.0 does not exist on "
					  "this host");
}

static void test_group_with_mounted_nvme_is_refused_naming_it(void **state)
{
	fx_topology_bad_nvme();
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	assert_int_equal(plan_refused("win10"), -EPERM);
	assert_non_null(strstr(reason_get(), TBAD_NVME));
	assert_non_null(strstr(reason_get(), "mounted on /"));
}

static void test_group_with_default_route_nic_is_refused_naming_it(void **state)
{
	fx_topology_bad_nic();
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	assert_int_equal(plan_refused("win10"), -EPERM);
	assert_non_null(strstr(reason_get(), TBAD_NIC));
	assert_non_null(strstr(reason_get(), "eth0"));
}

/* An Intel PCH: LPC, audio, SMBus and SPI functions of 00:1f in one group, as every
 * Intel board puts them (no ACS between the functions of one device). Passing the
 * onboard audio with group = whole would take the chipset's LPC and SMBus along. */
static void test_pch_group_is_refused_naming_its_chipset_functions(void **state)
{
	fx_topology_pch();
	xml_with("win10", (const char *const[]){ TPCH_AUDIO, NULL });
	assert_int_equal(plan_refused("win10"), -EPERM);
	assert_non_null(strstr(reason_get(), TPCH_LPC " (ISA bridge [0601])"));
	assert_non_null(strstr(reason_get(), TPCH_SMBUS " (SMBus [0c05])"));
	assert_null(strstr(reason_get(), TPCH_AUDIO " ("));
	assert_non_null(strstr(reason_get(), fx_fmt("IOMMU group %d", TPCH_GROUP)));

	/* strict refuses it for the same reason, whatever the XML lists. */
	cfg.group = CFG_GROUP_STRICT;
	xml_with("win10", (const char *const[]){ TPCH_LPC, TPCH_AUDIO, TPCH_SMBUS, TPCH_SPI, NULL });
	assert_int_equal(plan_refused("win10"), -EPERM);
	assert_non_null(strstr(reason_get(), "ISA bridge"));

	/* A serial bus controller alone is no chipset function: the UCSI of an RTX card. */
	cfg.group = CFG_GROUP_WHOLE;
	fx_topology2();
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	plan_for("linux");
	assert_int_equal(plan->n_devs, 4);
}

static void test_device_without_iommu_group_says_how_to_enable_it(void **state)
{
	fx_setup();
	fx_driver("nouveau", "nouveau");
	fx_pci("0000:01:00.0", 0x10de, 0x1e04, 0x030000, "nouveau", -1, 0);
	xml_with("vm", (const char *const[]){ "0000:01:00.0", NULL });
	assert_int_equal(plan_refused("vm"), -ENODEV);
	assert_non_null(strstr(reason_get(), "IOMMU"));
	assert_non_null(strstr(reason_get(), "0000:01:00.0"));
}

static void test_vm_without_hostdev_plans_nothing(void **state)
{
	fx_topology1();
	xml_with("plain", (const char *const[]){ NULL });
	const char *steps = plan_for("plain");

	assert_int_equal(plan->n_steps, 0);
	assert_string_equal(steps, "");
}

/* --- running --- */

static void test_round_trip_leaves_the_tree_as_it_was(void **state)
{
	fx_topology2();
	preload_vfio();
	opt_in("linux");
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	char *before = fx_snapshot();

	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	assert_string_equal(fx_driver_of(T2_GPU), "vfio-pci");
	assert_string_equal(fx_driver_of(T2_AUDIO), "vfio-pci");
	assert_string_equal(fx_driver_of(T2_USB), "vfio-pci");
	assert_string_equal(fx_driver_of(T2_UCSI), "vfio-pci");
	assert_string_equal(fx_driver_of(T2_BRIDGE), "pcieport");
	assert_true(has_journal("linux"));

	assert_int_equal(engine_release("linux"), 0);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(before);
}

static void test_dry_run_changes_nothing_and_writes_no_journal(void **state)
{
	fx_topology1();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	char *before = fx_snapshot();
	int writes = fx_writes();

	assert_int_equal(engine_prepare("win10", &cfg, &dom, true, NULL), 0);
	assert_int_equal(fx_writes(), writes);
	assert_false(has_journal("win10"));
	fx_assert_same_tree(before);
	free(before);
}

static void test_failure_at_every_step_restores_the_tree(void **state)
{
	int total;

	/* Count the kernel operations of a clean prepare first. */
	fx_topology2();
	preload_vfio();
	opt_in("linux");
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	int base = fx_writes();
	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	total = fx_writes() - base;
	assert_true(total >= 11);
	fx_teardown();

	for (int k = 1; k <= total; k++) {
		fx_topology2();
		preload_vfio();
		opt_in("linux");
		char *before = fx_snapshot();

		fx_fail_write_at(fx_writes() + k, EIO);
		reason_clear();
		int r = engine_prepare("linux", &cfg, &dom, false, NULL);
		if (r == 0)
			fprintf(stderr, "kernel op %d of %d did not fail the prepare\n", k, total);
		assert_true(r < 0);
		assert_true(reason_get()[0] != '\0');
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
		free(before);
		fx_teardown();
	}
}

static void test_failed_prepare_reason_names_the_device(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	fx_fail_on("sys/bus/pci/drivers/snd_hda_intel/unbind=*", EIO);
	assert_true(engine_prepare("win10", &cfg, &dom, false, NULL) < 0);
	assert_non_null(strstr(reason_get(), T1_AUDIO));
	assert_non_null(strstr(reason_get(), "snd_hda_intel"));
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
	assert_string_equal(fx_driver_of(T1_AUDIO), "snd_hda_intel");
}

static void test_release_when_devices_are_already_back_changes_nothing(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	char *before = fx_snapshot();

	assert_int_equal(engine_prepare("win10", &cfg, &dom, false, NULL), 0);
	/* Someone (libvirt's reattach, a person) gave everything back by hand. */
	assert_int_equal(engine_release("win10"), 0);
	fx_assert_same_tree(before);
	struct journal j;
	struct bdf devs[1];
	bdf_parse(T1_GPU, &devs[0]);
	assert_int_equal(journal_create("win10", devs, 1, &j), 0);
	struct step s = { .kind = STEP_UNBIND };
	strcpy(s.arg, T1_GPU);
	assert_int_equal(step_rec_parse(&s, "nvidia"), 0);
	assert_int_equal(journal_append(&j, &s), 0);
	s.kind = STEP_BIND_VFIO;
	assert_int_equal(step_rec_parse(&s, ""), 0);
	assert_int_equal(journal_append(&j, &s), 0);
	journal_close(&j);
	int writes = fx_writes();

	assert_int_equal(engine_release("win10"), 0);
	assert_int_equal(fx_writes(), writes);
	assert_false(has_journal("win10"));
	fx_assert_same_tree(before);
	free(before);
}

static void test_release_after_a_partial_prepare_restores_the_tree(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	char *before = fx_snapshot();

	/* A journal as a crash after "unbind 0000:01:00.0" would leave it: the override
	 * and unbind applied, the audio function and the probes never reached. */
	fx_write(fx_fmt("sys/bus/pci/devices/%s/driver_override", T1_GPU), "vfio-pci");
	assert_int_equal(kernel_write(fx_path(fx_fmt("sys/bus/pci/drivers/nvidia/unbind")),
				      T1_GPU, 0), 0);
	struct journal j;
	struct bdf devs[2];
	bdf_parse(T1_GPU, &devs[0]);
	bdf_parse(T1_AUDIO, &devs[1]);
	assert_int_equal(journal_create("win10", devs, 2, &j), 0);
	struct step s = { .kind = STEP_OVERRIDE };
	strcpy(s.arg, T1_GPU);
	assert_int_equal(journal_append(&j, &s), 0);
	s.kind = STEP_OVERRIDE;
	strcpy(s.arg, T1_AUDIO);
	assert_int_equal(journal_append(&j, &s), 0);
	s.kind = STEP_UNBIND;
	strcpy(s.arg, T1_GPU);
	assert_int_equal(step_rec_parse(&s, "nvidia"), 0);
	assert_int_equal(journal_append(&j, &s), 0);
	journal_close(&j);
	assert_string_equal(fx_driver_of(T1_GPU), "");

	assert_int_equal(engine_release("win10"), 0);
	assert_false(has_journal("win10"));
	fx_assert_same_tree(before);
	free(before);
}

static void test_second_vm_asking_for_a_handed_device_is_refused_by_name(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("gaming");
	opt_in("work");
	xml_with("gaming", (const char *const[]){ T1_GPU, NULL });
	assert_int_equal(engine_prepare("gaming", &cfg, &dom, false, NULL), 0);
	char *held = fx_snapshot();

	xml_with("work", (const char *const[]){ T1_AUDIO, NULL });
	reason_clear();
	assert_int_equal(engine_prepare("work", &cfg, &dom, false, NULL), -EBUSY);
	assert_string_equal(reason_get(), "VM 'work': device 0000:01:00.0 is held by VM 'gaming'");
	assert_false(has_journal("work"));
	fx_assert_same_tree(held);
	free(held);

	assert_int_equal(engine_release("gaming"), 0);
	reason_clear();
	assert_int_equal(engine_prepare("work", &cfg, &dom, false, NULL), 0);
	assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");
	assert_int_equal(engine_release("work"), 0);
}

static void test_same_vm_prepared_twice_keeps_its_journal(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	assert_int_equal(engine_prepare("win10", &cfg, &dom, false, NULL), 0);
	reason_clear();
	/* Already on vfio-pci: nothing to do, and its journal stays as it is. */
	assert_int_equal(engine_prepare("win10", &cfg, &dom, false, NULL), 0);
	assert_true(has_journal("win10"));
	assert_int_equal(engine_release("win10"), 0);
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
}

static void test_crash_mid_prepare_leaves_a_journal_that_recover_undoes(void **state)
{
	fx_topology2();
	preload_vfio();
	opt_in("linux");
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	char *before = fx_snapshot();

	for (int k = 1; k <= 12; k++) {
		pid_t pid = fork();
		int status;
		char fault[32];

		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(fault, sizeof(fault), "kill-after:%d", k);
			setenv("VFIO_HANDOFF_FAULT", fault, 1);
			engine_prepare("linux", &cfg, &dom, false, NULL);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		assert_true(has_journal("linux"));

		reason_clear();
		assert_int_equal(engine_recover(NULL), 0);
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
	}
	free(before);
}

/* The owner check fails closed: another VM's journal that cannot be read may hold the
 * device, so prepare is refused naming the journal and why. */
static void test_prepare_is_refused_while_another_vms_journal_is_unreadable(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("work");
	xml_with("work", (const char *const[]){ T1_GPU, NULL });
	fx_write("run/vfio-handoff/gaming.journal",
		 "vfio-handoff-journal 1\nvm\tgaming\ndevice\t0000:01:00.0\nstep\tbogus\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/gaming.journal"), 0600), 0);
	char *before = fx_snapshot();
	int writes = fx_writes();

	reason_clear();
	assert_true(engine_prepare("work", &cfg, &dom, false, NULL) < 0);
	assert_non_null(strstr(reason_get(), "gaming.journal:4"));
	assert_non_null(strstr(reason_get(), "VM 'work'"));
	assert_int_equal(fx_writes(), writes);
	assert_false(has_journal("work"));
	fx_assert_same_tree(before);

	/* Not root's: as refused, naming the owner. */
	fx_write("run/vfio-handoff/gaming.journal", "vfio-handoff-journal 1\nvm\tgaming\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/gaming.journal"), 0600), 0);
	assert_int_equal(chown(fx_path("run/vfio-handoff/gaming.journal"), getuid() + 1000, 0), 0);
	reason_clear();
	assert_true(engine_prepare("work", &cfg, &dom, false, NULL) < 0);
	assert_non_null(strstr(reason_get(), "gaming.journal"));
	assert_non_null(strstr(reason_get(), "owner uid"));
	assert_int_equal(fx_writes(), writes);
	free(before);
}

/* A crash between creating a journal and its first write leaves it empty. Nothing was
 * done: prepare goes ahead, and release and recover remove it. */
static void test_empty_journal_is_nothing_done_for_prepare_release_and_recover(void **state)
{
	fx_topology1();
	preload_vfio();
	opt_in("win10");
	xml_with("win10", (const char *const[]){ T1_GPU, NULL });
	char *before = fx_snapshot();

	fx_write("run/vfio-handoff/win10.journal", "");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
	reason_clear();
	assert_int_equal(engine_release("win10"), 0);
	assert_false(has_journal("win10"));

	fx_write("run/vfio-handoff/win10.journal", "");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
	assert_int_equal(engine_recover(NULL), 0);
	assert_false(has_journal("win10"));

	fx_write("run/vfio-handoff/win10.journal", "");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
	assert_int_equal(engine_prepare("win10", &cfg, &dom, false, NULL), 0);
	assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");
	assert_int_equal(engine_release("win10"), 0);
	fx_assert_same_tree(before);
	free(before);
}

/* A crafted record cannot make recover write outside the root: the journal is refused
 * before any undo runs, and stays for a person to look at. */
static void test_crafted_journal_makes_recover_touch_nothing(void **state)
{
	static const char *const records[] = {
		"step\tunbind-fb\tefi-framebuffer.0\t../../../../../../../../../../tmp\n",
		"step\tunbind\t0000:01:00.0\t../../../../../../../../../../tmp\n",
		"step\toverride\t../../../../../../../../../tmp/x\t-\n",
	};

	fx_topology1();
	fx_platform_fb("efi-framebuffer.0", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(records); i++) {
		char text[512];

		snprintf(text, sizeof(text),
			 "vfio-handoff-journal 1\nvm\twin10\ndevice\t0000:01:00.0\n%s", records[i]);
		fx_write("run/vfio-handoff/win10.journal", text);
		assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
		int writes = fx_writes();

		reason_clear();
		assert_true(engine_recover(NULL) < 0);
		if (fx_writes() != writes)
			fail_msg("a kernel op was attempted for: %s", records[i]);
		assert_true(has_journal("win10"));
	}
}

/* --- signals during apply --- */

/* The fake kernel, with a signal raised right after kernel op number signal_at (counted
 * from when it was installed): a terminal hanging up, Ctrl-C, a TERM from an init script,
 * at every point of a hand-off. */
static const struct kernel_ops *inner;
static int signal_at, signal_no, *signal_ops;
static pid_t signal_pid;

/* Every kernel op runs in a child with a deadline (sysfs.c): the count lives in shared
 * memory, and the signal goes to the engine's process, not to that child. */
static void signal_tick(void)
{
	if (__atomic_add_fetch(signal_ops, 1, __ATOMIC_SEQ_CST) == signal_at)
		kill(signal_pid, signal_no);
}

static int sig_write_attr(const char *path, const char *val)
{
	int r = inner->write_attr(path, val);

	signal_tick();
	return r;
}

static int sig_module_load(const char *name, const char *options)
{
	int r = inner->module_load(name, options);

	signal_tick();
	return r;
}

/* Reads are not kernel ops here, as in the fake kernel's own count. */
static int sig_read_attr(const char *path, char *buf, size_t n)
{
	return inner->read_attr(path, buf, n);
}

static int sig_module_remove(const char *name)
{
	int r = inner->module_remove(name);

	signal_tick();
	return r;
}

static int sig_fbcon_takeover(const char *fbdev, int fb)
{
	int r = inner->fbcon_takeover ? inner->fbcon_takeover(fbdev, fb) : -EOPNOTSUPP;

	signal_tick();
	return r;
}

static const struct kernel_ops signal_ops_table = {
	.write_attr = sig_write_attr,
	.read_attr = sig_read_attr,
	.module_load = sig_module_load,
	.module_remove = sig_module_remove,
	.fbcon_takeover = sig_fbcon_takeover,
};

static void raise_after_op(int k, int sig)
{
	inner = &fake_kernel_ops;
	signal_at = k;
	signal_ops = mmap(NULL, sizeof(*signal_ops), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(signal_ops != MAP_FAILED);
	*signal_ops = 0;
	signal_pid = getpid();
	signal_no = sig;
	kernel_ops_set(&signal_ops_table);
}

/* Exit codes of the child that runs an engine call with a signal coming. */
enum { CHILD_OK = 0, CHILD_CALL_FAILED = 2, CHILD_HANDLER_LEFT = 3, CHILD_CALL_SUCCEEDED = 4 };

static int child_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the engine died of signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static const char *sig_name(int sig)
{
	return sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "?";
}

/* After the call the signals are the caller's again. */
static bool handlers_restored(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction sa;

		if (sigaction(sigs[i], NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
			return false;
	}
	return true;
}

static void test_signal_after_every_kernel_op_rolls_the_prepare_back(void **state)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	int total;

	fx_topology2();
	preload_vfio();
	opt_in("linux");
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	int base = fx_writes();
	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	total = fx_writes() - base;
	assert_true(total >= 11);
	fx_teardown();

	for (int k = 1; k <= total; k++) {
		int sig = sigs[k % ARRAY_SIZE(sigs)];

		fx_topology2();
		preload_vfio();
		opt_in("linux");
		char *before = fx_snapshot();
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			int r;

			raise_after_op(k, sig);
			reason_clear();
			r = engine_prepare("linux", &cfg, &dom, false, NULL);
			if (!handlers_restored())
				_exit(CHILD_HANDLER_LEFT);
			if (r == 0)
				_exit(CHILD_CALL_SUCCEEDED);
			_exit(r == -EINTR && strstr(reason_get(), sig_name(sig)) ? CHILD_OK
										   : CHILD_CALL_FAILED);
		}
		int st = child_status(pid);
		if (st != CHILD_OK)
			fail_msg("signal %d after kernel op %d of %d: child exit %d", sig, k, total,
				 st);
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
		free(before);
		fx_teardown();
	}
}

/* Release goes on to the end whatever arrives meanwhile: stopping half way would leave
 * the host without its devices. */
static void test_signal_during_release_lets_it_finish(void **state)
{
	fx_topology2();
	preload_vfio();
	opt_in("linux");
	xml_with("linux", (const char *const[]){ T2_GPU, NULL });
	char *before = fx_snapshot();

	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int r;

		raise_after_op(1, SIGHUP);
		r = engine_release("linux");
		if (!handlers_restored())
			_exit(CHILD_HANDLER_LEFT);
		_exit(r == 0 ? CHILD_OK : CHILD_CALL_FAILED);
	}
	assert_int_equal(child_status(pid), CHILD_OK);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(before);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_topology1_hands_gpu_and_audio_without_display_steps),
		T(test_topology2_hands_four_endpoints_and_leaves_the_root_port),
		T(test_topology3_hands_two_groups_and_keeps_amdgpu),
		T(test_strict_group_names_the_missing_members),
		T(test_missing_hostdev_is_refused_by_address),
		T(test_group_with_mounted_nvme_is_refused_naming_it),
		T(test_group_with_default_route_nic_is_refused_naming_it),
		T(test_pch_group_is_refused_naming_its_chipset_functions),
		T(test_device_without_iommu_group_says_how_to_enable_it),
		T(test_vm_without_hostdev_plans_nothing),
		T(test_round_trip_leaves_the_tree_as_it_was),
		T(test_dry_run_changes_nothing_and_writes_no_journal),
		T(test_failure_at_every_step_restores_the_tree),
		T(test_failed_prepare_reason_names_the_device),
		T(test_release_when_devices_are_already_back_changes_nothing),
		T(test_release_after_a_partial_prepare_restores_the_tree),
		T(test_second_vm_asking_for_a_handed_device_is_refused_by_name),
		T(test_same_vm_prepared_twice_keeps_its_journal),
		T(test_crash_mid_prepare_leaves_a_journal_that_recover_undoes),
		T(test_prepare_is_refused_while_another_vms_journal_is_unreadable),
		T(test_empty_journal_is_nothing_done_for_prepare_release_and_recover),
		T(test_crafted_journal_makes_recover_touch_nothing),
		T(test_signal_after_every_kernel_op_rolls_the_prepare_back),
		T(test_signal_during_release_lets_it_finish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
