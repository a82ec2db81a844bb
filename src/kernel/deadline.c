/* Work in a child process with a deadline: what may block in the kernel never blocks
 * us. The child holds no descriptor of ours but its result pipe. */
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

#include "base/util.h"
#include "kernel/deadline.h"
#include "kernel/spawn.h"

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
