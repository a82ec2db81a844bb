/* Host facts for check (facts/hostfacts.h): interrupt remapping, the IOMMU mode, reset
 * methods and bus-reset peers, the security module. Read-only; nothing here is needed by a
 * hand-off. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bdf.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/hostfacts.h"
#include "kernel/attr.h"

/* The VT-d extended capability register's Interrupt Remapping support bit (VT-d
 * specification, 11.4.3); the kernel shows the register in hex in
 * /sys/class/iommu/dmarN/intel-iommu/ecap (Documentation/ABI/testing/
 * sysfs-class-iommu-intel-iommu). */
#define VTD_ECAP_IR (1ULL << 3)

/* Interrupt chips in /proc/interrupts: a remapped one is named with an "IR-" prefix
 * (IR-PCI-MSI, IR-IO-APIC, IR-PCI-MSIX-0000:01:00.0) on Intel and AMD alike. Reading the
 * file needs no privilege, unlike dmesg. 1 remapped, 0 MSI without remapping, -ENODATA
 * when neither shows, -errno when unreadable. */
static int interrupts_remapped(void)
{
	char p[VH_PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	bool msi = false;

	if (path_join(p, sizeof(p), "/proc/interrupts") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, " IR-"))
			return 1;
		if (strstr(line, "PCI-MSI"))
			msi = true;
	}
	return msi ? 0 : -ENODATA;
}

/* Whether an IOMMU unit can remap interrupts: an Intel unit whose ecap has the IR bit, or
 * an AMD-Vi unit (every one can). The unit's name into buf. */
