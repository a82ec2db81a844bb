/* Where the configuration lives and who may write it: the owner and mode rules of its files
 * and directories, the global file then the VM's, and the opt-in check. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/util.h"
#include "input/config.h"

static unsigned required_owner;

void config_set_required_owner(unsigned uid)
{
	required_owner = uid;
}

unsigned config_required_owner(void)
{
	return required_owner;
}

int config_check_owner(const char *path, int fd, bool dir)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		return reason_set(-e, "%s: stat failed: %s", path, strerror(e));
	}
	if (dir && !S_ISDIR(st.st_mode))
		return reason_set(-EPERM, "%s: refused: not a directory", path);
	if (!dir && !S_ISREG(st.st_mode))
		return reason_set(-EPERM, "%s: refused: not a regular file", path);
	if (st.st_uid != required_owner) {
		if (required_owner == 0)
			return reason_set(-EPERM,
					  "%s: refused: not owned by root (owner uid %u; "
					  "chown root: %s)",
					  path, (unsigned)st.st_uid, path);
		return reason_set(-EPERM, "%s: refused: not owned by uid %u (owner uid %u)", path,
				  required_owner, (unsigned)st.st_uid);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return reason_set(-EPERM, "%s: refused: writable by group or other (chmod go-w %s)",
				  path, path);
	return 0;
}

int config_check_dir(const char *path)
{
	_cleanup_close_ int fd = -1;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return -ENOENT;
		if (e == ELOOP)
			return reason_set(-EPERM, "%s: refused: is a symbolic link", path);
		if (e == ENOTDIR) {
			struct stat st;

			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
				return reason_set(-EPERM, "%s: refused: is a symbolic link", path);
			return reason_set(-EPERM, "%s: refused: not a directory", path);
		}
		return reason_set(-e, "%s: cannot open: %s", path, strerror(e));
	}
	return config_check_owner(path, fd, true);
}

static int vm_conf_path(char *buf, size_t n, const char *vm)
{
	return path_join(buf, n, "%s/%s.conf", CONFIG_VM_DIR, vm);
}

/* dir (CONFIG_DIR or CONFIG_VM_DIR) under the root into path, checked like the files in
 * it: -ENOENT when it does not exist. */
static int rooted_dir(const char *dir, char *path, size_t n)
{
	int r = path_join(path, n, "%s", dir);

	if (r < 0)
		return reason_set(r, "%s: path too long under root %s", dir, root_get());
	return config_check_dir(path);
}

int config_load(const char *vm, struct vm_config *cfg)
{
	char q[CONFIG_QUOTE_BUF], path[VH_PATH_MAX];
	struct vm_config tmp;
	int r;

	if (!name_vm_valid(vm))
		return reason_set(-EINVAL, "invalid VM name '%s'",
				  str_quote(q, sizeof(q), vm ?: "", CONFIG_QUOTE_MAX));

	config_defaults(&tmp);
	/* No configuration directory: nothing opted in, defaults. */
	r = rooted_dir(CONFIG_DIR, path, sizeof(path));
	if (r == -ENOENT) {
		*cfg = tmp;
		return 0;
	}
	if (r < 0)
		return r;
	r = path_join(path, sizeof(path), "%s", CONFIG_GLOBAL);
	if (r < 0)
		return reason_set(r, "%s: path too long under root %s", CONFIG_GLOBAL, root_get());
	r = config_apply_file(path, &tmp);
	if (r < 0 && r != -ENOENT)
		return r;

	r = rooted_dir(CONFIG_VM_DIR, path, sizeof(path));
	if (r == -ENOENT) {
		*cfg = tmp;
		return 0;
	}
	if (r < 0)
		return r;
	r = vm_conf_path(path, sizeof(path), vm);
	if (r < 0)
		return reason_set(r, "%s/%s.conf: path too long under root %s", CONFIG_VM_DIR, vm,
				  root_get());
	r = config_apply_file(path, &tmp);
	if (r < 0 && r != -ENOENT)
		return r;
	*cfg = tmp;
	return r == -ENOENT ? 0 : 1;
}

bool config_vm_opted_in(const char *vm)
{
	char path[VH_PATH_MAX];
	struct stat st;

	if (!name_vm_valid(vm) || vm_conf_path(path, sizeof(path), vm) < 0)
		return false;
	/* lstat: a symlink counts as opting in, so config_load then refuses it loudly
	 * instead of the VM silently starting without its hand-off. */
	return lstat(path, &st) == 0;
}
