/* The two programs exec'd against fixture trees. The hook as libvirt runs it: which calls
 * it acts on, stdout always empty, one stderr line on a failed prepare, release always 0.
 * The command: plan, groups, check, status and their one-line errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "topologies.h"

#define HOOK "build/vfio-handoff-hook"
#define CLI "build/vfio-handoff"

struct run {
	int status;
	long long ms;
	char out[8192];
	char err[8192];
};

enum run_flags {
	RUN_NO_ROOT = 1 << 0,	 /* exactly the arguments given: no "--root ROOT" first */
	RUN_STDIN_OPEN = 1 << 1, /* the writer of stdin never closes it */
};

/* Longest a run may take before the test calls it hung (every deadline of the programs
 * under test is shorter). */
#define RUN_DEADLINE_MS 15000

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's stdout and stderr until both close, within RUN_DEADLINE_MS; a child
 * still holding them then is killed and the test fails. */
static void collect(pid_t pid, int fd_out, int fd_err, struct run *res)
{
	struct pollfd p[2] = { { .fd = fd_out, .events = POLLIN },
			       { .fd = fd_err, .events = POLLIN } };
	char *bufs[2] = { res->out, res->err };
	size_t lens[2] = { 0, 0 };
	long long deadline = mono_ms() + RUN_DEADLINE_MS;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("still running after %d ms: it waits for something that never "
				 "comes",
				 RUN_DEADLINE_MS);
		}
		r = poll(p, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		for (int k = 0; k < 2; k++) {
			ssize_t n;

			if (p[k].fd < 0 || !p[k].revents)
				continue;
			n = read(p[k].fd, bufs[k] + lens[k], sizeof(res->out) - 1 - lens[k]);
			if (n <= 0) {
				p[k].fd = -1;
				continue;
			}
			lens[k] += (size_t)n;
		}
	}
	res->out[lens[0]] = '\0';
	res->err[lens[1]] = '\0';
}

/* Runs prog [--root ROOT] args, stdin from the string, and a clean environment like
 * libvirt's (plus env_extra when not NULL). res->ms is how long it ran. */
static void run_prog_flags(const char *prog, struct run *res, const char *in,
			   const char *env_extra, const char *const args[], unsigned flags)
{
	int pin[2], pout[2], perr[2];
	const char *argv[16] = { prog };
	size_t n = 1;
	long long t0 = mono_ms();
	pid_t pid;

	if (!(flags & RUN_NO_ROOT)) {
		argv[n++] = "--root";
		argv[n++] = fx_root();
	}
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0",
				 (char *)env_extra, NULL };

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execve(prog, (char **)argv, envp);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (in && write(pin[1], in, strlen(in)) < 0)
		fail_msg("write to hook: %s", strerror(errno));
	if (!(flags & RUN_STDIN_OPEN))
		close(pin[1]);
	collect(pid, pout[0], perr[0], res);
	if (flags & RUN_STDIN_OPEN)
		close(pin[1]);
	close(pout[0]);
	close(perr[0]);
	assert_int_equal(waitpid(pid, &res->status, 0), pid);
	res->ms = mono_ms() - t0;
	assert_true(WIFEXITED(res->status));
}

static void run_prog(const char *prog, struct run *res, const char *in, const char *env_extra,
		     const char *const args[])
{
	run_prog_flags(prog, res, in, env_extra, args, 0);
}

static void hook(struct run *res, const char *in, const char *env_extra, const char *const args[])
{
	run_prog(HOOK, res, in, env_extra, args);
}

static void cli(struct run *res, const char *const args[])
{
	run_prog(CLI, res, "", NULL, args);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char *xml_gpu =
	"<domain type='kvm'><name>win10</name><devices>"
	"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
	"<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
	"</devices></domain>\n";

static void opt_in(const char *vm, const char *text)
{
	const char *rel = fx_fmt("etc/vfio-handoff/vm.d/%s.conf", vm);

	fx_write(rel, text);
	assert_int_equal(chmod(fx_path(rel), 0644), 0);
}

static void test_vm_without_opt_in_is_left_alone_silently(void **state)
{
	struct run r;
	fx_topology1();
	char *before = fx_snapshot();

	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	assert_false(fx_exists("run/vfio-handoff"));
	free(before);
	free(after);
}

static void test_other_operations_exit_zero_and_touch_nothing(void **state)
{
	static const char *const ops[][2] = { { "start", "begin" }, { "started", "begin" },
					      { "stopped", "end" }, { "reconnect", "begin" },
					      { "migrate", "begin" }, { "restore", "begin" },
					      { "attach", "begin" }, { "release", "begin" } };
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", ops[i][0], ops[i][1], "-",
							       NULL });
		assert_int_equal(WEXITSTATUS(r.status), 0);
		assert_string_equal(r.out, "");
		assert_string_equal(r.err, "");
	}
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
	assert_false(fx_exists("run/vfio-handoff"));
}

