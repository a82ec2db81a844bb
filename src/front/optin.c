/* enable, disable and list: opting a VM in is writing vm.d/VM.conf, root's, mode 0644,
 * after the checks `plan` makes; opting out is removing it while the VM holds nothing.
 * Longer than 400 lines: three commands sharing the opt-in file's rules (its path, owner,
 * mode and atomic write) and the listing of VMs that both list and enable read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/util.h"
#include "front/cliargs.h"
#include "front/optin.h"
#include "input/config.h"
#include "input/domxml.h"
#include "plan/plan.h"
#include "steps/journal.h"

#define CONF_TEXT_MAX 2048

static int fail(void)
{
	fprintf(stderr, "vfio-handoff: %s\n", reason_get()[0] ? reason_get() : "failed");
	return 1;
}

static int check_name(const char *vm)
{
	char q[64];

	if (!name_vm_valid(vm))
		return reason_set(-EINVAL, "invalid VM name '%s'", str_quote(q, sizeof(q), vm, 48));
	return 0;
}

/* "0000:01:00.0,0000:01:00.1" or with spaces, as the configuration takes it. */
static int parse_devices(const char *list, struct vm_config *cfg)
{
	char buf[1024], q[64];
	char *save = NULL, *tok;
	size_t n = 0;

	if (strlcpy_chk(buf, list, sizeof(buf)) < 0)
		return reason_set(-EINVAL, "--devices: list too long");
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		struct bdf b;

		if (bdf_parse(tok, &b) < 0)
			return reason_set(-EINVAL,
					  "--devices: '%s' is not a PCI address (0000:01:00.0)",
					  str_quote(q, sizeof(q), tok, 32));
		if (n == CONFIG_MAX_DEVICES)
			return reason_set(-EINVAL, "--devices: more than %d devices",
					  CONFIG_MAX_DEVICES);
		for (size_t i = 0; i < n; i++)
			if (bdf_equal(&cfg->device_list[i], &b))
				return reason_set(-EINVAL, "--devices: %s given twice",
						  bdf_fmt(&b, q));
		cfg->device_list[n++] = b;
	}
	if (!n)
		return reason_set(-EINVAL, "--devices: no PCI address given");
	cfg->devices = CFG_DEVICES_LIST;
	cfg->n_devices = n;
	return 0;
}

/* What enable writes: a comment, and only the keys the command line gave. */
static int conf_text(const struct cli_args *a, const struct vm_config *cfg, char *buf, size_t n)
{
	size_t len;

	len = (size_t)snprintf(buf, n,
			       "# Opted in with 'vfio-handoff enable': the hook hands this VM\n"
			       "# its devices when it starts. The keys are those of\n"
			       "# %s; vfio-handoff(8).\n",
			       CONFIG_GLOBAL);
	if (a->devices) {
		len += (size_t)snprintf(buf + len, n - len, "devices =");
		for (size_t i = 0; i < cfg->n_devices && len < n; i++) {
			char b[BDF_STRLEN];

			len += (size_t)snprintf(buf + len, n - len, " %s",
						bdf_fmt(&cfg->device_list[i], b));
		}
		if (len < n)
			len += (size_t)snprintf(buf + len, n - len, "\n");
	}
	if (a->strict && len < n)
		len += (size_t)snprintf(buf + len, n - len, "group = strict\n");
	return len < n ? 0 : -ENAMETOOLONG;
}

/* dir under the root, created 0755 when missing, then checked like the files in it. */
static int ensure_dir(const char *dir, char *path, size_t n)
{
	int r = path_join(path, n, "%s", dir);

	if (r < 0)
		return reason_set(r, "%s: path too long under root %s", dir, root_get());
	if (mkdir(path, 0755) == 0) {
		/* The umask must not decide who may write where root reads from. */
		if (chmod(path, 0755) < 0)
			return reason_set(-errno, "%s: chmod: %s", path, strerror(errno));
	} else if (errno != EEXIST) {
		return reason_set(-errno, "cannot create %s: %s", path, strerror(errno));
	}
	return config_check_dir(path);
}

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* 1 when path holds exactly text, 0 when it holds something else, -errno otherwise. */
static int same_content(const char *path, const char *text)
{
	char buf[CONF_TEXT_MAX + 1];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf));
	if (len < 0)
		return -errno;
	return (size_t)len == strlen(text) && memcmp(buf, text, (size_t)len) == 0;
}

/* Writes text as dir/name, mode 0644, never half-written and never over an existing
 * file: a temporary file, flushed, then linked into place. 1 written, 0 the same file was
 * there already; -EEXIST (with a reason) when another one is. */
