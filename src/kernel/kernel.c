/* The kernel seam: every sysfs write, every read that takes a device's lock, every module
 * call and the fbcon ioctl, each in a deadline child (deadline.c), with the devices and
 * modules a call did not return from remembered as wedged. */
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

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "kernel/attr.h"
#include "kernel/deadline.h"
#include "kernel/kernel.h"
#include "kernel/modcall.h"
#include "kernel/spawn.h"

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

static int real_write_attr(const char *path, const char *val)
{
	return write_now(path, val);
}

static int real_read_attr(const char *path, char *buf, size_t n)
{
	return attr_read(path, buf, n);
}

static int real_fbcon_takeover(const char *fbdev, int fb)
{
	struct fb_con2fbmap map = {.console = 1, .framebuffer = (__u32)fb};
	int fd, r = 0;

	/* A fixture's device node may be a real one: no ioctl outside root "/". */
	if (!root_is_real())
		return -EPERM;
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

const struct kernel_ops kernel_ops_real = {
    .write_attr = real_write_attr,
    .read_attr = real_read_attr,
    .module_load = modcall_load,
    .module_remove = modcall_remove,
    .fbcon_takeover = real_fbcon_takeover,
};

#ifdef VH_TEST_SEAMS
static const struct kernel_ops *kops = &kernel_ops_real;

void kernel_ops_set(const struct kernel_ops *ops)
{
	kops = ops ? ops : &kernel_ops_real;
	/* A fake kernel comes with a fixture whose programs (systemctl) are fakes too. */
	spawn_allow_fixture(kops != &kernel_ops_real);
	kernel_wedged_clear();
}
#else
static const struct kernel_ops *const kops = &kernel_ops_real;
#endif

const struct kernel_ops *kernel_ops_get(void)
{
	return kops;
}

static int kernel_timeout = 10000;

void kernel_timeout_set(int timeout_ms)
{
	kernel_timeout = timeout_ms > 0 ? timeout_ms : 10000;
}

int kernel_timeout_ms(void)
{
	return kernel_timeout;
}

static int timeout_or_default(int timeout_ms)
{
	return timeout_ms > 0 ? timeout_ms : kernel_timeout;
}

/* --- What did not come back --- */

#define WEDGED_MAX 64

static char wedged[WEDGED_MAX][80];

static size_t n_wedged;

void kernel_wedge(const char *name)
{
	if (kernel_is_wedged(name) || n_wedged >= WEDGED_MAX)
		return;
	if (strlcpy_chk(wedged[n_wedged], name, sizeof(wedged[0])) == 0)
		n_wedged++;
}

bool kernel_is_wedged(const char *name)
{
	for (size_t i = 0; i < n_wedged; i++)
		if (strcmp(wedged[i], name) == 0)
			return true;
	return false;
}

size_t kernel_wedged_count(void)
{
	return n_wedged;
}

const char *kernel_wedged_at(size_t i)
{
	return i < n_wedged ? wedged[i] : NULL;
}

void kernel_wedged_clear(void)
{
	n_wedged = 0;
}

/* The device a write or read at path concerns: the value written to bind, unbind and
 * drivers_probe, the directory of driver_override. false for anything else. */
static bool device_of(const char *path, const char *val, char *buf, size_t n)
{
	const char *base = strrchr(path, '/'), *dir;
	size_t len;

	if (!base)
		return false;
	base++;
	if (!strcmp(base, "bind") || !strcmp(base, "unbind") || !strcmp(base, "drivers_probe")) {
		if (!val)
			return false;
		len = strcspn(val, "\n");
		if (!len || len >= n)
			return false;
		memcpy(buf, val, len);
		buf[len] = '\0';
		return true;
	}
	if (strcmp(base, "driver_override") != 0)
		return false;
	for (dir = base - 1; dir > path && dir[-1] != '/'; dir--)
		;
	len = (size_t)(base - 1 - dir);
	if (!len || len >= n)
		return false;
	memcpy(buf, dir, len);
	buf[len] = '\0';
	return true;
}

static int module_key(const char *name, char *buf, size_t n)
{
	size_t i;

	if (snprintf_chk(buf, n, "module:%s", name) < 0)
		return -ENAMETOOLONG;
	for (i = 7; buf[i]; i++)
		if (buf[i] == '-')
			buf[i] = '_';
	return 0;
}

/* --- The calls, each in a child with a deadline --- */

struct kjob {
	const char *path, *val, *name, *options;
	int fb;
};

struct kread_out {
	char buf[256];
};

static int job_write(void *data, void *out)
{
	struct kjob *j = data;

	return kops->write_attr(j->path, j->val);
}

static int job_read(void *data, void *out)
{
	struct kjob *j = data;
	struct kread_out *o = out;

	memset(o, 0, sizeof(*o));
	return kops->read_attr(j->path, o->buf, sizeof(o->buf));
}

static int job_load(void *data, void *out)
{
	struct kjob *j = data;

	return kops->module_load(j->name, j->options);
}

static int job_remove(void *data, void *out)
{
	struct kjob *j = data;

	return kops->module_remove(j->name);
}

static int job_fbcon(void *data, void *out)
{
	struct kjob *j = data;

	return kops->fbcon_takeover(j->path, j->fb);
}

/* Runs job for the wedge key (NULL: none): fails at once when it is wedged, wedges it
 * when the job does not come back. */
static int run_keyed(const char *key, int (*fn)(void *data, void *out), struct kjob *job, void *out,
		     size_t out_size, int timeout_ms)
{
	int r;

	if (key && kernel_is_wedged(key))
		return -EDEADLK;
	r = run_with_deadline(fn, job, out, out_size, timeout_or_default(timeout_ms));
	if (r == -ETIMEDOUT && key) {
		kernel_wedge(key);
		log_err("%s: a kernel call did not return within %d ms; it is not touched again "
			"in this run",
			key, timeout_or_default(timeout_ms));
	}
	return r;
}

int kernel_write(const char *path, const char *val, int timeout_ms)
{
	struct kjob job = {.path = path, .val = val};
	char dev[80];

	return run_keyed(device_of(path, val, dev, sizeof(dev)) ? dev : NULL, job_write, &job, NULL,
			 0, timeout_ms);
}

int kernel_read(const char *path, char *buf, size_t n, int timeout_ms)
{
	struct kjob job = {.path = path};
	struct kread_out out;
	char dev[80];
	int r;

	if (n == 0)
		return -EINVAL;
	r = run_keyed(device_of(path, NULL, dev, sizeof(dev)) ? dev : NULL, job_read, &job, &out,
		      sizeof(out), timeout_ms);
	if (r < 0)
		return r;
	out.buf[sizeof(out.buf) - 1] = '\0';
	return strlcpy_chk(buf, out.buf, n);
}

int kernel_device_probe(const char *bus, const char *dev, int timeout_ms)
{
	char p[VH_PATH_MAX], buf[64];
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/%s/devices/%s/driver_override", bus, dev);
	if (r < 0)
		return r;
	if (!path_exists(p))
		return -ENOENT;
	return kernel_read(p, buf, sizeof(buf), timeout_ms);
}

/* Module calls and the ioctl act on the running kernel whatever the root prefix: with a
 * fixture root only a test's fake kernel may take them. */
static int refuse_outside_root(const char *what, const char *name)
{
	if (kops != &kernel_ops_real || root_is_real())
		return 0;
	return reason_set(-EPERM,
			  "refusing to %s %s: the root is %s, not /, and that call would "
			  "act on this machine's kernel",
			  what, name, root_get());
}

int kernel_module_load(const char *name, const char *options)
{
	struct kjob job = {.name = name, .options = options};
	char key[160];
	int r;

	r = refuse_outside_root("load module", name);
	if (r < 0)
		return r;
	if (kops == &kernel_ops_real) {
		/* Refused with its reason here: the child can only return a number. */
		r = modcall_refuse_install_command(name);
		if (r < 0)
			return r;
	}
	r = module_key(name, key, sizeof(key));
	if (r < 0)
		return r;
	return run_keyed(key, job_load, &job, NULL, 0, 0);
}

int kernel_module_remove(const char *name, int timeout_ms)
{
	struct kjob job = {.name = name};
	char key[160];
	int r;

	r = refuse_outside_root("remove module", name);
	if (r < 0)
		return r;
	r = module_key(name, key, sizeof(key));
	if (r < 0)
		return r;
	return run_keyed(key, job_remove, &job, NULL, 0, timeout_ms);
}

int kernel_fbcon_takeover(const char *fbdev, int fb)
{
	struct kjob job = {.path = fbdev, .fb = fb};
	int r;

	if (!kops->fbcon_takeover)
		return -EOPNOTSUPP;
	r = refuse_outside_root("map a console through", fbdev);
	if (r < 0)
		return r;
	return run_keyed(NULL, job_fbcon, &job, NULL, 0, 0);
}
