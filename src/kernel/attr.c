/* Bounded reads of sysfs and procfs attributes under the root prefix: never a call that
 * takes a device's lock (those go through the kernel seam, kernel.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/root.h"
#include "base/util.h"
#include "kernel/attr.h"

int attr_read(const char *path, char *buf, size_t n)
{
	_cleanup_close_ int fd = -1;
	ssize_t len;

	if (n == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	strip_trailing(buf);
	return 0;
}

int attr_read_long(const char *path, long *ret)
{
	char buf[64], *end;
	long v;
	int r;

	r = attr_read(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 0);
	if (errno || end == buf || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int link_base(const char *path, char *buf, size_t n)
{
	char target[VH_PATH_MAX];
	ssize_t len;
	const char *base;

	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	base = strrchr(target, '/');
	return strlcpy_chk(buf, base ? base + 1 : target, n);
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int device_driver(const char *bus, const char *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX];
	int r;

	buf[0] = '\0';
	r = path_join(p, sizeof(p), "/sys/bus/%s/devices/%s", bus, dev);
	if (r < 0)
		return r;
	if (!path_exists(p))
		return -ENOENT;
	r = path_join(p, sizeof(p), "/sys/bus/%s/devices/%s/driver", bus, dev);
	if (r < 0)
		return r;
	r = link_base(p, buf, n);
	if (r == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return r;
}