static int write_new(const char *dir, const char *name, const char *text)
{
	char tmp[VH_PATH_MAX], path[VH_PATH_MAX];
	size_t len = strlen(text);
	int fd, r;

	if (snprintf_chk(path, sizeof(path), "%s/%s", dir, name) < 0 ||
	    snprintf_chk(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) < 0)
		return reason_set(-ENAMETOOLONG, "%s/%s: path too long", dir, name);
	r = same_content(path, text);
	if (r == 1)
		return 0;
	if (r != -ENOENT)
		return reason_set(-EEXIST, "%s exists already%s", path,
				  r == 0 ? " with other settings" : "");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return reason_set(-errno, "cannot create a file in %s: %s", dir, strerror(errno));
	r = 0;
	errno = 0;
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	if (r == -EEXIST)
		return reason_set(r, "%s exists already", path);
	if (r < 0)
		return reason_set(r, "cannot write %s: %s", path, strerror(-r));
	fsync_dir(dir);
	return 1;
}

int cli_enable(const struct cli_args *a, cli_load_xml_fn load_xml)
{
	char conf_dir[VH_PATH_MAX], vm_dir[VH_PATH_MAX], name[VM_NAME_MAX + 8];
	char text[CONF_TEXT_MAX];
	struct vm_config cfg;
	struct domxml dom;
	struct plan *p;
	size_t n_devs;
	int r;

	if (check_name(a->vm) < 0)
		return fail();
	if (geteuid() != config_required_owner()) {
		reason_set(-EPERM, "enable must run as root: the hook reads only files root owns");
		return fail();
	}
	if (config_load(a->vm, &cfg) < 0)
		return fail();
	if (a->devices && parse_devices(a->devices, &cfg) < 0)
		return fail();
	if (a->strict)
		cfg.group = CFG_GROUP_STRICT;
	/* The VM must exist: libvirt knows it, or its XML was given. */
	if (load_xml(a->vm, &dom) < 0)
		return fail();
	if (a->xml && strcmp(dom.name, a->vm) != 0) {
		char q[64];

		reason_set(-EINVAL, "%s is the XML of domain '%s', not '%s'", a->xml,
			   str_quote(q, sizeof(q), dom.name, 48), a->vm);
		domxml_free(&dom);
		return fail();
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		domxml_free(&dom);
		return 1;
	}
	/* The checks the hook makes at prepare: groups viable, nothing the host needs. */
	r = plan_build(a->vm, &cfg, &dom, p);
	domxml_free(&dom);
	if (r == 0)
		plan_print(p, stdout);
	n_devs = p->n_devs;
	plan_free(p);
	free(p);
	if (r < 0) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", reason_get());
		reason_clear();
		reason_set(r, "not enabled: %s", why);
		return fail();
	}
	if (!n_devs) {
		reason_set(-EINVAL,
			   "not enabled: VM '%s' has no PCI hostdev in its XML and no --devices: "
			   "nothing to hand over",
			   a->vm);
		return fail();
	}
	if (ensure_dir(CONFIG_DIR, conf_dir, sizeof(conf_dir)) < 0 ||
	    ensure_dir(CONFIG_VM_DIR, vm_dir, sizeof(vm_dir)) < 0)
		return fail();
	if (conf_text(a, &cfg, text, sizeof(text)) < 0) {
		reason_set(-ENAMETOOLONG, "--devices: list too long");
		return fail();
	}
	snprintf(name, sizeof(name), "%s.conf", a->vm);
	r = write_new(vm_dir, name, text);
	if (r == -EEXIST) {
		char why[VH_PATH_MAX + 64];

		snprintf(why, sizeof(why), "%s", reason_get());
		reason_clear();
		reason_set(
		    r, "VM '%s' is opted in already: %s; edit it, or 'vfio-handoff disable' first",
		    a->vm, why);
	}
	if (r < 0)
		return fail();
	printf("%s VM '%s': %s/%s (root, 0644); the hook hands it %zu device(s) when it starts\n",
	       r ? "enabled" : "already enabled", ESC(a->vm), ESC(vm_dir), ESC(name), n_devs);
	return 0;
}

