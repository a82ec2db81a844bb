/* check's findings about the domain itself (plan/preflight.h): the ROM files it names, the
 * host display going dark, a GPU under legacy BIOS, and the features older NVIDIA guest
 * drivers need. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/display.h"
#include "facts/hostfacts.h"
#include "facts/pcidev.h"
#include "input/domfeatures.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "plan/preflight.h"

#define VENDOR_NVIDIA 0x10de

/* Where libvirt's AppArmor abstraction for QEMU (src/security/apparmor/libvirt-qemu.in,
 * "access to firmware's etc") lets every VM read. virt-aa-helper adds a hostdev's sysfs
 * files to the VM's own profile but not its <rom file> (libvirt 9.0's, run with --dryrun on
 * such a domain), so a ROM elsewhere is refused unless the administrator adds a rule. */
static const char *const aa_firmware_dirs[] = {
    "/usr/share/vgabios/", "/usr/share/AAVMF/",	   "/usr/share/bochs/",	   "/usr/share/edk2-ovmf/",
    "/usr/share/kvm/",	   "/usr/share/OVMF/",	   "/usr/share/ovmf/",	   "/usr/share/openbios/",
    "/usr/share/qemu/",	   "/usr/share/qemu-efi/", "/usr/share/qemu-kvm/", "/usr/share/seabios/",
    "/usr/share/sgabios/", "/usr/share/slof/",
};

static const char *aa_dir_of(const char *file)
{
	for (size_t i = 0; i < ARRAY_SIZE(aa_firmware_dirs); i++)
		if (str_has_prefix(file, aa_firmware_dirs[i]))
			return aa_firmware_dirs[i];
	return NULL;
}

static void check_rom(struct preflight *pf, const struct domrom *rom)
{
	char sub[48], a[BDF_STRLEN], p[VH_PATH_MAX], q[200];
	const char *dir;
	struct stat st;
	int fd;

	snprintf(sub, sizeof(sub), "ROM %s", bdf_fmt(&rom->addr, a));
	str_quote(q, sizeof(q), rom->file, 160);
	if (rom->file[0] != '/') {
		preflight_add(pf, PF_FAIL, sub, "rom file '%s' (line %d) is not an absolute path",
			      q, rom->line);
		return;
	}
	if (path_join(p, sizeof(p), "%s", rom->file) < 0 || stat(p, &st) < 0) {
		preflight_add(pf, PF_FAIL, sub, "%s does not exist: QEMU cannot start the VM", q);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		preflight_add(pf, PF_FAIL, sub, "%s is not a regular file", q);
		return;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		preflight_add(pf, PF_FAIL, sub, "%s cannot be read: %s", q, strerror(errno));
		return;
	}
	close(fd);
	if (st.st_size == 0) {
		preflight_add(pf, PF_FAIL, sub, "%s is empty", q);
		return;
	}
	if (!(st.st_mode & S_IROTH)) {
		preflight_add(pf, PF_WARN, sub,
			      "%s is not readable by other users, and QEMU runs as its own user "
			      "(libvirt-qemu or qemu): chmod a+r it",
			      q);
		return;
	}
	dir = aa_dir_of(rom->file);
	if (dir) {
		preflight_add(pf, PF_OK, sub,
			      "%s is readable and lies in %s, which libvirt's AppArmor profile "
			      "lets QEMU read",
			      q, dir);
		return;
	}
	switch (hostfacts_lsm()) {
	case LSM_APPARMOR:
		preflight_add(pf, PF_WARN, sub,
			      "%s is readable, but AppArmor may refuse it to QEMU: libvirt's "
			      "profile reads ROMs only from firmware directories such as "
			      "/usr/share/vgabios/ (move it there)",
			      q);
		break;
	case LSM_SELINUX:
		preflight_add(pf, PF_WARN, sub,
			      "%s is readable, but SELinux may refuse it to QEMU unless its label "
			      "allows (chcon -t virt_content_t, or move it to /usr/share/vgabios/)",
			      q);
		break;
	case LSM_NONE:
		preflight_add(pf, PF_OK, sub,
			      "%s is readable; neither AppArmor nor SELinux is enabled to refuse "
			      "it (with AppArmor it would have to be in /usr/share/vgabios/)",
			      q);
		break;
	}
}

static void check_host_display(struct preflight *pf, const char *vm, const struct plan *p)
{
	size_t handed_displays = 0;
	int total = display_count();

	for (size_t i = 0; i < p->n_devs; i++)
		handed_displays += pcidev_is_display(&p->devs[i]);
	if (!p->host_display &&
	    !(handed_displays && total >= 0 && handed_displays >= (size_t)total))
		return;
	preflight_add(pf, PF_WARN, "host display",
		      "the host's display goes dark while %s runs: if the VM hangs, log in over "
		      "ssh (or blind on a text console) and run `virsh destroy %s` or `sudo "
		      "vfio-handoff release %s`",
		      vm, vm, vm);
}

static void check_domain(struct preflight *pf, const char *vm, const struct plan *p,
			 const struct domxml *dom)
{
	const struct domfeatures *f = &dom->features;
	const struct pcidev *gpu = NULL;

	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];
		char sub[48];

		if (!pcidev_is_display(d))
			continue;
		if (!gpu)
			gpu = d;
		if (d->vendor != VENDOR_NVIDIA)
			continue;
		snprintf(sub, sizeof(sub), "NVIDIA %s", d->name);
		if (f->kvm_hidden || f->hyperv_vendor_id)
			preflight_add(pf, PF_OK, sub,
				      "the domain hides the hypervisor (%s), as NVIDIA guest "
				      "drivers before 465 require",
				      f->kvm_hidden ? "<kvm><hidden state='on'/>"
						    : "a Hyper-V vendor_id");
		else
			preflight_add(pf, PF_WARN, sub,
				      "the domain has neither <kvm><hidden state='on'/> nor a "
				      "Hyper-V <vendor_id state='on'>: NVIDIA guest drivers before "
				      "465 stop with error 43 without them");
	}
	if (!gpu)
		return;
	if (f->uefi)
		preflight_add(pf, PF_OK, "firmware", "%s boots UEFI firmware", vm);
	else
		preflight_add(pf, PF_WARN, "firmware",
			      "%s boots legacy BIOS, but gets GPU %s: give it UEFI firmware "
			      "(<os firmware='efi'>), with which GPUs pass through reliably",
			      vm, gpu->name);
}

void preflight_domain(struct preflight *pf, const char *vm, const struct plan *p,
		      const struct domxml *dom)
{
	for (size_t i = 0; i < dom->features.n_roms; i++)
		check_rom(pf, &dom->features.roms[i]);
	check_host_display(pf, vm, p);
	check_domain(pf, vm, p, dom);
}
