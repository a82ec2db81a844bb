/* check's findings per handed device on fixture trees: reset methods and shared bus resets,
 * the AMD reset bug and vendor-reset, ROM files, interrupt remapping and the IOMMU mode, the
 * host display, firmware and NVIDIA's hidden hypervisor; each line's level and sentence,
 * and the command's exit status (FAIL only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "plan/preflight.h"
#include "fixture.h"
#include "topologies.h"

#define VM "win10"
#define CLI "build/vfio-handoff"

/* An RX 580 (Polaris 10, 1002:67df) and its audio on bus 05, group 30, added to topology 1. */
#define RX580 "0000:05:00.0"
#define RX580_AUDIO "0000:05:00.1"

static struct vm_config cfg;
static struct plan *plan;
static struct domxml dom;
static struct preflight pf;

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	config_defaults(&cfg);
	plan = calloc(1, sizeof(*plan));
	memset(&dom, 0, sizeof(dom));
	memset(&pf, 0, sizeof(pf));
	return r || !plan;
}

static int teardown(void **state)
{
	if (plan)
		plan_free(plan);
	free(plan);
	plan = NULL;
	domxml_free(&dom);
	preflight_free(&pf);
	reason_clear();
	return fx_cmocka_teardown(state);
}

/* A domain with a hostdev for each address in addrs (space-separated), extra elements
 * (os, features) and a hostdev child (a <rom>) on the first. */
static const char *domain(const char *addrs, const char *extra, const char *first_child)
{
	static char xml[8192];
	char list[256], *save = NULL;
	size_t len;
	bool first = true;

	len =
	    (size_t)snprintf(xml, sizeof(xml), "<domain type='kvm'><name>" VM "</name>%s<devices>",
			     extra ? extra : "");
	snprintf(list, sizeof(list), "%s", addrs);
	for (char *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
		struct bdf b;

		assert_int_equal(bdf_parse(a, &b), 0);
		len += (size_t)snprintf(
		    xml + len, sizeof(xml) - len,
		    "<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
		    "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>%s"
		    "</hostdev>",
		    b.domain, b.bus, b.dev, b.fn, first && first_child ? first_child : "");
		first = false;
	}
	snprintf(xml + len, sizeof(xml) - len, "</devices></domain>\n");
	return xml;
}

/* Parses the domain, builds the plan and runs the per-VM checks. */
static void run_vm(const char *xml)
{
	domxml_free(&dom);
	preflight_free(&pf);
	plan_free(plan);
	memset(plan, 0, sizeof(*plan));
	assert_int_equal(domxml_parse_mem(xml, strlen(xml), "test.xml", &dom), 0);
	if (plan_build(VM, &cfg, &dom, plan) != 0)
		fail_msg("plan refused: %s", reason_get());
	preflight_vm(&pf, VM, plan, &dom);
}

static void run_host(void)
{
	preflight_free(&pf);
	preflight_host(&pf);
}

/* The line about subject, which must exist once. */
static const struct pf_line *line_of(const char *subject)
{
	const struct pf_line *found = NULL;

	for (size_t i = 0; i < pf.n; i++) {
		if (strcmp(pf.lines[i].subject, subject) != 0)
			continue;
		if (found)
			fail_msg("two lines about %s", subject);
		found = &pf.lines[i];
	}
	if (!found) {
		for (size_t i = 0; i < pf.n; i++)
			fprintf(stderr, "  %s %s: %s\n", preflight_level_name(pf.lines[i].level),
				pf.lines[i].subject, pf.lines[i].text);
		fail_msg("no line about %s", subject);
	}
	return found;
}

static bool has_line(const char *subject)
{
	for (size_t i = 0; i < pf.n; i++)
		if (strcmp(pf.lines[i].subject, subject) == 0)
			return true;
	return false;
}

static void expect(const char *subject, enum pf_level level, const char *text)
{
	const struct pf_line *l = line_of(subject);

	if (l->level != level || strcmp(l->text, text) != 0)
		fail_msg("%s: got %s \"%s\", want %s \"%s\"", subject,
			 preflight_level_name(l->level), l->text, preflight_level_name(level),
			 text);
}

