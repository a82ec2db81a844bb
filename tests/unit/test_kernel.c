/* The kernel boundary: every call that can block runs in a child that holds nothing of
 * ours and is reaped; a device whose remove() blocks is wedged, named and left alone, and
 * a later recover completes; with a root other than "/" the real module calls, signals
 * and programs are refused before any system call (checked with seccomp); modprobe.d
 * install commands are refused by name; holders are signalled through a pidfd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/holders.h"
#include "front/engine.h"
#include "input/config.h"
#include "input/domxml.h"
#include "kernel/deadline.h"
#include "kernel/kernel.h"
#include "kernel/modcall.h"
#include "kernel/spawn.h"
#include "steps/holders.h"
#include "steps/journal.h"
#include "fakekernel.h"
#include "fixture.h"
#include "topologies.h"

#define HOLDER_PID 5000001

static int setup(void **state)
{
	reason_clear();
	log_setup(0, LOG_CRIT);
	config_set_required_owner(getuid());
	kernel_wedged_clear();
	return 0;
}

static int teardown(void **state)
{
	reason_clear();
	kernel_wedged_clear();
	kernel_timeout_set(0);
	fx_teardown();
	return 0;
}

/* --- the deadline child --- */

/* Counts the descriptors open in the child above its result pipe (3). */
static int count_fds(void *data, void *out)
{
	int n = 0;

	for (int fd = 4; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_deadline_child_holds_no_descriptor_of_ours(void **state)
{
	char lock[] = "/tmp/vh-lock.XXXXXX";
	int fd = mkstemp(lock), extra = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0 && extra >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	/* The lock and the pipes of libvirt stay with us, whatever the child does. */
	assert_int_equal(run_with_deadline(count_fds, NULL, NULL, 0, 5000), 0);
	close(extra);
	close(fd);
	unlink(lock);
}

static int block_forever(void *data, void *out)
{
	for (;;)
		pause();
	return 0;
}

static void test_child_killed_at_the_deadline_is_reaped(void **state)
{
	int64_t t0 = now_ms();

	assert_int_equal(run_with_deadline(block_forever, NULL, NULL, 0, 100), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 2000);
	/* No zombie left behind: we have no child at all. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(spawn_reap_pending(), 0);
}

/* --- a remove that blocks, on the fake kernel --- */

static void hold_group(int group)
{
	fx_proc(HOLDER_PID, "qemu-system-x86", NULL,
		(const char *const[]){fx_fmt("/dev/vfio/%d", group), NULL});
}

static const char *override_path(const char *bdf)
{
	static char p[VH_PATH_MAX];

	assert_int_equal(path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", bdf),
			 0);
	return p;
}

static void test_blocked_vfio_remove_is_bounded_and_wedges_the_device(void **state)
{
	char p[VH_PATH_MAX], buf[64];
	int64_t t0;

	fx_topology2();
	assert_int_equal(kernel_module_load("vfio-pci", ""), 0);
	assert_int_equal(kernel_write(override_path(T2_UCSI), "vfio-pci", 1000), 0);
	assert_int_equal(path_join(p, sizeof(p), "/sys/bus/pci/drivers_probe"), 0);
	assert_int_equal(kernel_write(p, T2_UCSI, 1000), 0);
	assert_string_equal(fx_driver_of(T2_UCSI), "vfio-pci");
	fx_driver_blocks_unbind("vfio-pci");
	hold_group(T2_GROUP);

	t0 = now_ms();
	assert_int_equal(path_join(p, sizeof(p), "/sys/bus/pci/drivers/vfio-pci/unbind"), 0);
	assert_int_equal(kernel_write(p, T2_UCSI, 300), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 300 + 1000);
	assert_true(kernel_is_wedged(T2_UCSI));
	/* The override undo of a rollback must not wait on the lock the remove keeps. */
	t0 = now_ms();
	assert_int_equal(kernel_read(override_path(T2_UCSI), buf, sizeof(buf), 300), -EDEADLK);
	assert_int_equal(kernel_write(override_path(T2_UCSI), "\n", 300), -EDEADLK);
	assert_true(now_ms() - t0 < 100);
	/* Other devices are untouched by it. */
	assert_int_equal(kernel_read(override_path(T2_AUDIO), buf, sizeof(buf), 300), 0);

	/* The holder lets go: the remove completes by itself. */
	fx_proc_exit(HOLDER_PID);
	fk_settle();
	assert_string_equal(fx_driver_of(T2_UCSI), "");
}

static struct vm_config cfg;
static struct domxml dom;

static void opt_in_and_xml(const char *vm, const char *bdf)
{
	char rel[256], xml[1024];
	struct bdf b;
	int len;

	snprintf(rel, sizeof(rel), "etc/vfio-handoff/vm.d/%s.conf", vm);
	fx_write(rel, "timeout = 0.5\n");
	assert_int_equal(chmod(fx_path(rel), 0644), 0);
	config_defaults(&cfg);
	assert_int_equal(config_load(vm, &cfg), 1);
	assert_int_equal(bdf_parse(bdf, &b), 0);
	len = snprintf(xml, sizeof(xml),
		       "<domain type='kvm'><name>%s</name><devices><hostdev mode='subsystem' "
		       "type='pci' managed='yes'><source><address domain='0x%04x' bus='0x%02x' "
		       "slot='0x%02x' function='0x%x'/></source></hostdev></devices></domain>",
		       vm, b.domain, b.bus, b.dev, b.fn);
	domxml_free(&dom);
	assert_int_equal(domxml_parse_mem(xml, (size_t)len, "test.xml", &dom), 0);
}

static char *status_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(engine_status(f), 0);
	fclose(f);
	return buf;
}

static void test_release_with_a_held_group_returns_in_time_and_recover_completes(void **state)
{
	char *before, *status;
	int64_t t0;
	int lock;

	fx_topology2();
	assert_int_equal(kernel_module_load("vfio-pci", ""), 0);
	opt_in_and_xml("linux", T2_GPU);
	before = fx_snapshot();
	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	assert_string_equal(fx_driver_of(T2_GPU), "vfio-pci");
	/* A VM keeps the group open: vfio-pci's remove() waits for it. */
	fx_driver_blocks_unbind("vfio-pci");
	hold_group(T2_GROUP);

	t0 = now_ms();
	assert_int_equal(engine_release("linux"), -EIO);
	/* One timeout for the first stuck call, not one per device or step. */
	assert_true(now_ms() - t0 < 500 + 1500);
	assert_true(fx_exists("run/vfio-handoff/linux.journal"));
	/* The lock is free: no child of ours keeps it. */
	assert_int_equal(journal_lock(0, &lock), 0);
	close(lock);
	status = status_text();
	assert_non_null(strstr(status, "WEDGED"));
	assert_non_null(strstr(status, "5000001"));
	assert_non_null(strstr(status, "qemu-system-x86"));
	free(status);

	/* Still held: recover leaves it alone and keeps the journal, within its time. */
	t0 = now_ms();
	assert_int_equal(engine_recover("linux"), -EIO);
	assert_true(now_ms() - t0 < 500 + 1500);
	assert_true(fx_exists("run/vfio-handoff/linux.journal"));

	fx_proc_exit(HOLDER_PID);
	fk_settle();
	assert_int_equal(engine_recover("linux"), 0);
	assert_false(fx_exists("run/vfio-handoff/linux.journal"));
	fx_rm(".fake/blocks/vfio-pci");
	{
		char *after = fx_snapshot();

		if (strcmp(before, after))
			fx_snapshot_diff(before, after);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	domxml_free(&dom);
}

/* --- --root is a sandbox --- */

/* Kills the process on any module call, signal or exec. */
static void forbid_kernel_calls(void)
{
	static const int nrs[] = {
	    __NR_init_module, __NR_finit_module, __NR_delete_module,   __NR_kill,
	    __NR_tkill,	      __NR_tgkill,	 __NR_rt_sigqueueinfo, __NR_pidfd_send_signal,
	    __NR_execve,      __NR_execveat,
	};
	struct sock_filter f[64];
	struct sock_fprog prog;
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < ARRAY_SIZE(nrs); i++) {
		f[n++] =
		    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(90);
}

/* In a child under the filter, with the real seam (no fake kernel) and a fixture root:
 * each real operation must come back with an error and a reason. Exit code: 0 when all
 * did, the number of the first one that did not. */
static int real_ops_under_root(const char *root)
{
	const char *const argv[] = {"systemctl", "stop", "display-manager.service", NULL};
	struct devnode node = {.path = "/dev/null"};
	char path[VH_PATH_MAX], out[64];
	int st;

	if (root_set(root) < 0)
		return 80;
	forbid_kernel_calls();
	reason_clear();
	if (kernel_module_remove("snd_hda_intel", 1000) != -EPERM || !reason_get()[0])
		return 1;
	reason_clear();
	if (kernel_module_load("vfio-pci", "") != -EPERM || !reason_get()[0])
		return 2;
	if (kernel_ops_real.module_load("vfio-pci", NULL) != -EPERM)
		return 3;
	if (kernel_ops_real.module_remove("snd_hda_intel") != -EPERM)
		return 4;
	if (holders_signal(getppid(), SIGTERM, &node, 1) != -EPERM)
		return 5;
	reason_clear();
	if (path_join(path, sizeof(path), "/usr/bin/systemctl") < 0 ||
	    spawn_run(path, argv, 1000, out, sizeof(out), &st) != -EPERM || !reason_get()[0])
		return 6;
	if (kernel_fbcon_takeover(path, 0) != -EPERM)
		return 7;
	return 0;
}

static void test_real_operations_under_a_fixture_root_make_no_kernel_call(void **state)
{
	const char *root = fx_setup();
	int status;
	pid_t pid;

	/* The real seam, as a release build has it. */
	kernel_ops_set(NULL);
	fx_write("usr/bin/systemctl", "#!/bin/sh\nexit 0\n");
	chmod(fx_path("usr/bin/systemctl"), 0755);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(real_ops_under_root(root));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Killed by the filter: a module call, a signal or an exec was made. */
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d: a kernel call was made under --root",
			 WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_modprobe_install_command_is_refused_by_name(void **state)
{
	char mod[64], cmd[256];

	fx_setup();
	fx_write("etc/modprobe.d/hang.conf", "install vh_test_hang /bin/sleep 1000\n");
	assert_int_equal(modcall_install_command("vh_test_hang", mod, sizeof(mod), cmd, sizeof(cmd)),
			 1);
	assert_string_equal(mod, "vh_test_hang");
	assert_string_equal(cmd, "/bin/sleep 1000");
	assert_int_equal(modcall_install_command("vh_test_plain", mod, sizeof(mod), cmd, sizeof(cmd)),
			 0);
	reason_clear();
	assert_int_equal(modcall_refuse_install_command("vh_test_hang"), -EPERM);
	assert_non_null(strstr(reason_get(), "vh_test_hang"));
	assert_non_null(strstr(reason_get(), "/bin/sleep 1000"));
	assert_null(strchr(reason_get(), '\n'));
}

/* --- holders through a pidfd --- */

static pid_t child_holding(const char *path)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (path && open(path, O_RDONLY) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void test_holder_is_signalled_only_while_it_still_holds(void **state)
{
	struct devnode node = {.path = "/dev/zero", .has_rdev = true};
	struct stat st;
	pid_t holder, other;
	int status;

	assert_int_equal(stat("/dev/zero", &st), 0);
	node.rdev = st.st_rdev;
	holder = child_holding("/dev/zero");
	other = child_holding(NULL);
	/* A pid that does not hold the node (as a reused one would not) is not signalled. */
	assert_int_equal(holders_signal(other, SIGTERM, &node, 1), -ESRCH);
	assert_int_equal(waitpid(other, &status, WNOHANG), 0);
	assert_int_equal(holders_signal(holder, SIGTERM, &node, 1), 0);
	assert_int_equal(waitpid(holder, &status, 0), holder);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* Gone: reported as such, nothing signalled. */
	assert_int_equal(holders_signal(holder, SIGTERM, &node, 1), -ESRCH);
	kill(other, SIGKILL);
	waitpid(other, &status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deadline_child_holds_no_descriptor_of_ours, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_child_killed_at_the_deadline_is_reaped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_blocked_vfio_remove_is_bounded_and_wedges_the_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_release_with_a_held_group_returns_in_time_and_recover_completes, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_real_operations_under_a_fixture_root_make_no_kernel_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modprobe_install_command_is_refused_by_name, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_holder_is_signalled_only_while_it_still_holds,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