static void test_failed_prepare_prints_one_line_naming_the_device(void **state)
{
	struct run r;
	const char *xml = "<domain><name>win10</name><devices>"
			  "<hostdev mode='subsystem' type='pci'><source>"
			  "<address bus='0x0b' slot='0' function='0'/></source></hostdev>"
			  "</devices></domain>";

	fx_topology1();
	opt_in("win10", "");
	hook(&r, xml, NULL, (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.out, "");
	assert_int_equal(lines(r.err), 1);
	assert_string_equal(r.err, "vfio-handoff: VM 'win10': hostdev 0000:0b:00.0 does not "
				   "exist on this host\n");
}

static void test_bad_config_names_file_and_line(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("win10", "# gpu\ngroup = whole\ntimeout = soon\n");
	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "vm.d/win10.conf:3:"));
	assert_non_null(strstr(r.err, "timeout"));
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
}

static void test_hostile_xml_is_refused_in_one_line(void **state)
{
	struct run r;
	const char *xml = "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaaaaaa'>"
			  "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]><domain><name>&b;</name></domain>";

	fx_topology1();
	opt_in("win10", "");
	hook(&r, xml, NULL, (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "stdin"));
	assert_string_equal(r.out, "");
}

static void test_dry_run_prints_the_plan_on_stderr_and_changes_nothing(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	char *before = fx_snapshot();
	hook(&r, xml_gpu, NULL,
	     (const char *const[]){ "--dry-run", "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "bind-vfio 0000:01:00.1"));
	assert_non_null(strstr(r.err, "unbind 0000:01:00.0 (nvidia)"));
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);

	hook(&r, xml_gpu, "VFIO_HANDOFF_DRY_RUN=1",
	     (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "steps:"));
	assert_false(fx_exists("run/vfio-handoff/win10.journal"));
}

static void test_release_always_exits_zero(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	/* Nothing to release. */
	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "release", "end", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	/* A journal it cannot read: still 0, and the journal is kept for a person. */
	fx_write("run/vfio-handoff/win10.journal", "garbage\n");
	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "release", "end", "failed", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_true(fx_exists("run/vfio-handoff/win10.journal"));
}

static void test_bad_vm_name_is_never_used_in_a_path(void **state)
{
	struct run r;

	fx_topology1();
	fx_write("etc/vfio-handoff/evil.conf", "");
	hook(&r, xml_gpu, NULL, (const char *const[]){ "../evil", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	assert_false(fx_exists("run/vfio-handoff"));
}

static void test_usage_errors_exit_two(void **state)
{
	struct run r;

	fx_topology1();
	hook(&r, "", NULL, (const char *const[]){ "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_string_equal(r.out, "");
}

/* The hook answers the calls it does not act on by itself; for the rest it needs its
 * engine beside it, and says so in one line when it is missing. */
static void test_hook_without_its_engine_fails_prepare_in_one_line(void **state)
{
	char cmd[9000], lone[4096];
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	snprintf(lone, sizeof(lone), "%s/hooks/qemu", fx_root());
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/hooks' && cp " HOOK " '%s'", fx_root(), lone);
	assert_int_equal(system(cmd), 0);

	run_prog(lone, &r, xml_gpu, NULL, (const char *const[]){ "win10", "start", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	run_prog(lone, &r, xml_gpu, NULL,
		 (const char *const[]){ "other", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	run_prog(lone, &r, xml_gpu, NULL,
		 (const char *const[]){ "win10", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "cannot run vfio-handoff/hook-engine beside the hook"));
	assert_string_equal(r.out, "");
	run_prog(lone, &r, xml_gpu, NULL, (const char *const[]){ "win10", "release", "end", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
}

static void test_plan_on_the_sample_xml_prints_numbered_steps(void **state)
{
	struct run r;

	fx_topology1();
	char *before = fx_snapshot();
	cli(&r, (const char *const[]){ "plan", "win10", "--xml", "config/win10-gpu-audio.xml",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "VM win10: 2 device(s) to hand over in IOMMU group 13"));
	assert_non_null(strstr(r.out, "NVIDIA Corporation"));
	assert_non_null(strstr(r.out, "   1. "));
	assert_non_null(strstr(r.out, ". unbind 0000:01:00.0 (nvidia)\n"));
	assert_non_null(strstr(r.out, ". bind-vfio 0000:01:00.1\n"));
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_plan_refusal_is_one_line_naming_the_device(void **state)
{
	struct run r;

	fx_topology3();
	opt_in("win10", "");
	cli(&r, (const char *const[]){ "plan", "win10", "--xml", "config/win10-gpu-audio.xml",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.out, "");
	assert_int_equal(lines(r.err), 1);
	/* On this host 01:00.0 is the switch's upstream bridge, not a GPU. */
	assert_string_equal(r.err, "vfio-handoff: plan refused: VM 'win10': 0000:01:00.0 is a "
				   "PCI bridge, not a device to hand over\n");
}

static void test_groups_lists_names_ids_drivers_and_bridges(void **state)
{
	struct run r;

	fx_topology2();
	cli(&r, (const char *const[]){ "groups", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "IOMMU group 1\n"));
	assert_non_null(strstr(r.out, "0000:00:01.0 PCI bridge [0604]"));
	assert_non_null(strstr(r.out, "driver: pcieport"));
	assert_non_null(strstr(r.out, "[10de:1e04]  driver: nouveau"));
	assert_non_null(strstr(r.out, "0000:01:00.3"));
	assert_non_null(strstr(r.out, "driver: none"));
	assert_non_null(strstr(r.out, "boot_vga"));
}

static void test_check_fails_on_an_unviable_vm_and_says_why(void **state)
{
	struct run r;

	fx_topology_bad_nvme();
	opt_in("win10", "");
	cli(&r, (const char *const[]){ "check", "win10", "--xml", "config/win10-gpu-audio.xml",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_non_null(strstr(r.out, "ok     IOMMU"));
	assert_non_null(strstr(r.out, "ok     configuration: valid"));
	assert_non_null(strstr(r.out, "FAIL   groups viable: refusing to hand over " TBAD_NVME));
}

static void test_status_with_no_journal_says_so(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "status", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "no VM holds a device\n");
}

/* --- Release follows the journal (issue 9, item 4) --- */

#define GPU_OVERRIDE "sys/devices/pci0000:00/" T1_GPU "/driver_override"

/* What prepare leaves after its first step: win10's journal and the GPU's override. */
static void journal_of_win10_after_override(void)
{
	fx_write(GPU_OVERRIDE, "vfio-pci\n");
	fx_write("run/vfio-handoff/win10.journal",
		 "vfio-handoff-journal 1\nvm\twin10\ndevice\t" T1_GPU "\n"
		 "step\toverride\t" T1_GPU "\t-\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff"), 0700), 0);
	assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
}

static void test_release_end_undoes_the_journal_after_the_opt_in_file_went_away(void **state)
{
	struct run r;

	fx_topology1();
	/* Opted in when it started; the file was removed while the VM ran. */
	journal_of_win10_after_override();
	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "release", "end", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_false(fx_exists("run/vfio-handoff/win10.journal"));
	assert_null(strstr(fx_cat(GPU_OVERRIDE), "vfio-pci"));
}

/* The command's recover goes by the journals too, named or not. */
static void test_recover_undoes_a_journal_without_opt_in(void **state)
{
	struct run r;

	fx_topology1();
	journal_of_win10_after_override();
	cli(&r, (const char *const[]){ "recover", "--", "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_false(fx_exists("run/vfio-handoff/win10.journal"));
	assert_null(strstr(fx_cat(GPU_OVERRIDE), "vfio-pci"));

	journal_of_win10_after_override();
	cli(&r, (const char *const[]){ "recover", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_false(fx_exists("run/vfio-handoff/win10.journal"));
	assert_null(strstr(fx_cat(GPU_OVERRIDE), "vfio-pci"));
}

static void test_release_end_without_journal_or_opt_in_is_left_alone(void **state)
{
	struct run r;

	fx_topology1();
	char *before = fx_snapshot();
	hook(&r, xml_gpu, NULL, (const char *const[]){ "win10", "release", "end", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* --- libvirt's four positions (issue 9, item 7) --- */

static void test_hook_reads_a_vm_named_like_an_option_as_the_vm(void **state)
{
	static const char *const ops[][2] = { { "prepare", "begin" }, { "start", "begin" },
					      { "release", "end" }, { "reconnect", "begin" } };
	struct run r;

	fx_topology1();
	char *before = fx_snapshot();
	/* Not opted in: every call exits 0 and touches nothing, as for any other VM. */
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		hook(&r, xml_gpu, NULL, (const char *const[]){ "--root", ops[i][0], ops[i][1], "-",
							       NULL });
		assert_int_equal(WEXITSTATUS(r.status), 0);
		assert_string_equal(r.err, "");
	}
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* Opted in: acted on under its own name (here the hand-run dry run). */
	opt_in("--dry-run", "");
	hook(&r, xml_gpu, NULL,
	     (const char *const[]){ "--dry-run", "--dry-run", "prepare", "begin", "-", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "VM --dry-run: 2 device(s) to hand over"));
	assert_non_null(strstr(r.err, "bind-vfio 0000:01:00.1"));
	assert_false(fx_exists("run/vfio-handoff/--dry-run.journal"));
}

/* libvirt's call is exactly four arguments, never read as options: "--root X" here is a VM
 * and an operation, not a root (and the real root is not touched: no such operation). */
static void test_hook_never_reads_libvirts_four_arguments_as_options(void **state)
{
	struct run r;

	fx_topology1();
	run_prog_flags(HOOK, &r, xml_gpu, NULL,
		       (const char *const[]){ "--root", fx_root(), "start", "begin", NULL },
		       RUN_NO_ROOT);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "");
}

static void test_hook_by_hand_takes_options_only_before_the_four_positions(void **state)
{
	static const char *const bad[][7] = {
		{ "--bogus", "win10", "prepare", "begin", "-" },
		{ "win10", "prepare", "begin", "-", "extra" },
		{ "--dry-run", "win10", "prepare", "begin", "-", "x" },
		{ "--root" }, /* with the runner's "--root ROOT": three words */
		{ "win10", "prepare", "begin" },
	};
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hook(&r, xml_gpu, NULL, bad[i]);
		assert_int_equal(WEXITSTATUS(r.status), 2);
		assert_string_equal(r.out, "");
		assert_non_null(strstr(r.err, "usage: qemu [--root DIR] [--dry-run] VM"));
	}
	run_prog_flags(HOOK, &r, "", NULL, (const char *const[]){ "--help", NULL }, RUN_NO_ROOT);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "usage: qemu"));
	assert_false(fx_exists("run/vfio-handoff"));
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
}

static void test_status_groups_and_release_refuse_extra_arguments(void **state)
{
	static const char *const bad[][6] = {
		{ "status", "extra" },
		{ "groups", "x" },
		{ "release" },
		{ "release", "a", "b" },
		{ "recover", "a", "b" },
		{ "plan" },
		{ "plan", "a", "b", "--xml", "config/win10-gpu-audio.xml" },
		{ "check", "a", "b" },
		{ "status", "--xml", "config/win10-gpu-audio.xml" },
		{ "release", "win10", "--dry-run" },
		{ "check", "--xml", "config/win10-gpu-audio.xml" },
		{ "prepare", "win10" },
		{ "status", "--frobnicate" },
		{ "frobnicate" },
		{ "plan", "win10", "--xml" },
		{ "--root" },
	};
	struct run r;

	fx_topology1();
	fx_write("run/vfio-handoff/a.journal", "garbage\n");
	char *before = fx_snapshot();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cli(&r, bad[i]);
		if (WEXITSTATUS(r.status) != 2)
			fail_msg("'%s %s %s' exited %d, not 2", bad[i][0], bad[i][1] ? bad[i][1] : "",
				 bad[i][1] && bad[i][2] ? bad[i][2] : "", WEXITSTATUS(r.status));
		assert_string_equal(r.out, "");
		assert_true(strncmp(r.err, "vfio-handoff: ", 14) == 0);
		assert_non_null(strstr(r.err, "usage: vfio-handoff"));
	}
	cli(&r, (const char *const[]){ "status", "extra", NULL });
	assert_true(strncmp(r.err, "vfio-handoff: status takes no argument", 38) == 0);
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* After "--" every word is an argument: a VM named like an option is still that VM. */
static void test_words_after_double_dash_are_the_vm(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("--odd", "");
	cli(&r, (const char *const[]){ "check", "--xml", "config/win10-gpu-audio.xml", "--", "--odd",
				       NULL });
	assert_non_null(strstr(r.out, "ok     configuration: valid"));
	assert_non_null(strstr(r.out, "groups viable"));

	cli(&r, (const char *const[]){ "plan", "--xml", "config/win10-gpu-audio.xml", "--", "--odd",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "VM --odd: 2 device(s) to hand over"));

	/* recover takes the name too (an invalid one here, so it is refused before acting). */
	fx_write("run/vfio-handoff/other.journal", "garbage\n");
	cli(&r, (const char *const[]){ "recover", "--", "../x", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.err, "vfio-handoff: invalid VM name '../x'\n");
	assert_string_equal(fx_cat("run/vfio-handoff/other.journal"), "garbage");
}

static void test_help_prints_the_rules(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "--help", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "usage: vfio-handoff"));
	assert_non_null(strstr(r.out, "recover -- --x"));
}

/* --- stdin has a deadline (issue 9, item 9) --- */

static void test_hook_answers_even_if_stdin_never_closes(void **state)
{
	struct run r;

	fx_topology1();
	run_prog_flags(HOOK, &r, "<domain><name>other</name>", NULL,
		       (const char *const[]){ "other", "start", "begin", "-", NULL },
		       RUN_STDIN_OPEN);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	assert_true(r.ms < 10000);
}

static void test_prepare_with_stdin_never_closed_fails_in_one_line(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("win10", "timeout = 1\n");
	char *before = fx_snapshot();
	/* Half the XML, and the writer keeps stdin open. */
	run_prog_flags(HOOK, &r, "<domain type='kvm'><name>win10</name><devices>", NULL,
		       (const char *const[]){ "win10", "prepare", "begin", "-", NULL },
		       RUN_STDIN_OPEN);
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.out, "");
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "stdin: domain XML incomplete"));
	assert_true(r.ms < 10000);
	char *after = fx_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_release_with_stdin_never_closed_still_gives_back(void **state)
{
	struct run r;

	fx_topology1();
	opt_in("win10", "");
	journal_of_win10_after_override();
	run_prog_flags(HOOK, &r, xml_gpu, NULL,
		       (const char *const[]){ "win10", "release", "end", "-", NULL },
		       RUN_STDIN_OPEN);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "");
	assert_true(r.ms < 10000);
	assert_false(fx_exists("run/vfio-handoff/win10.journal"));
	assert_null(strstr(fx_cat(GPU_OVERRIDE), "vfio-pci"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cmocka_setup, fx_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vm_without_opt_in_is_left_alone_silently),
		T(test_other_operations_exit_zero_and_touch_nothing),
		T(test_failed_prepare_prints_one_line_naming_the_device),
		T(test_bad_config_names_file_and_line),
		T(test_hostile_xml_is_refused_in_one_line),
		T(test_dry_run_prints_the_plan_on_stderr_and_changes_nothing),
		T(test_release_always_exits_zero),
		T(test_bad_vm_name_is_never_used_in_a_path),
		T(test_usage_errors_exit_two),
		T(test_hook_without_its_engine_fails_prepare_in_one_line),
		T(test_plan_on_the_sample_xml_prints_numbered_steps),
		T(test_plan_refusal_is_one_line_naming_the_device),
		T(test_groups_lists_names_ids_drivers_and_bridges),
		T(test_check_fails_on_an_unviable_vm_and_says_why),
		T(test_status_with_no_journal_says_so),
		T(test_release_end_undoes_the_journal_after_the_opt_in_file_went_away),
		T(test_release_end_without_journal_or_opt_in_is_left_alone),
		T(test_recover_undoes_a_journal_without_opt_in),
		T(test_hook_reads_a_vm_named_like_an_option_as_the_vm),
		T(test_hook_never_reads_libvirts_four_arguments_as_options),
		T(test_hook_by_hand_takes_options_only_before_the_four_positions),
		T(test_status_groups_and_release_refuse_extra_arguments),
		T(test_words_after_double_dash_are_the_vm),
		T(test_help_prints_the_rules),
		T(test_hook_answers_even_if_stdin_never_closes),
		T(test_prepare_with_stdin_never_closed_fails_in_one_line),
		T(test_release_with_stdin_never_closed_still_gives_back),
	};

	if (access(HOOK, X_OK) != 0 || access(CLI, X_OK) != 0) {
		fprintf(stderr, "%s or %s is not built (run make first)\n", HOOK, CLI);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