static void expect_prefix(const char *subject, enum pf_level level, const char *prefix)
{
	const struct pf_line *l = line_of(subject);

	if (l->level != level || !str_has_prefix(l->text, prefix))
		fail_msg("%s: got %s \"%s\", want %s \"%s...\"", subject,
			 preflight_level_name(l->level), l->text, preflight_level_name(level),
			 prefix);
}

static void rx580(void)
{
	fx_topology1();
	fx_pci(RX580, 0x1002, 0x67df, 0x030000, "amdgpu", 30, 0);
	fx_pci(RX580_AUDIO, 0x1002, 0xaaf0, 0x040300, "snd_hda_intel", 30, -1);
}

/* --- reset --- */

static void test_a_bus_reset_of_handed_devices_alone_is_ok(void **state)
{
	fx_topology1();
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("reset " T1_GPU, PF_OK,
	       "bus reset only (bus); nothing that stays on the host shares the bus");
	expect("reset " T1_AUDIO, PF_OK,
	       "bus reset only (bus); nothing that stays on the host shares the bus");
	assert_int_equal(preflight_count(&pf, PF_FAIL), 0);
}

static void test_function_level_reset_is_listed(void **state)
{
	fx_topology1();
	fx_write("sys/devices/pci0000:00/" T1_GPU "/reset_method", "flr bus\n");
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("reset " T1_GPU, PF_OK, "reset methods: flr bus");
}

static void test_a_bus_reset_shared_with_a_host_device_warns_naming_it(void **state)
{
	fx_topology1();
	/* On bus 01 beside the GPU, in a group of its own that stays on the host. */
	fx_pci("0000:01:00.2", 0x10de, 0x1ad8, 0x0c0330, NULL, 40, -1);
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("reset " T1_GPU, PF_WARN,
	       "only a bus reset, and it would also reset 0000:01:00.2, which stays on the "
	       "host: vfio-pci cannot reset the device between VM starts");
	/* Handed along, it is no longer in the way. */
	run_vm(domain(T1_GPU " 0000:01:00.2", NULL, NULL));
	expect_prefix("reset " T1_GPU, PF_OK, "bus reset only");
}

/* A bus reset reaches below the bridges on the bus: a device behind a bridge of the handed
 * group, itself in no handed group, is named. */
static void test_a_bus_reset_reaches_devices_behind_a_bridge_on_the_bus(void **state)
{
	const char *dev = "sys/devices/pci0000:00/0000:01:00.3/0000:02:00.0";

	fx_topology1();
	fx_pci("0000:01:00.3", 0x10de, 0x1ad9, 0x060400, "pcieport", T1_GROUP, -1);
	fx_write(fx_fmt("%s/vendor", dev), "0x8086\n");
	fx_write(fx_fmt("%s/device", dev), "0x15b8\n");
	fx_write(fx_fmt("%s/class", dev), "0x020000\n");
	fx_link("sys/bus/pci/devices/0000:02:00.0",
		"../../../devices/pci0000:00/0000:01:00.3/0000:02:00.0");
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("reset " T1_GPU, PF_WARN,
	       "only a bus reset, and it would also reset 0000:02:00.0, which stays on the "
	       "host: vfio-pci cannot reset the device between VM starts");
}

static void test_a_device_without_reset_warns(void **state)
{
	fx_topology1();
	fx_write("sys/devices/pci0000:00/" T1_GPU "/reset_method", "\n");
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("reset " T1_GPU, PF_WARN,
	       "no reset method: the device keeps its state from one VM start to the next, and "
	       "a guest may find it hung after a restart");
}

static void test_before_reset_method_the_reset_attribute_decides(void **state)
{
	fx_topology1();
	fx_rm("sys/devices/pci0000:00/" T1_GPU "/reset_method");
	fx_rm("sys/devices/pci0000:00/" T1_AUDIO "/reset_method");
	fx_write("sys/devices/pci0000:00/" T1_GPU "/reset", "");
	run_vm(domain(T1_GPU, NULL, NULL));
	expect_prefix("reset " T1_GPU, PF_OK, "the kernel can reset it");
	expect_prefix("reset " T1_AUDIO, PF_WARN, "no reset method");
}

