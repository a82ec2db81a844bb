/* The three programs started with fd 0, 1 or 2 closed, as a careless parent may start
 * them: the lock and the journal never take those numbers, the closed one is /dev/null,
 * the hook still writes nothing to stdout, and the release still gives the device back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "topologies.h"

#define HOOK "build/vfio-handoff-hook"
#define ENGINE "build/vfio-handoff-hook-engine"
#define CLI "build/vfio-handoff"

/* Longer than any start of the programs under test, even sanitized on a busy machine. */
#define DEADLINE_MS 20000

#define GPU_OVERRIDE "sys/devices/pci0000:00/" T1_GPU "/driver_override"
#define LOCK "run/vfio-handoff/lock"
#define JOURNAL "run/vfio-handoff/win10.journal"

static const char *xml_gpu =
	"<domain type='kvm'><name>win10</name><devices>"
	"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
	"<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
	"</devices></domain>\n";

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What prepare leaves after its first step: win10's journal and the GPU's override. */
static void journal_of_win10_after_override(void)
{
	fx_write(GPU_OVERRIDE, "vfio-pci\n");
	fx_write(JOURNAL, "vfio-handoff-journal 1\nvm\twin10\ndevice\t" T1_GPU "\n"
			  "step\toverride\t" T1_GPU "\t-\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff"), 0700), 0);
	assert_int_equal(chmod(fx_path(JOURNAL), 0600), 0);
}

/* Where the child's fd points, "" when it is closed. */
static void fd_target(pid_t pid, int fd, char *buf, size_t n)
{
	char p[64];
	ssize_t len;

	snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
	len = readlink(p, buf, n - 1);
	buf[len > 0 ? len : 0] = '\0';
}

/* true once the child, past its exec, has path open on some descriptor (before the exec
 * it has the test's own descriptors). */
static bool holds(pid_t pid, const char *path)
{
	char dir[64], target[PATH_MAX], self[PATH_MAX];
	struct dirent *e;
	bool found = false;
	ssize_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/exe", (int)pid);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	n = readlink(dir, target, sizeof(target) - 1);
	if (n <= 0 || ((size_t)n == strlen(self) && memcmp(target, self, (size_t)n) == 0))
		return false;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		fd_target(pid, atoi(e->d_name), target, sizeof(target));
		found = strcmp(target, path) == 0;
	}
	closedir(d);
	return found;
}

struct child {
	pid_t pid;
	int out, err; /* the read ends of its stdout and stderr, -1 for the closed one */
	char stdout_text[4096];
	int status;
};

/*
 * Starts prog --root ROOT args with stdin the domain XML, stdout and stderr pipes, then
 * fd `closed` closed, and the environment libvirt gives a hook (plus env_extra).
 */
static void start(struct child *c, const char *prog, int closed, const char *env_extra,
		  const char *const args[])
{
	const char *argv[16] = { prog, "--root", fx_root() };
	int pin[2], pout[2], perr[2];
	size_t n = 3;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char *envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0",
				 (char *)env_extra, NULL };

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		close(closed);
		execve(prog, (char **)argv, envp);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	/* With stdin closed the child has no reader of this pipe. */
	if (closed != 0)
		assert_true(write(pin[1], xml_gpu, strlen(xml_gpu)) == (ssize_t)strlen(xml_gpu));
	close(pin[1]);
	c->out = pout[0];
	c->err = perr[0];
}

/* Waits for the child's exit, reading its stdout and stderr meanwhile (stdout kept). */
static void finish(struct child *c)
{
	struct pollfd p[2] = { { .fd = c->out, .events = POLLIN },
			       { .fd = c->err, .events = POLLIN } };
	long long deadline = mono_ms() + DEADLINE_MS;
	size_t len = 0;
	char sink[4096];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long long left = deadline - mono_ms();

		if (left <= 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
			fail_msg("still running after %d ms", DEADLINE_MS);
		}
		if (poll(p, 2, (int)left) < 0) {
			assert_int_equal(errno, EINTR);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			ssize_t r;

			if (p[k].fd < 0 || !p[k].revents)
				continue;
			if (k == 0)
				r = read(p[k].fd, c->stdout_text + len,
					 sizeof(c->stdout_text) - 1 - len);
			else
				r = read(p[k].fd, sink, sizeof(sink));
			if (r <= 0) {
				close(p[k].fd);
				p[k].fd = -1;
			} else if (k == 0) {
				len += (size_t)r;
			}
		}
	}
	c->stdout_text[len] = '\0';
	assert_int_equal(waitpid(c->pid, &c->status, 0), c->pid);
	assert_true(WIFEXITED(c->status));
}

/*
 * Runs prog with fd `closed` closed while the test holds the lock, so the program is seen
 * waiting for it with the lock file open: then fds 0-2 are open, none is the lock, and the
 * closed one is /dev/null. Once let go, it releases win10 (journaled anew for each run): the journal is gone, the
 * override cleared, and nothing was written into the lock file.
 */
