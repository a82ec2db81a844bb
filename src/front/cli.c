/* vfio-handoff: the command for people — plan, prepare, release, status, recover,
 * groups, check — on the same engine as the hook. Links libvirt only to fetch a defined
 * domain's XML when no --xml is given. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base/bdf.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/stdfds.h"
#include "base/util.h"
#include "facts/pcidev.h"
#include "front/cliargs.h"
#include "front/engine.h"
#include "front/optin.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "plan/preflight.h"
#include "steps/journal.h"

static const char *opt_xml;
static const char *opt_connect = "qemu:///system";

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vfio-handoff [--root DIR] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "  plan VM [--xml FILE]      print what prepare would do; change nothing\n"
	    "  prepare VM --xml FILE     hand the VM's devices to vfio-pci now\n"
	    "  release VM                give them back (undo the VM's journal)\n"
	    "  status                    which VM holds which devices\n"
	    "  recover [VM]              undo a journal left by a crash (all VMs if none given)\n"
	    "  groups                    list IOMMU groups with devices, ids and drivers\n"
	    "  check [VM] [--xml FILE]   preflight: CPU, IOMMU, vfio-pci, the VM's groups, reset,\n"
	    "                            ROM, firmware (ok, warn or FAIL; exit 1 on FAIL)\n"
	    "  enable VM [--devices LIST] [--strict] [--xml FILE]\n"
	    "                            check the VM, print its plan, opt it in (vm.d/VM.conf)\n"
	    "  disable VM                opt it out (refused while it holds devices)\n"
	    "  list                      opted-in VMs, their devices and state\n"
	    "\n"
	    "  --root DIR       act on the tree under DIR instead of / (fixtures, tests)\n"
	    "  --xml FILE       domain XML (default: the defined domain, from libvirt)\n"
	    "  --connect URI    libvirt URI for fetching XML (default qemu:///system)\n"
	    "  --dry-run        with prepare: plan only\n"
	    "  -v, --verbose    debug output\n"
	    "\n"
	    "Options may stand anywhere before \"--\"; every word after it is an argument\n"
	    "(a VM named --x: vfio-handoff recover -- --x).\n");
}

static int err(const char *what)
{
	const char *why = reason_get();

	fprintf(stderr, "vfio-handoff: %s%s%s\n", what ? what : "", what && why[0] ? ": " : "",
		why[0] ? why : "");
	return 1;
}

static void virt_quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

/* The defined domain's XML from libvirt (the CLI only; the hook never calls libvirt). */
static int fetch_xml(const char *vm, struct domxml *ret)
{
	virConnectPtr conn;
	virDomainPtr dom;
	char *xml;
	int r;

	virSetErrorFunc(NULL, virt_quiet);
	conn = virConnectOpenReadOnly(opt_connect);
	if (!conn) {
		virErrorPtr e = virGetLastError();
		return reason_set(-ECONNREFUSED,
				  "cannot connect to %s (%s); give the domain XML "
				  "with --xml FILE",
				  opt_connect, e && e->message ? e->message : "?");
	}
	dom = virDomainLookupByName(conn, vm);
	if (!dom) {
		virConnectClose(conn);
		return reason_set(-ENOENT, "no domain '%s' defined in %s; give its XML with --xml",
				  vm, opt_connect);
	}
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	virDomainFree(dom);
	virConnectClose(conn);
	if (!xml)
		return reason_set(-EIO, "cannot get the XML of domain '%s'", vm);
	r = domxml_parse_mem(xml, strlen(xml), vm, ret);
	free(xml);
	return r;
}

static int load_xml(const char *vm, struct domxml *ret)
{
	if (opt_xml)
		return domxml_parse_file(opt_xml, ret);
	return fetch_xml(vm, ret);
}

static int load_config(const char *vm, struct vm_config *cfg, bool need_opt_in)
{
	int r = config_load(vm, cfg);

	if (r < 0)
		return r;
	if (r == 0 && need_opt_in)
		log_info("VM '%s' has no %s/%s.conf: the hook would ignore it", vm, CONFIG_VM_DIR,
			 vm);
	return 0;
}

static int cmd_plan(const char *vm, bool apply)
{
	struct vm_config cfg;
	struct domxml dom;
	int r;

	if (load_config(vm, &cfg, true) < 0)
		return err(NULL);
	if (load_xml(vm, &dom) < 0)
		return err(NULL);
	r = engine_prepare(vm, &cfg, &dom, !apply, apply ? NULL : stdout);
	domxml_free(&dom);
	if (r < 0)
		return err(apply ? "prepare failed" : "plan refused");
	return 0;
}

