/* Runs a helper program with nothing of ours leaking into it: clean environment, stdin
 * from /dev/null, output captured (never inherited), its own process group, a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "kernel/spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* How long a killed child gets to be reaped before it is left as a zombie. */
#define REAP_MS 1000

int spawn_find(const char *name, char *buf, size_t n)
{
	static const char *const dirs[] = {"/usr/bin", "/bin"};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct stat st;
		int r = path_join(buf, n, "%s/%s", dirs[i], name);

		if (r < 0)
			return r;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* From first up, every descriptor closed (cloexec false) or marked close-on-exec (true):
 * close_range where the kernel has it, one by one otherwise. Only async-signal-safe calls:
 * this runs after fork. */
static void fds_from(int first, bool cloexec)
{
	long max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = first; fd < max; fd++) {
		if (cloexec)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		else
			close(fd);
	}
}

/* Marks every descriptor from first up close-on-exec, so the program inherits none of ours
 * (libvirt's pipes above all). */
static void cloexec_from(int first)
{
	fds_from(first, true);
}

void spawn_close_from(int first)
{
	fds_from(first, false);
}

/* --- Children left behind at a deadline --- */

#define PENDING_MAX 64

static pid_t pending[PENDING_MAX];
static size_t n_pending;

void spawn_reap_later(pid_t pid)
{
	if (n_pending < PENDING_MAX)
		pending[n_pending++] = pid;
	else
		log_warn("process %d did not end after SIGKILL; too many such to track", (int)pid);
}

size_t spawn_reap_pending(void)
{
	size_t i = 0;

	while (i < n_pending) {
		pid_t w = waitpid(pending[i], NULL, WNOHANG);

		if (w == pending[i] || (w < 0 && errno == ECHILD)) {
			pending[i] = pending[--n_pending];
			continue;
		}
		i++;
	}
	return n_pending;
}

#ifdef VH_TEST_SEAMS
static bool fixture_ok;

void spawn_allow_fixture(bool allow)
{
	fixture_ok = allow;
}
#else
static const bool fixture_ok = false;
#endif

static _Noreturn void child(const char *path, const char *const argv[], int null_fd, int out_fd,
			    int err_fd)
{
	static const char *const envp[] = {
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C",
	    NULL,
	};
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	/* Its own group, so a timeout kills whatever it started too. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0)
		goto fail;
	cloexec_from(STDERR_FILENO + 1);
	execve(path, (char *const *)argv, (char *const *)envp);
fail:
	e = errno;
	/* The parent learns why exec failed through the close-on-exec pipe. */
	if (write(err_fd, &e, sizeof(e)) != sizeof(e))
		_exit(126);
	_exit(127);
}

/* A descriptor numbered 0..2 (our own stdio was closed) would be clobbered or left
 * close-on-exec by the dup2 calls in the child: move it above stderr. */
static int above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

struct reap {
	pid_t pid;
	int status;
};

static int reaped(void *data)
{
	struct reap *r = data;
	pid_t w = waitpid(r->pid, &r->status, WNOHANG);

	if (w == r->pid)
		return 1;
	if (w < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int spawn_run(const char *path, const char *const argv[], int timeout_ms, char *out,
	      size_t out_size, int *ret_status)
{
	_cleanup_close_ int null_fd = -1, out_r = -1, err_r = -1;
	int out_p[2], err_p[2], e = 0, backoff = 1, r;
	bool exited = false;
	size_t len = 0;
	struct reap rp = {0};
	int64_t deadline;
	ssize_t n;

	if (out && out_size)
		out[0] = '\0';
	/* A program under a fixture or a copied root filesystem (ROOT/usr/bin/systemctl)
	 * would act on this machine (its PID 1): only "/" runs programs. */
	if (!root_is_real() && !fixture_ok)
		return reason_set(-EPERM, "refusing to run %s: the root is %s, not /", path,
				  root_get());
	spawn_reap_pending();
	null_fd = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (null_fd < 0)
		return -errno;
	if (pipe2(out_p, O_CLOEXEC) < 0)
		return -errno;
	out_r = out_p[0];
	out_p[1] = above_stdio(out_p[1]);
	if (out_p[1] < 0)
		return -errno;
	if (pipe2(err_p, O_CLOEXEC) < 0) {
		r = -errno;
		close(out_p[1]);
		return r;
	}
	err_r = err_p[0];
	deadline = now_ms() + timeout_ms;
	rp.pid = fork();
	if (rp.pid < 0) {
		r = -errno;
		close(out_p[1]);
		close(err_p[1]);
		return r;
	}
	if (rp.pid == 0)
		child(path, argv, null_fd, out_p[1], err_p[1]);
	/* Also set here: the kill below must find the group even if the child has not run
	 * its setpgid yet. */
	setpgid(rp.pid, rp.pid);
	close(out_p[1]);
	close(err_p[1]);

	do
		n = read(err_r, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		while (waitpid(rp.pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -e;
	}

	for (;;) {
		struct pollfd p = {.fd = out_r, .events = POLLIN};
		int64_t left = deadline - now_ms();
		char buf[512];

		if (left <= 0)
			goto timeout;
		/* Once the program has exited, only what is already in the pipe is read: a
		 * process it left behind may hold the pipe open for good. */
		r = poll(&p, 1, exited ? 0 : (int)(left < backoff ? left : backoff));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			kill(-rp.pid, SIGKILL);
			if (wait_until(reaped, &rp, REAP_MS) != 0)
				spawn_reap_later(rp.pid);
			return r;
		}
		if (r == 0) {
			if (exited)
				break;
			r = reaped(&rp);
			if (r < 0)
				return r;
			exited = r > 0;
			if (backoff < 50)
				backoff *= 2;
			continue;
		}
		n = read(out_r, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Beyond the buffer the output is drained, so the child never blocks on a full
		 * pipe. */
		if (out && len + 1 < out_size) {
			size_t take =
			    (size_t)n < out_size - 1 - len ? (size_t)n : out_size - 1 - len;

			memcpy(out + len, buf, take);
			len += take;
			out[len] = '\0';
		}
	}
	if (!exited) {
		int64_t left = deadline - now_ms();

		r = wait_until(reaped, &rp, left > 0 ? (int)left : 0);
		if (r == -ETIMEDOUT)
			goto timeout;
		if (r < 0)
			return r;
	}
	if (WIFEXITED(rp.status))
		*ret_status = WEXITSTATUS(rp.status);
	else if (WIFSIGNALED(rp.status))
		*ret_status = 128 + WTERMSIG(rp.status);
	else
		*ret_status = 255;
	return 0;

timeout:
	kill(-rp.pid, SIGKILL);
	kill(rp.pid, SIGKILL);
	if (wait_until(reaped, &rp, REAP_MS) != 0) {
		log_warn("%s (pid %d) did not end after SIGKILL; reaping it later", path,
			 (int)rp.pid);
		spawn_reap_later(rp.pid);
	}
	return -ETIMEDOUT;
}
