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

#include "kmod.h"
#include "log.h"
#include "spawn.h"
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

/* The child's end of the result pipe: a fixed number, everything above it is closed. */
#define RESULT_FD 3
/* How long a child killed at its deadline gets to end before it is left for later. */
#define KILL_REAP_MS 200

struct child_reap {
	pid_t pid;
};

static int child_ended(void *data)
{
	struct child_reap *c = data;
	pid_t w = waitpid(c->pid, NULL, WNOHANG);

	if (w == c->pid)
		return 1;
	if (w < 0 && errno != EINTR)
		return errno == ECHILD ? 1 : -errno;
	return 0;
}

static _Noreturn void deadline_child(int (*fn)(void *data, void *out), void *data, void *out,
				     size_t out_size, int result_fd)
{
	int null, r;

	/* Nothing of ours may stay with a child that can block in the kernel for good: not
	 * the lock (every later hook would wait on it), not the journal, not libvirt's
	 * pipes (libvirt reads until every holder of them is gone). */
	if (result_fd != RESULT_FD && dup2(result_fd, RESULT_FD) < 0)
		_exit(126);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(126);
	spawn_close_from(RESULT_FD + 1);
	r = fn(data, out);
	if (write(RESULT_FD, &r, sizeof(r)) != sizeof(r))
		_exit(126);
	if (out_size && write(RESULT_FD, out, out_size) != (ssize_t)out_size)
		_exit(126);
	_exit(0);
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)buf + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		got += (size_t)k;
	}
	return 0;
}

int run_with_deadline(int (*fn)(void *data, void *out), void *data, void *out, size_t out_size,
		      int timeout_ms)
{
	int pfd[2], r, result = -EIO;
	struct child_reap c;
	int64_t deadline;

	spawn_reap_pending();
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	c.pid = fork();
	if (c.pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (c.pid == 0)
		deadline_child(fn, data, out, out_size, pfd[1]);
	close(pfd[1]);
	deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			close(pfd[0]);
			kill(c.pid, SIGKILL);
			/* A child in an uninterruptible kernel call survives SIGKILL until the
			 * call returns: it is reaped later, never waited for. */
			if (wait_until(child_ended, &c, KILL_REAP_MS) != 0)
				spawn_reap_later(c.pid);
			return -ETIMEDOUT;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(pfd[0]);
			kill(c.pid, SIGKILL);
			if (wait_until(child_ended, &c, KILL_REAP_MS) != 0)
				spawn_reap_later(c.pid);
			return r;
		}
		if (r > 0)
			break;
	}
	if (read_full(pfd[0], &result, sizeof(result)) < 0 ||
	    (out_size && read_full(pfd[0], out, out_size) < 0))
		result = -EIO;
	close(pfd[0]);
	/* It has written its result and only exits now. */
	if (wait_until(child_ended, &c, timeout_ms > 0 ? timeout_ms : KILL_REAP_MS) != 0) {
		kill(c.pid, SIGKILL);
		spawn_reap_later(c.pid);
	}
	return result;
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
    .module_load = kmod_real_load,
    .module_remove = kmod_real_remove,
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
		r = kmod_refuse_install_command(name);
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