static int cmd_release(const char *vm)
{
	if (!name_vm_valid(vm)) {
		reason_set(-EINVAL, "invalid VM name '%s'", ESC(vm));
		return err(NULL);
	}
	if (engine_release(vm) < 0)
		return err("release incomplete (see the messages above)");
	return 0;
}

static int cmd_recover(const char *vm)
{
	if (vm && !name_vm_valid(vm)) {
		reason_set(-EINVAL, "invalid VM name '%s'", ESC(vm));
		return err(NULL);
	}
	if (engine_recover(vm) < 0)
		return err("recover incomplete (see the messages above)");
	return 0;
}

static const char *holder_of(const struct bdf *addr, char *buf, size_t n)
{
	return journal_find_owner(addr, NULL, buf, n) > 0 ? buf : NULL;
}

static int cmd_groups(void)
{
	int *groups = NULL;
	size_t n = 0;
	int r;

	r = pcidev_list_groups(&groups, &n);
	if (r < 0 || n == 0) {
		free(groups);
		reason_set(-ENODEV,
			   "no IOMMU groups under %s/sys/kernel/iommu_groups: the IOMMU is "
			   "off (enable VT-d/AMD-Vi in the firmware; intel_iommu=on on Intel)",
			   root_is_real() ? "" : root_get());
		return err(NULL);
	}
	for (size_t i = 0; i < n; i++) {
		struct pcidev *devs = NULL;
		size_t nd = 0;

		if (pcidev_group_members(groups[i], &devs, &nd) < 0)
			continue;
		printf("IOMMU group %d\n", groups[i]);
		for (size_t k = 0; k < nd; k++) {
			struct pcidev *d = &devs[k];
			char owner[256];

			pcidev_name(d);
			/* pci.ids and sysfs text, a VM name from a journal: escaped. */
			printf("  %s %s [%04x]: %s [%04x:%04x]", ESC(d->name), ESC(d->class_desc),
			       d->class >> 8, ESC(d->desc), d->vendor, d->device);
			printf("  driver: %s", d->driver[0] ? ESC(d->driver) : "none");
			if (d->boot_vga == 1)
				printf("  boot_vga");
			if (holder_of(&d->addr, owner, sizeof(owner)))
				printf("  held by VM %s", ESC(owner));
			putchar('\n');
		}
		free(devs);
	}
	free(groups);
	return 0;
}

static void check_line(bool ok, const char *what, const char *detail, int *failed)
{
	/* detail is a reason (escaped when it was set) or the program's own text. */
	printf("%-6s %s%s%s\n", ok ? "ok" : "FAIL", what, detail[0] ? ": " : "", detail);
	if (!ok)
		(*failed)++;
}

/* Prints the findings of plan/preflight.c as check lines; FAIL lines count as failures. */
static void check_lines(struct preflight *pf, int *failed)
{
	for (size_t i = 0; i < pf->n; i++)
		printf("%-6s %s: %s\n", preflight_level_name(pf->lines[i].level),
		       pf->lines[i].subject, pf->lines[i].text);
	*failed += (int)preflight_count(pf, PF_FAIL);
	preflight_free(pf);
}

static bool cpu_virt(char *detail, size_t n)
{
	char p[VH_PATH_MAX], line[8192];
	_cleanup_fclose_ FILE *f = NULL;

	if (path_join(p, sizeof(p), "/proc/cpuinfo") < 0 || !(f = fopen(p, "re"))) {
		snprintf(detail, n, "cannot read /proc/cpuinfo");
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!str_has_prefix(line, "flags"))
			continue;
		if (strstr(line, " vmx")) {
			snprintf(detail, n, "Intel VT-x (vmx)");
			return true;
		}
		if (strstr(line, " svm")) {
			snprintf(detail, n, "AMD-V (svm)");
			return true;
		}
		break;
	}
	snprintf(detail, n, "no vmx or svm flag: enable virtualization in the firmware");
	return false;
}

static bool vfio_available(char *detail, size_t n)
{
	char p[VH_PATH_MAX];
	struct stat st;

	if (path_join(p, sizeof(p), "/sys/bus/pci/drivers/vfio-pci") == 0 && stat(p, &st) == 0) {
		snprintf(detail, n, "loaded");
		return true;
	}
	if (path_join(p, sizeof(p), "/sys/module/vfio_pci") == 0 && stat(p, &st) == 0) {
		snprintf(detail, n, "built in");
		return true;
	}
	/* Not loaded: is there a module to load for the running kernel? */
	char release[256] = "";
	FILE *f = NULL;

	if (path_join(p, sizeof(p), "/proc/sys/kernel/osrelease") == 0 && (f = fopen(p, "re"))) {
		if (!fgets(release, sizeof(release), f))
			release[0] = '\0';
		fclose(f);
		strip_trailing(release);
	}
	if (release[0] &&
	    path_join(p, sizeof(p), "/lib/modules/%s/kernel/drivers/vfio/pci", release) == 0 &&
	    stat(p, &st) == 0) {
		snprintf(detail, n, "module available (loaded on first prepare)");
		return true;
	}
	snprintf(detail, n, "no vfio-pci module found for the running kernel");
	return false;
}