/* --- the AMD reset bug --- */

static void test_amd_reset_bug_without_vendor_reset_warns(void **state)
{
	rx580();
	run_vm(domain(RX580, NULL, NULL));
	expect("AMD reset bug " RX580, PF_WARN,
	       "AMD Polaris 10 [1002:67df] does not come back from a VM stop without the "
	       "vendor-reset module (github.com/gnif/vendor-reset), which is not loaded: load it "
	       "at boot, before the GPU is first reset");
	/* Its audio function has no such bug. */
	assert_false(has_line("AMD reset bug " RX580_AUDIO));
}

static void test_vendor_reset_loaded_needs_device_specific(void **state)
{
	rx580();
	fx_module("vendor_reset", 0, NULL);
	run_vm(domain(RX580, NULL, NULL));
	expect_prefix("AMD reset bug " RX580, PF_WARN,
		      "vendor-reset is loaded, but reset_method (bus) does not list "
		      "device_specific");
	fx_write("sys/devices/pci0000:00/" RX580 "/reset_method", "device_specific bus\n");
	run_vm(domain(RX580, NULL, NULL));
	expect("AMD reset bug " RX580, PF_OK,
	       "AMD Polaris 10 [1002:67df] needs vendor-reset to come back from a VM stop, and it "
	       "is loaded");
}

static void test_other_amd_gpus_get_no_reset_bug_line(void **state)
{
	fx_topology3();
	run_vm(domain(T3_GPU " " T3_AUDIO, NULL, NULL));
	assert_false(has_line("AMD reset bug " T3_GPU));
}

/* --- ROM files --- */

static void test_rom_file_checks(void **state)
{
	const char *rom = "<rom file='/usr/share/vgabios/gtx.rom'/>";

	fx_topology1();
	run_vm(domain(T1_GPU, NULL, rom));
	expect("ROM " T1_GPU, PF_FAIL,
	       "/usr/share/vgabios/gtx.rom does not exist: QEMU cannot start the VM");

	fx_write("usr/share/vgabios/gtx.rom", "");
	assert_int_equal(chmod(fx_path("usr/share/vgabios/gtx.rom"), 0644), 0);
	run_vm(domain(T1_GPU, NULL, rom));
	expect("ROM " T1_GPU, PF_FAIL, "/usr/share/vgabios/gtx.rom is empty");

	fx_write("usr/share/vgabios/gtx.rom", "\x55\xaa");
	run_vm(domain(T1_GPU, NULL, rom));
	expect("ROM " T1_GPU, PF_OK,
	       "/usr/share/vgabios/gtx.rom is readable and lies in /usr/share/vgabios/, which "
	       "libvirt's AppArmor profile lets QEMU read");

	assert_int_equal(chmod(fx_path("usr/share/vgabios/gtx.rom"), 0600), 0);
	run_vm(domain(T1_GPU, NULL, rom));
	expect_prefix("ROM " T1_GPU, PF_WARN,
		      "/usr/share/vgabios/gtx.rom is not readable by other users");

	run_vm(domain(T1_GPU, NULL, "<rom file='gtx.rom'/>"));
	expect_prefix("ROM " T1_GPU, PF_FAIL, "rom file 'gtx.rom' (line 1) is not an absolute");
}

static void test_rom_outside_the_firmware_dirs_warns_under_apparmor(void **state)
{
	const char *rom = "<rom file='/root/gtx.rom'/>";

	fx_topology1();
	fx_write("root/gtx.rom", "\x55\xaa");
	assert_int_equal(chmod(fx_path("root/gtx.rom"), 0644), 0);
	run_vm(domain(T1_GPU, NULL, rom));
	expect_prefix("ROM " T1_GPU, PF_OK,
		      "/root/gtx.rom is readable; neither AppArmor nor SELinux is enabled");

	fx_write("sys/module/apparmor/parameters/enabled", "Y\n");
	run_vm(domain(T1_GPU, NULL, rom));
	expect("ROM " T1_GPU, PF_WARN,
	       "/root/gtx.rom is readable, but AppArmor may refuse it to QEMU: libvirt's "
	       "profile reads ROMs only from firmware directories such as /usr/share/vgabios/ "
	       "(move it there)");
}