static bool units_ir_capable(char *buf, size_t n)
{
	char p[VH_PATH_MAX], v[64];
	struct dirent *e;
	DIR *d;
	bool found = false;

	if (path_join(p, sizeof(p), "/sys/class/iommu") < 0 || !(d = opendir(p)))
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (path_join(p, sizeof(p), "/sys/class/iommu/%s/intel-iommu/ecap", e->d_name) ==
			0 &&
		    attr_read(p, v, sizeof(v)) == 0) {
			unsigned long long ecap = strtoull(v, NULL, 16);

			if (ecap & VTD_ECAP_IR) {
				snprintf(buf, n, "%.32s (VT-d ecap %.20s)", e->d_name, v);
				found = true;
			}
			continue;
		}
		if (path_join(p, sizeof(p), "/sys/class/iommu/%s/amd-iommu", e->d_name) == 0 &&
		    path_exists(p)) {
			snprintf(buf, n, "%.32s (AMD-Vi)", e->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static bool word_is_iommu(const char *w)
{
	return str_has_prefix(w, "iommu=") || str_has_prefix(w, "iommu.") ||
	       str_has_prefix(w, "intel_iommu=") || str_has_prefix(w, "amd_iommu=") ||
	       str_has_prefix(w, "intremap=");
}

static void read_cmdline(struct iommu_facts *f)
{
	char p[VH_PATH_MAX], line[4096], *save = NULL;
	_cleanup_fclose_ FILE *file = NULL;

	if (path_join(p, sizeof(p), "/proc/cmdline") < 0 || !(file = fopen(p, "re")) ||
	    !fgets(line, sizeof(line), file))
		return;
	for (char *w = strtok_r(line, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		size_t len = strlen(f->cmdline);

		if (!word_is_iommu(w))
			continue;
		if (strcmp(w, "iommu=pt") == 0 || strcmp(w, "iommu.passthrough=1") == 0)
			f->passthrough = true;
		if (len + strlen(w) + 2 < sizeof(f->cmdline))
			snprintf(f->cmdline + len, sizeof(f->cmdline) - len, "%s%s", len ? " " : "",
				 w);
	}
}

/* The default domain type of the lowest-numbered group: the kernel gives every group the
 * same one unless changed by hand through the group's type file. */
static void read_domain_type(struct iommu_facts *f)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	long best = LONG_MAX;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/kernel/iommu_groups") < 0 || !(d = opendir(p)))
		return;
	while ((e = readdir(d))) {
		char *end;
		long g = strtol(e->d_name, &end, 10);

		if (e->d_name[0] != '.' && *end == '\0' && g >= 0 && g < best)
			best = g;
	}
	closedir(d);
	if (best == LONG_MAX ||
	    path_join(p, sizeof(p), "/sys/kernel/iommu_groups/%ld/type", best) < 0 ||
	    attr_read(p, f->domain_type, sizeof(f->domain_type)) < 0)
		f->domain_type[0] = '\0';
}

void hostfacts_iommu(struct iommu_facts *ret)
{
	struct iommu_facts f = {0};
	char p[VH_PATH_MAX], unit[96] = "", v[8];
	int r;

	r = interrupts_remapped();
	f.ir_capable = units_ir_capable(unit, sizeof(unit));
	if (r == 1) {
		f.ir = IR_ON;
		snprintf(f.ir_evidence, sizeof(f.ir_evidence),
			 "remapped interrupt chips (IR-) in /proc/interrupts");
	} else if (r == 0) {
		f.ir = IR_OFF;
		snprintf(f.ir_evidence, sizeof(f.ir_evidence),
			 "MSI interrupts in /proc/interrupts without remapping (no IR- chip)%s%s",
			 f.ir_capable ? ", though the IOMMU can remap: " : "",
			 f.ir_capable ? unit : "");
	} else if (f.ir_capable) {
		snprintf(f.ir_evidence, sizeof(f.ir_evidence), "the IOMMU can remap: %s", unit);
	} else {
		snprintf(f.ir_evidence, sizeof(f.ir_evidence),
			 "neither /proc/interrupts nor /sys/class/iommu says");
	}
	if (path_join(p, sizeof(p),
		      "/sys/module/vfio_iommu_type1/parameters/"
		      "allow_unsafe_interrupts") == 0 &&
	    attr_read(p, v, sizeof(v)) == 0)
		f.unsafe_interrupts = v[0] == 'Y' || v[0] == '1';
	read_cmdline(&f);
	read_domain_type(&f);
	*ret = f;
}

int hostfacts_reset_methods(const struct bdf *addr, char *buf, size_t n, bool *ret_reset)
{
	char p[VH_PATH_MAX];
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/pci/devices/" BDF_FMT "/reset_method",
		      BDF_ARGS(*addr));
	if (r < 0)
		return r;
	r = attr_read(p, buf, n);
	if (r == 0)
		return 0;
	buf[0] = '\0';
	if (r != -ENOENT)
		return r;
	*ret_reset = path_join(p, sizeof(p), "/sys/bus/pci/devices/" BDF_FMT "/reset",
			       BDF_ARGS(*addr)) == 0 &&
		     path_exists(p);
	return -ENOENT;
}

/* The device's directory with every link resolved ("ROOT/sys/devices/pci0000:00/
 * 0000:00:01.0/0000:01:00.0"): a device below a bridge lies under the bridge's. */
static bool device_realpath(const char *name, char *buf)
{
	char p[VH_PATH_MAX];

	return path_join(p, sizeof(p), "/sys/bus/pci/devices/%s", name) == 0 &&
	       realpath(p, buf) != NULL;
}

static int bdf_qcmp(const void *a, const void *b)
{
	return bdf_cmp(a, b);
}

int hostfacts_bus_peers(const struct bdf *addr, struct bdf *ret, size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	struct bdf *all = NULL;
	char(*real)[PATH_MAX] = NULL;
	bool *peer = NULL;
	size_t n = 0, cap = 0, found = 0;
	DIR *d;
	int r = 0;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices") < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct bdf a;

		if (e->d_name[0] == '.' || bdf_parse(e->d_name, &a) < 0 || bdf_equal(&a, addr))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct bdf *na = realloc(all, ncap * sizeof(*all));
			char(*nr)[PATH_MAX] = na ? realloc(real, ncap * sizeof(*real)) : NULL;

			if (na)
				all = na;
			if (!nr) {
				r = -ENOMEM;
				break;
			}
			real = nr;
			cap = ncap;
		}
		all[n] = a;
		if (!device_realpath(e->d_name, real[n]))
			real[n][0] = '\0';
		n++;
	}
	closedir(d);
	if (r == 0 && n && !(peer = calloc(n, sizeof(*peer))))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	/* On the same bus; then below any of those (a bridge's subtree). */
	for (size_t i = 0; i < n; i++)
		peer[i] = all[i].domain == addr->domain && all[i].bus == addr->bus;
	for (size_t i = 0; i < n; i++) {
		if (!peer[i] || !real[i][0])
			continue;
		for (size_t k = 0; k < n; k++) {
			size_t len = strlen(real[i]);

			if (!peer[k] && real[k][0] && strncmp(real[k], real[i], len) == 0 &&
			    real[k][len] == '/')
				peer[k] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!peer[i])
			continue;
		if (found < max)
			ret[found] = all[i];
		found++;
	}
	qsort(ret, found < max ? found : max, sizeof(*ret), bdf_qcmp);
	*ret_n = found;
out:
	free(all);
	free(real);
	free(peer);
	return r;
}

enum lsm hostfacts_lsm(void)
{
	char p[VH_PATH_MAX], v[8];

	if (path_join(p, sizeof(p), "/sys/module/apparmor/parameters/enabled") == 0 &&
	    attr_read(p, v, sizeof(v)) == 0 && v[0] == 'Y')
		return LSM_APPARMOR;
	if (path_join(p, sizeof(p), "/sys/kernel/security/apparmor") == 0 && path_exists(p))
		return LSM_APPARMOR;
	if (path_join(p, sizeof(p), "/sys/fs/selinux/enforce") == 0 && path_exists(p))
		return LSM_SELINUX;
	return LSM_NONE;
}