static int cmd_check(const char *vm)
{
	struct preflight pf = {0};
	char detail[512];
	int *groups = NULL;
	size_t ng = 0;
	int failed = 0;
	bool ok;

	ok = cpu_virt(detail, sizeof(detail));
	check_line(ok, "CPU virtualization", detail, &failed);
	ok = pcidev_list_groups(&groups, &ng) == 0 && ng > 0;
	snprintf(detail, sizeof(detail),
		 ok ? "%zu IOMMU groups"
		    : "no IOMMU groups: enable "
		      "VT-d/AMD-Vi in the firmware (and intel_iommu=on on Intel)",
		 ng);
	free(groups);
	check_line(ok, "IOMMU", detail, &failed);
	ok = vfio_available(detail, sizeof(detail));
	check_line(ok, "vfio-pci", detail, &failed);
	preflight_host(&pf);
	check_lines(&pf, &failed);

	if (vm) {
		struct vm_config cfg;
		struct domxml dom;
		struct plan *p;
		int r;

		r = config_load(vm, &cfg);
		snprintf(detail, sizeof(detail), "%s",
			 r < 0	  ? reason_get()
			 : r == 0 ? "no opt-in file: the hook ignores this VM"
				  : "valid");
		check_line(r > 0, "configuration", detail, &failed);
		reason_clear();
		if (r < 0)
			config_defaults(&cfg);
		r = load_xml(vm, &dom);
		if (r < 0) {
			check_line(false, "domain XML", reason_get(), &failed);
			reason_clear();
		} else {
			snprintf(detail, sizeof(detail),
				 "%zu PCI device(s) to hand over (hostdev, interface, nvme disk)",
				 dom.n_hostdevs);
			check_line(true, "domain XML", detail, &failed);
			p = calloc(1, sizeof(*p));
			if (p && plan_build(vm, &cfg, &dom, p) == 0) {
				snprintf(detail, sizeof(detail),
					 "%zu device(s) in %zu group(s), %zu "
					 "step(s)",
					 p->n_devs, p->n_groups, p->n_steps);
				check_line(true, "groups viable", detail, &failed);
				preflight_vm(&pf, vm, p, &dom);
				check_lines(&pf, &failed);
			} else {
				check_line(false, "groups viable", reason_get(), &failed);
				reason_clear();
			}
			if (p)
				plan_free(p);
			free(p);
			domxml_free(&dom);
		}
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct cli_args a;
	int r;

	/* Before anything is opened: a closed 0, 1 or 2 would become the lock's or a
	 * journal's number, and what is printed would land in that file. */
	r = stdfds_ensure();
	if (r < 0) {
		fprintf(stderr, "vfio-handoff: cannot open /dev/null: %s\n", strerror(-r));
		return 1;
	}
	if (cli_args_parse(argc, argv, &a) < 0) {
		fprintf(stderr, "vfio-handoff: %s\n", reason_get());
		usage(stderr);
		return 2;
	}
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (a.root && root_set(a.root) < 0) {
		fprintf(stderr, "vfio-handoff: --root: path too long\n");
		return 2;
	}
	opt_xml = a.xml;
	if (a.connect)
		opt_connect = a.connect;

	bool changes = a.cmd == CLI_PREPARE || a.cmd == CLI_RELEASE || a.cmd == CLI_RECOVER;
	log_setup(LOG_TO_STDERR | (changes ? LOG_TO_SYSLOG : 0), a.verbose ? LOG_DEBUG : LOG_INFO);

	switch (a.cmd) {
	case CLI_PLAN:
		return cmd_plan(a.vm, false);
	case CLI_PREPARE:
		return cmd_plan(a.vm, !a.dry_run);
	case CLI_RELEASE:
		return cmd_release(a.vm);
	case CLI_RECOVER:
		return cmd_recover(a.vm);
	case CLI_STATUS:
		return engine_status(stdout) < 0 ? err(NULL) : 0;
	case CLI_GROUPS:
		return cmd_groups();
	case CLI_CHECK:
		return cmd_check(a.vm);
	case CLI_ENABLE:
		return cli_enable(&a, load_xml);
	case CLI_DISABLE:
		return cli_disable(&a);
	case CLI_LIST:
		return cli_list(&a, load_xml);
	}
	return 2;
}
