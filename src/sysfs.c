/* Bounded attribute reads and the real kernel seam: one write(2) per attribute, in a
 * child process with a deadline where the kernel can block. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <linux/fb.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "sysfs.h"
#include "util.h"

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

static int write_now(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write(2): the kernel's store() handles exactly what one write gives it. */
	w = write(fd, val, len);
	if (w < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if ((size_t)w != len) {
		close(fd);
		return -EIO;
	}
	if (close(fd) < 0)
		return -errno;
	return 0;
}

struct write_job {
	const char *path;
	const char *val;
};

static int write_job_run(void *data)
{
	struct write_job *job = data;

	return write_now(job->path, job->val);
}

int run_with_deadline(int (*fn)(void *data), void *data, int timeout_ms)
{
	int pfd[2], status, r, result = -EIO;
	int64_t deadline;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		/* A child that stays blocked in the kernel must not hold libvirt's pipes. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close(pfd[0]);
		r = fn(data);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			close(pfd[0]);
			/* The child may be stuck in an uninterruptible kernel call; it is left
			 * to finish or die on its own. */
			kill(pid, SIGKILL);
			waitpid(pid, &status, WNOHANG);
			return -ETIMEDOUT;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(pfd[0]);
			return r;
		}
		if (r > 0)
			break;
	}
	if (read(pfd[0], &result, sizeof(result)) != sizeof(result))
		result = -EIO;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return result;
}

static int real_write_attr(const char *path, const char *val, int timeout_ms)
{
	struct write_job job = {path, val};

	if (timeout_ms <= 0)
		return write_now(path, val);
	return run_with_deadline(write_job_run, &job, timeout_ms);
}

static int real_fbcon_takeover(const char *fbdev, int fb)
{
	struct fb_con2fbmap map = {.console = 1, .framebuffer = (__u32)fb};
	int fd, r = 0;

	fd = open(fbdev, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Mapping a console to a framebuffer while fbcon is unbound makes fbcon take over
	 * its consoles again (fbcon's set_con2fb_map). */
	if (ioctl(fd, FBIOPUT_CON2FBMAP, &map) < 0)
		r = -errno;
	close(fd);
	return r;
}

int kmod_real_load(const char *name, const char *options);
int kmod_real_remove(const char *name, int timeout_ms);

const struct kernel_ops kernel_ops_real = {
    .write_attr = real_write_attr,
    .module_load = kmod_real_load,
    .module_remove = kmod_real_remove,
    .fbcon_takeover = real_fbcon_takeover,
};

static const struct kernel_ops *kops = &kernel_ops_real;

void kernel_ops_set(const struct kernel_ops *ops)
{
	kops = ops ? ops : &kernel_ops_real;
}

const struct kernel_ops *kernel_ops_get(void)
{
	return kops;
}

int kernel_write(const char *path, const char *val, int timeout_ms)
{
	return kops->write_attr(path, val, timeout_ms);
}

int kernel_module_load(const char *name, const char *options)
{
	return kops->module_load(name, options);
}

int kernel_module_remove(const char *name, int timeout_ms)
{
	return kops->module_remove(name, timeout_ms);
}

int kernel_fbcon_takeover(const char *fbdev, int fb)
{
	if (!kops->fbcon_takeover)
		return -EOPNOTSUPP;
	return kops->fbcon_takeover(fbdev, fb);
}
