/* The plan output for every fixture topology, under the configurations that change it,
 * compared byte for byte with tests/unit/golden/plans.txt: a refactoring of the planner
 * must not change one character of what `vfio-handoff plan` prints, nor of a refusal.
 * VH_GOLDEN_UPDATE=1 rewrites the file from the present code (then review the diff). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "fixture.h"
#include "topologies.h"
#include "topology_habits.h"
#include "topology_sriov.h"

#ifndef VH_GOLDEN_FILE
#define VH_GOLDEN_FILE "tests/unit/golden/plans.txt"
#endif

struct golden_case {
	const char *name;
	void (*topology)(void);
	const char *devs[6]; /* the domain's hostdevs */
	const char *conf;    /* the VM's configuration */
};

#define GOLDEN_NVME(bus)                                                                   \
	"<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='1'>"  \
	"<address domain='0x0000' bus='" bus "' slot='0x00' function='0x0'/></source>"     \
	"<target dev='vda' bus='virtio'/></disk>"

static const struct golden_case cases[] = {
    {"topology 1, the GPU", fx_topology1, {T1_GPU}, ""},
    {"topology 1, GPU and audio, unload none",
     fx_topology1,
     {T1_GPU, T1_AUDIO},
     "unload-modules = none\n"},
    {"topology 1, host-display forced", fx_topology1, {T1_GPU}, "host-display = yes\n"},
    {"topology 1, unload list",
     fx_topology1,
     {T1_GPU},
     "unload-modules = nvidia_drm nvidia_modeset nvidia_uvm nvidia\n"},
    {"topology 2, the GPU", fx_topology2, {T2_GPU}, ""},
    {"topology 2, strict with the GPU only", fx_topology2, {T2_GPU}, "group = strict\n"},
    {"topology 2, strict with all four",
     fx_topology2,
     {T2_GPU, T2_AUDIO, T2_USB, T2_UCSI},
     "group = strict\n"},
    {"topology 2, the bridge asked for", fx_topology2, {T2_BRIDGE}, ""},
    {"topology 2, the iGPU", fx_topology2, {T2_IGPU}, ""},
    {"topology 3, the guest GPU", fx_topology3, {T3_GPU}, ""},
    {"topology 3, GPU and audio", fx_topology3, {T3_GPU, T3_AUDIO}, ""},
    {"topology 3, the host GPU", fx_topology3, {T3_HOST_GPU}, ""},
    {"topology 4, the only iGPU", fx_topology4, {T4_IGPU}, ""},
    {"topology 4, host-display no", fx_topology4, {T4_IGPU}, "host-display = no\n"},
    {"topology 4, the root NVMe", fx_topology4, {T4_NVME}, ""},
    {"topology 5, single GPU", fx_topology5, {T5_GPU}, ""},
    {"topology 5, single GPU, holders kill, units",
     fx_topology5,
     {T5_GPU},
     "holders = kill\nstop-units = nvidia-persistenced.service\n"
     "display-manager = gdm.service\n"},
    {"topology 5, vfio options",
     fx_topology5,
     {T5_GPU, T5_AUDIO},
     "vfio-pci-options = disable_idle_d3=1\n"},
    {"topology 5, display manager none", fx_topology5, {T5_GPU}, "display-manager = none\n"},
    {"PCH audio", fx_topology_pch, {TPCH_AUDIO}, ""},
    {"NVMe holding /", fx_topology_bad_nvme, {TBAD_NVME}, ""},
    {"NIC with the default route", fx_topology_bad_nic, {TBAD_NIC}, ""},
    {"no such device", fx_topology1, {"0000:0f:00.0"}, ""},
    {"no hostdev", fx_topology1, {NULL}, ""},
    {"topology 1, devices from the configuration", fx_topology1, {NULL}, "devices = 01:00.0\n"},
    {"laptop, HDMI audio component, the iGPU", fx_topology_laptop_hdmi, {TL_IGPU}, ""},
    {"laptop, HDMI audio component, iGPU and audio",
     fx_topology_laptop_hdmi,
     {TL_IGPU, TL_AUDIO},
     ""},
    {"laptop, HDMI audio component, i915 listed",
     fx_topology_laptop_hdmi,
     {TL_IGPU},
     "unload-modules = i915\n"},
    {"single AMD GPU beside chipset audio", fx_topology_amd_hdmi, {TA_GPU}, ""},
    {"NVIDIA with USB-C functions", fx_topology_nvidia_usbc, {TN_GPU}, ""},
    {"NVIDIA with USB-C functions, host-display forced",
     fx_topology_nvidia_usbc,
     {TN_GPU},
     "host-display = yes\n"},
};