int cli_disable(const struct cli_args *a)
{
	char dir[VH_PATH_MAX], path[VH_PATH_MAX], journal[VH_PATH_MAX];
	struct stat st;
	int r;

	if (check_name(a->vm) < 0)
		return fail();
	if (path_join(dir, sizeof(dir), "%s", CONFIG_VM_DIR) < 0 ||
	    path_join(path, sizeof(path), "%s/%s.conf", CONFIG_VM_DIR, a->vm) < 0 ||
	    path_join(journal, sizeof(journal), "%s/%s.journal", RUN_DIR, a->vm) < 0) {
		reason_set(-ENAMETOOLONG, "path too long under root %s", root_get());
		return fail();
	}
	/* Release follows the journal, file or not; still, opting out of a VM that holds
	 * devices is most likely a mistake about which VM. */
	if (lstat(journal, &st) == 0) {
		reason_set(-EBUSY,
			   "not disabled: VM '%s' holds devices the hook handed over (%s); stop "
			   "it first (or 'vfio-handoff release %s')",
			   a->vm, journal, a->vm);
		return fail();
	}
	if (lstat(path, &st) < 0) {
		reason_set(-ENOENT, "VM '%s' is not opted in: no %s", a->vm, path);
		return fail();
	}
	if (S_ISDIR(st.st_mode)) {
		reason_set(-EISDIR, "%s is a directory; not removed", path);
		return fail();
	}
	r = config_check_dir(dir);
	if (r < 0)
		return fail();
	if (unlink(path) < 0) {
		reason_set(-errno, "cannot remove %s: %s", path, strerror(errno));
		return fail();
	}
	fsync_dir(dir);
	printf("disabled VM '%s': removed %s; the hook leaves it alone from its next start\n",
	       ESC(a->vm), ESC(path));
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the VMs with a vm.d/NAME.conf, sorted, into names (malloc'ed). */
static int opted_in(char ***ret, size_t *ret_n)
{
	char dir[VH_PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (path_join(dir, sizeof(dir), "%s", CONFIG_VM_DIR) < 0)
		return reason_set(-ENAMETOOLONG, "path too long under root %s", root_get());
	r = config_check_dir(dir);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	d = opendir(dir);
	if (!d)
		return reason_set(-errno, "cannot read %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **tmp;

		if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		if (!tmp || !(tmp[n] = strndup(e->d_name, len - 5))) {
			names = tmp ? tmp : names;
			journal_list_free(names, n);
			closedir(d);
			return -ENOMEM;
		}
		names = tmp;
		if (!name_vm_valid(names[n])) {
			free(names[n]);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

static bool listed(char **names, size_t n, const char *vm)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], vm) == 0)
			return true;
	return false;
}

static void print_devices(const char *vm, bool opted, cli_load_xml_fn load_xml)
{
	struct vm_config cfg;
	struct domxml dom;
	char b[BDF_STRLEN];

	if (!opted) {
		printf("  devices: (no opt-in file: it was removed while the VM held devices)\n");
		return;
	}
	if (config_load(vm, &cfg) < 0) {
		printf("  config:  INVALID: %s\n", reason_get());
		reason_clear();
		return;
	}
	if (cfg.devices == CFG_DEVICES_LIST) {
		printf("  devices:");
		for (size_t i = 0; i < cfg.n_devices; i++)
			printf(" %s", bdf_fmt(&cfg.device_list[i], b));
		putchar('\n');
	} else if (load_xml && root_is_real() && load_xml(vm, &dom) == 0) {
		printf("  devices: hostdevs:");
		for (size_t i = 0; i < dom.n_hostdevs; i++)
			printf(" %s", bdf_fmt(&dom.hostdevs[i].addr, b));
		printf("%s\n", dom.n_hostdevs ? "" : " none");
		domxml_free(&dom);
	} else {
		reason_clear();
		printf("  devices: hostdevs (the PCI hostdevs of its domain XML)\n");
	}
	printf("  group:   %s (with each device, %s)\n",
	       cfg.group == CFG_GROUP_STRICT ? "strict" : "whole",
	       cfg.group == CFG_GROUP_STRICT ? "only when the XML lists its whole IOMMU group"
					     : "its whole IOMMU group");
}

static void print_state(const char *vm)
{
	struct journal_data d;
	char b[BDF_STRLEN];
	int r = journal_read(vm, &d);

	if (r == -ENOENT) {
		printf("  state:   nothing handed over\n");
		return;
	}
	if (r < 0) {
		printf("  state:   journal unreadable: %s\n", reason_get());
		reason_clear();
		return;
	}
	printf("  state:   holds %zu device(s):", d.n_devs);
	for (size_t i = 0; i < d.n_devs; i++)
		printf(" %s", bdf_fmt(&d.devs[i], b));
	if (d.n_wedged)
		printf(" (%zu wedged: 'vfio-handoff status')", d.n_wedged);
	putchar('\n');
	journal_data_free(&d);
}

int cli_list(const struct cli_args *a, cli_load_xml_fn load_xml)
{
	char **names = NULL, **held = NULL;
	size_t n = 0, n_held = 0, shown = 0;

	(void)a;
	if (opted_in(&names, &n) < 0)
		return fail();
	if (journal_list(&held, &n_held) < 0) {
		journal_list_free(names, n);
		return fail();
	}
	/* The opted-in VMs, then those that hold devices without a file any more. */
	for (size_t i = 0; i < n + n_held; i++) {
		const char *vm = i < n ? names[i] : held[i - n];
		bool opted = i < n;

		if (!opted && (listed(names, n, vm) || !name_vm_valid(vm)))
			continue;
		printf("VM %s%s\n", ESC(vm), opted ? "" : "  (not opted in)");
		print_devices(vm, opted, load_xml);
		print_state(vm);
		shown++;
	}
	if (!shown)
		printf("no VM opted in (no .conf file in %s)\n", CONFIG_VM_DIR);
	journal_list_free(names, n);
	journal_list_free(held, n_held);
	return 0;
}