static void test_domain_reader_takes_roms_firmware_and_features(void **state)
{
	const char *xml =
	    "<domain type='kvm'><name>vm</name>"
	    "<os><type>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/"
	    "OVMF_CODE.fd</loader></os>"
	    "<features><hyperv><vendor_id state='on' value='whatever'/></hyperv>"
	    "<kvm><hidden state='off'/></kvm></features><devices>\n"
	    "<hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0' "
	    "function='0'/></source>\n<rom file='/a.rom'/></hostdev>"
	    "<hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0' "
	    "function='1'/></source><rom enabled='no' file='/b.rom'/></hostdev>"
	    "<interface type='hostdev'><source><address type='pci' domain='0x0000' bus='0x03' "
	    "slot='0x10' function='0x2'/></source><rom file='/c.rom'/></interface>"
	    "<interface type='network'><source network='default'/><rom file='/d.rom'/>"
	    "</interface></devices></domain>";
	char a[BDF_STRLEN];

	assert_int_equal(domxml_parse_mem(xml, strlen(xml), "t.xml", &dom), 0);
	assert_true(dom.features.uefi);
	assert_true(dom.features.hyperv_vendor_id);
	assert_false(dom.features.kvm_hidden);
	assert_int_equal(dom.features.n_roms, 2);
	assert_string_equal(dom.features.roms[0].file, "/a.rom");
	assert_string_equal(bdf_fmt(&dom.features.roms[0].addr, a), "0000:01:00.0");
	assert_int_equal(dom.features.roms[0].line, 3);
	assert_string_equal(dom.features.roms[1].file, "/c.rom");
	assert_string_equal(bdf_fmt(&dom.features.roms[1].addr, a), "0000:03:10.2");
	domxml_free(&dom);

	xml = "<domain><name>vm</name><os firmware='efi'/>"
	      "<features><kvm><hidden state='on'/></kvm></features></domain>";
	assert_int_equal(domxml_parse_mem(xml, strlen(xml), "t.xml", &dom), 0);
	assert_true(dom.features.uefi);
	assert_true(dom.features.kvm_hidden);
	assert_int_equal(dom.features.n_roms, 0);
}