static int run_closed(const char *prog, int closed, const char *env_extra,
		      const char *const args[], struct child *c)
{
	int bad = 0;
	char lock[PATH_MAX], target[PATH_MAX];
	long long deadline;
	int backoff = 1, held;
	struct stat st;

	journal_of_win10_after_override();
	held = open(fx_path(LOCK), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(held >= 0);
	assert_int_equal(flock(held, LOCK_EX), 0);
	assert_non_null(realpath(fx_path(LOCK), lock));

	start(c, prog, closed, env_extra, args);
	deadline = mono_ms() + DEADLINE_MS;
	while (!holds(c->pid, lock)) {
		if (mono_ms() > deadline || waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
			kill(c->pid, SIGKILL);
			fail_msg("%s never opened %s", prog, lock);
		}
		poll(NULL, 0, backoff);
		backoff = backoff < 50 ? backoff * 2 : 50;
	}
	for (int fd = 0; fd <= 2; fd++) {
		fd_target(c->pid, fd, target, sizeof(target));
		/* Every case is tried before the test fails: which of 0, 1, 2 go wrong. */
		if (!target[0] || strcmp(target, lock) == 0 ||
		    (fd == closed && strcmp(target, "/dev/null") != 0)) {
			print_error("%s, started with fd %d closed: fd %d is %s\n", prog, closed,
				    fd, !target[0] ? "closed" : target);
			bad++;
		}
	}
	close(held);
	finish(c);
	assert_false(fx_exists(JOURNAL));
	assert_null(strstr(fx_cat(GPU_OVERRIDE), "vfio-pci"));
	assert_int_equal(stat(fx_path(LOCK), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	return bad;
}

static void test_hook_with_a_standard_fd_closed_keeps_the_lock_off_it(void **state)
{
	int bad = 0;

	fx_topology1();
	for (int fd = 0; fd <= 2; fd++) {
		struct child c;

		/* Verbose: the engine logs to stderr too, which would land in the lock file
		 * if it were fd 2. */
		bad += run_closed(HOOK, fd, "VFIO_HANDOFF_VERBOSE=1",
			   (const char *const[]){ "win10", "release", "end", "-", NULL }, &c);
		assert_int_equal(WEXITSTATUS(c.status), 0);
		assert_string_equal(c.stdout_text, "");
	}
	assert_int_equal(bad, 0);
}

static void test_engine_with_a_standard_fd_closed_keeps_the_lock_off_it(void **state)
{
	int bad = 0;

	fx_topology1();
	for (int fd = 0; fd <= 2; fd++) {
		struct child c;

		bad += run_closed(ENGINE, fd, "VFIO_HANDOFF_VERBOSE=1",
			   (const char *const[]){ "win10", "release", "end", "-", NULL }, &c);
		assert_int_equal(WEXITSTATUS(c.status), 0);
		assert_string_equal(c.stdout_text, "");
	}
	assert_int_equal(bad, 0);
}

static void test_command_with_a_standard_fd_closed_keeps_the_lock_off_it(void **state)
{
	int bad = 0;

	fx_topology1();
	for (int fd = 0; fd <= 2; fd++) {
		struct child c;

		bad += run_closed(CLI, fd, NULL, (const char *const[]){ "release", "win10", NULL }, &c);
		assert_int_equal(WEXITSTATUS(c.status), 0);
	}
	assert_int_equal(bad, 0);
}

/* status prints to stdout: with stdin or stderr closed, its text still arrives there. */
static void test_status_output_reaches_stdout_with_fd_0_or_2_closed(void **state)
{
	static const int closed[] = { 0, 2 };

	fx_topology1();
	journal_of_win10_after_override();
	for (size_t i = 0; i < 2; i++) {
		struct child c;

		start(&c, CLI, closed[i], NULL, (const char *const[]){ "status", NULL });
		finish(&c);
		assert_int_equal(WEXITSTATUS(c.status), 0);
		assert_non_null(strstr(c.stdout_text, "VM win10: 1 device(s)"));
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cmocka_setup, fx_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hook_with_a_standard_fd_closed_keeps_the_lock_off_it),
		T(test_engine_with_a_standard_fd_closed_keeps_the_lock_off_it),
		T(test_command_with_a_standard_fd_closed_keeps_the_lock_off_it),
		T(test_status_output_reaches_stdout_with_fd_0_or_2_closed),
	};

	signal(SIGPIPE, SIG_IGN);
	if (access(HOOK, X_OK) != 0 || access(ENGINE, X_OK) != 0 || access(CLI, X_OK) != 0) {
		fprintf(stderr, "%s, %s or %s is not built (run make first)\n", HOOK, ENGINE, CLI);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