/* Cases whose domain names its devices otherwise than by <hostdev>: more of <devices>. */
static const struct {
	struct golden_case c;
	const char *more;
} more_cases[] = {
    {{"SR-IOV, a VF as interface hostdev", fx_topology_sriov, {NULL}, ""},
     "<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' "
     "bus='0x03' slot='0x01' function='0x0'/></source></interface>"},
    {{"NVMe disk, the second controller", fx_topology_nvme, {NULL}, ""}, GOLDEN_NVME("0x05")},
    {{"NVMe disk, the controller holding /", fx_topology_nvme, {NULL}, ""},
     GOLDEN_NVME("0x02")},
};

/* The domain XML libvirt would pass for vm "golden". */
static void xml_for(const struct golden_case *c, const char *more, struct domxml *dom)
{
	char buf[4096];
	size_t len =
	    (size_t)snprintf(buf, sizeof(buf), "<domain type='kvm'><name>golden</name><devices>");

	for (size_t i = 0; i < ARRAY_SIZE(c->devs) && c->devs[i]; i++) {
		struct bdf b;

		assert_int_equal(bdf_parse(c->devs[i], &b), 0);
		len +=
		    (size_t)snprintf(buf + len, sizeof(buf) - len,
				     "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
				     "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
				     "function='0x%x'/></source></hostdev>",
				     b.domain, b.bus, b.dev, b.fn);
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s</devices></domain>",
				more ? more : "");
	assert_int_equal(domxml_parse_mem(buf, len, "golden.xml", dom), 0);
}

/* One case's output: its plan as `vfio-handoff plan` prints it, or its refusal. */
static void run_case(const struct golden_case *c, const char *more, FILE *out)
{
	struct vm_config cfg;
	struct domxml dom = {0};
	struct plan *p = calloc(1, sizeof(*p));
	int r;

	assert_non_null(p);
	c->topology();
	config_set_required_owner(getuid());
	config_defaults(&cfg);
	fx_write("etc/vfio-handoff/vm.d/golden.conf", c->conf);
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/golden.conf"), 0644), 0);
	assert_int_equal(config_apply_file(fx_path("etc/vfio-handoff/vm.d/golden.conf"), &cfg), 0);
	xml_for(c, more, &dom);
	reason_clear();
	fprintf(out, "=== %s\n", c->name);
	r = plan_build("golden", &cfg, &dom, p);
	if (r < 0)
		fprintf(out, "refused (%d): %s\n", r, reason_get());
	else
		plan_print(p, out);
	plan_free(p);
	free(p);
	domxml_free(&dom);
	reason_clear();
	fx_teardown();
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = calloc(1, (size_t)len + 1);
		if (buf)
			n = fread(buf, 1, (size_t)len, f);
		if (buf && n != (size_t)len) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static void test_plan_output_matches_the_golden_file(void **state)
{
	char *got = NULL, *want;
	size_t len = 0;
	FILE *out = open_memstream(&got, &len);

	(void)state;
	assert_non_null(out);
	log_setup(0, LOG_ERR);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i], NULL, out);
	for (size_t i = 0; i < ARRAY_SIZE(more_cases); i++)
		run_case(&more_cases[i].c, more_cases[i].more, out);
	assert_int_equal(fclose(out), 0);
	/* The fixture root must never show: the output is the host's, not the tree's. */
	assert_null(strstr(got, "/tmp/"));
	if (getenv("VH_GOLDEN_UPDATE")) {
		FILE *f = fopen(VH_GOLDEN_FILE, "we");

		assert_non_null(f);
		assert_int_equal(fputs(got, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
	}
	want = slurp(VH_GOLDEN_FILE);
	assert_non_null(want);
	if (strcmp(got, want) != 0) {
		FILE *f = fopen("build/golden-plans.got", "we");

		if (f) {
			fputs(got, f);
			fclose(f);
		}
		print_error("plan output differs from %s; see build/golden-plans.got\n",
			    VH_GOLDEN_FILE);
	}
	assert_string_equal(got, want);
	free(got);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_output_matches_the_golden_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