static void test_a_rom_path_too_long_to_be_one_is_refused_in_one_line(void **state)
{
	char *xml = malloc(8192), *p;

	assert_non_null(xml);
	p = xml + sprintf(xml, "<domain><name>vm</name><devices>\n<hostdev type='pci'><source>"
			       "<address bus='1' slot='0' function='0'/></source><rom file='/");
	memset(p, 'a', 5000);
	strcpy(p + 5000, "'/></hostdev></devices></domain>");
	assert_int_equal(domxml_parse_mem(xml, strlen(xml), "t.xml", &dom), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: rom file longer than 4095 bytes");
	assert_null(dom.features.roms);
	free(xml);
}

/* --- host facts --- */

static void test_interrupt_remapping_and_iommu_mode_are_facts(void **state)
{
	fx_topology1();
	fx_write("proc/interrupts", "           CPU0\n"
				    "  0:         46   IO-APIC   2-edge      timer\n"
				    " 24:          0   IR-PCI-MSI 512000-edge      ahci\n");
	fx_write("proc/cmdline",
		 "BOOT_IMAGE=/vmlinuz root=/dev/sda1 amd_iommu=on iommu=pt quiet\n");
	run_host();
	expect("interrupt remapping", PF_OK,
	       "on: remapped interrupt chips (IR-) in /proc/interrupts");
	expect("IOMMU mode", PF_OK,
	       "passthrough (amd_iommu=on iommu=pt; default domain DMA-FQ): host devices bypass "
	       "translation, devices handed to a VM are translated all the same");

	fx_write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n");
	run_host();
	expect("IOMMU mode", PF_OK, "translated (default domain DMA-FQ)");
	assert_int_equal(preflight_count(&pf, PF_WARN) + preflight_count(&pf, PF_FAIL), 0);
}

static void test_interrupts_without_remapping_warn_unless_vfio_allows_them(void **state)
{
	fx_topology1();
	fx_write("proc/interrupts", "           CPU0\n"
				    " 24:          0   PCI-MSI 512000-edge      ahci\n");
	fx_write("sys/class/iommu/dmar0/intel-iommu/ecap", "f050da\n");
	run_host();
	expect("interrupt remapping", PF_WARN,
	       "off (MSI interrupts in /proc/interrupts without remapping (no IR- chip), though "
	       "the IOMMU can remap: dmar0 (VT-d ecap f050da)): vfio_iommu_type1 refuses the "
	       "devices unless loaded with allow_unsafe_interrupts=1");
	fx_write("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
	run_host();
	expect_prefix("interrupt remapping", PF_OK, "off (MSI interrupts");
	fx_rm("proc/interrupts");
	run_host();
	expect("interrupt remapping", PF_OK,
	       "cannot tell whether it is on (the IOMMU can remap: dmar0 (VT-d ecap f050da))");
	fx_rm("sys/class/iommu");
	run_host();
	expect("interrupt remapping", PF_OK,
	       "cannot tell whether it is on (neither /proc/interrupts nor /sys/class/iommu "
	       "says)");
}

/* --- the host display --- */

static void test_single_gpu_host_warns_the_display_goes_dark(void **state)
{
	fx_topology5();
	run_vm(domain(T5_GPU " " T5_AUDIO, "<os firmware='efi'/>", NULL));
	expect("host display", PF_WARN,
	       "the host's display goes dark while " VM " runs: if the VM hangs, log in over ssh "
	       "(or blind on a text console) and run `virsh destroy " VM "` or `sudo "
	       "vfio-handoff release " VM "`");
}

static void test_second_gpu_gets_no_display_warning(void **state)
{
	fx_topology1();
	run_vm(domain(T1_GPU, NULL, NULL));
	assert_false(has_line("host display"));
}

/* --- the domain's pitfalls --- */

static void test_gpu_with_legacy_bios_warns(void **state)
{
	fx_topology1();
	run_vm(domain(T1_GPU, NULL, NULL));
	expect("firmware", PF_WARN,
	       VM " boots legacy BIOS, but gets GPU " T1_GPU ": give it UEFI firmware (<os "
		  "firmware='efi'>), with which GPUs pass through reliably");
	run_vm(domain(T1_GPU, "<os firmware='efi'><type>hvm</type></os>", NULL));
	expect("firmware", PF_OK, VM " boots UEFI firmware");
}

static void test_no_gpu_no_firmware_line(void **state)
{
	fx_topology2();
	fx_pci("0000:04:00.0", 0x8086, 0x15b8, 0x020000, NULL, 50, -1);
	run_vm(domain("0000:04:00.0", NULL, NULL));
	assert_false(has_line("firmware"));
}

static void test_nvidia_without_hidden_hypervisor_gets_a_note(void **state)
{
	fx_topology1();
	run_vm(domain(T1_GPU, "<os firmware='efi'/>", NULL));
	expect("NVIDIA " T1_GPU, PF_WARN,
	       "the domain has neither <kvm><hidden state='on'/> nor a Hyper-V <vendor_id "
	       "state='on'>: NVIDIA guest drivers before 465 stop with error 43 without them");
	run_vm(domain(T1_GPU,
		      "<os firmware='efi'/><features><kvm><hidden state='on'/></kvm></features>",
		      NULL));
	expect_prefix("NVIDIA " T1_GPU, PF_OK, "the domain hides the hypervisor");
	/* An AMD GPU needs neither. */
	rx580();
	run_vm(domain(RX580, NULL, NULL));
	assert_false(has_line("NVIDIA " RX580));
}

/* --- the command --- */

struct run {
	int status;
	char out[16384];
};

/* build/vfio-handoff --root ROOT check VM --xml FILE: read-only, on the fixture only. */
static void check_cmd(struct run *res, const char *xml)
{
	const char *file = fx_path("win10.xml");
	int pout[2];
	size_t len = 0;
	pid_t pid;

	fx_write("win10.xml", xml);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *envp[] = {"LC_ALL=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0",
				NULL};
		const char *argv[] = {CLI, "--root", fx_root(), "check", VM, "--xml", file, NULL};

		dup2(pout[1], 1);
		execve(CLI, (char **)argv, envp);
		_exit(127);
	}
	close(pout[1]);
	for (;;) {
		ssize_t n = read(pout[0], res->out + len, sizeof(res->out) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	res->out[len] = '\0';
	close(pout[0]);
	assert_int_equal(waitpid(pid, &res->status, 0), pid);
	assert_true(WIFEXITED(res->status));
}

/* What the host lines need to pass: a CPU with VT-x, vfio-pci built in, the VM opted in. */
static void host_passes(void)
{
	fx_write("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme de pse msr vmx ept\n");
	fx_mkdir("sys/module/vfio_pci");
	fx_write("etc/vfio-handoff/vm.d/" VM ".conf", "");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/" VM ".conf"), 0644), 0);
}

static void test_check_exits_zero_with_warnings_and_one_on_a_fail(void **state)
{
	struct run r;

	fx_topology1();
	host_passes();
	check_cmd(&r, domain(T1_GPU, NULL, NULL));
	if (WEXITSTATUS(r.status) != 0)
		fail_msg("exit %d:\n%s", WEXITSTATUS(r.status), r.out);
	assert_non_null(strstr(r.out, "ok     reset " T1_GPU ": bus reset only (bus); "));
	assert_non_null(strstr(r.out, "warn   firmware: " VM " boots legacy BIOS, but gets GPU "));
	assert_non_null(strstr(r.out, "warn   NVIDIA " T1_GPU ": the domain has neither"));
	assert_non_null(strstr(r.out, "ok     IOMMU mode: translated (default domain DMA-FQ)"));
	assert_null(strstr(r.out, "FAIL"));

	check_cmd(&r, domain(T1_GPU, NULL, "<rom file='/usr/share/vgabios/none.rom'/>"));
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_non_null(strstr(r.out, "FAIL   ROM " T1_GPU ": /usr/share/vgabios/none.rom does "
				      "not exist: QEMU cannot start the VM\n"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_a_bus_reset_of_handed_devices_alone_is_ok),
	    T(test_function_level_reset_is_listed),
	    T(test_a_bus_reset_shared_with_a_host_device_warns_naming_it),
	    T(test_a_bus_reset_reaches_devices_behind_a_bridge_on_the_bus),
	    T(test_a_device_without_reset_warns),
	    T(test_before_reset_method_the_reset_attribute_decides),
	    T(test_amd_reset_bug_without_vendor_reset_warns),
	    T(test_vendor_reset_loaded_needs_device_specific),
	    T(test_other_amd_gpus_get_no_reset_bug_line),
	    T(test_rom_file_checks),
	    T(test_rom_outside_the_firmware_dirs_warns_under_apparmor),
	    T(test_domain_reader_takes_roms_firmware_and_features),
	    T(test_a_rom_path_too_long_to_be_one_is_refused_in_one_line),
	    T(test_interrupt_remapping_and_iommu_mode_are_facts),
	    T(test_interrupts_without_remapping_warn_unless_vfio_allows_them),
	    T(test_single_gpu_host_warns_the_display_goes_dark),
	    T(test_second_gpu_gets_no_display_warning),
	    T(test_gpu_with_legacy_bios_warns),
	    T(test_no_gpu_no_firmware_line),
	    T(test_nvidia_without_hidden_hypervisor_gets_a_note),
	    T(test_check_exits_zero_with_warnings_and_one_on_a_fail),
	};

	if (access(CLI, X_OK) != 0) {
		fprintf(stderr, "%s is not built (run make first)\n", CLI);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
