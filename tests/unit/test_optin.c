/* enable, disable and list, exec'd against fixture trees: what enable checks before it
 * writes vm.d/VM.conf (root, 0644, read back by the hook), what disable refuses, what list
 * shows, and the one line each prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
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
#define WIN10_XML "config/win10-gpu-audio.xml"
#define CONF "etc/vfio-handoff/vm.d/win10.conf"
#define RUN_DEADLINE_MS 15000

struct run {
	int status;
	char out[16384];
	char err[8192];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* prog --root ROOT args..., stdin empty, a clean environment; output kept. */
static void run_prog(const char *prog, struct run *res, const char *const args[])
{
	const char *argv[24] = { prog, "--root", fx_root() };
	struct pollfd p[2];
	char *bufs[2] = { res->out, res->err };
	size_t lens[2] = { 0, 0 }, sizes[2] = { sizeof(res->out), sizeof(res->err) };
	int pout[2], perr[2];
	long long deadline = mono_ms() + RUN_DEADLINE_MS;
	size_t n = 3;
	pid_t pid;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0",
				 NULL };
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execve(prog, (char **)argv, envp);
		_exit(127);
	}
	close(pout[1]);
	close(perr[1]);
	p[0] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = perr[0], .events = POLLIN };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("%s still running after %d ms", prog, RUN_DEADLINE_MS);
		}
		r = poll(p, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		for (int k = 0; k < 2; k++) {
			ssize_t got;

			if (p[k].fd < 0 || !p[k].revents)
				continue;
			got = read(p[k].fd, bufs[k] + lens[k], sizes[k] - 1 - lens[k]);
			if (got <= 0) {
				close(p[k].fd);
				p[k].fd = -1;
				continue;
			}
			lens[k] += (size_t)got;
		}
	}
	res->out[lens[0]] = '\0';
	res->err[lens[1]] = '\0';
	assert_int_equal(waitpid(pid, &res->status, 0), pid);
	assert_true(WIFEXITED(res->status));
}

static void cli(struct run *res, const char *const args[])
{
	run_prog(CLI, res, args);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The last line of s (without its newline) into buf. */
static const char *last_line(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s);
	const char *b;

	if (len && s[len - 1] == '\n')
		len--;
	for (b = s + len; b > s && b[-1] != '\n'; b--)
		;
	snprintf(buf, n, "%.*s", (int)(s + len - b), b);
	return buf;
}

/* The hook, in dry-run, for win10 with its XML on stdin as libvirt gives it: 0 and its
 * plan on stderr when the VM's file is one it accepts. */
static void hook_plans_win10(struct run *r)
{
	char cmd[8192];
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "env -i PATH=/usr/bin:/bin %s --root '%s' --dry-run win10 prepare begin - "
		 "<" WIN10_XML " 2>&1",
		 HOOK, fx_root());
	f = popen(cmd, "r");
	assert_non_null(f);
	r->err[fread(r->err, 1, sizeof(r->err) - 1, f)] = '\0';
	r->status = pclose(f);
}

/* Entries in a fixture directory, "." and ".." left out. */
static int entries(const char *rel)
{
	DIR *d = opendir(fx_path(rel));
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_enable_checks_prints_the_plan_and_writes_a_root_file_0644(void **state)
{
	struct run r;
	struct stat st;
	char last[512];

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "VM win10: 2 device(s) to hand over in IOMMU group 13"));
	assert_non_null(strstr(r.out, ". bind-vfio 0000:01:00.1\n"));
	assert_string_equal(last_line(r.out, last, sizeof(last)),
			    fx_fmt("enabled VM 'win10': %s/etc/vfio-handoff/vm.d/win10.conf "
				   "(root, 0644); the hook hands it 2 device(s) when it starts",
				   fx_root()));
	assert_int_equal(lstat(fx_path(CONF), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);
	assert_null(strstr(fx_cat(CONF), "devices ="));
	/* No temporary file left beside it. */
	assert_int_equal(entries("etc/vfio-handoff/vm.d"), 1);
	/* Nothing on the host changed; the hook now takes the VM as opted in. */
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
	hook_plans_win10(&r);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "bind-vfio 0000:01:00.1"));
}

static void test_enable_writes_devices_and_strict_that_the_hook_reads(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "--strict", "win10", "--xml", WIN10_XML,
				       "--devices", "01:00.0, 0000:01:00.1", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(fx_cat(CONF), "\ndevices = 0000:01:00.0 0000:01:00.1\n"));
	assert_non_null(strstr(fx_cat(CONF), "\ngroup = strict"));
	hook_plans_win10(&r);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "bind-vfio 0000:01:00.0"));
}

static void test_enable_refuses_an_incomplete_strict_group_in_one_line(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, "--strict",
				       "--devices=0000:01:00.0", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "vfio-handoff: not enabled: VM 'win10': IOMMU group 13 "
				      "is not complete: 0000:01:00.1"));
	assert_false(fx_exists(CONF));
}

static void test_enable_refuses_a_group_the_host_needs(void **state)
{
	struct run r;

	fx_topology_bad_nvme();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "not enabled: refusing to hand over " TBAD_NVME));
	assert_string_equal(r.out, "");
	assert_false(fx_exists(CONF));
}

static void test_enable_refuses_what_names_no_device_or_another_domain(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "linux", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.err, "vfio-handoff: " WIN10_XML " is the XML of domain 'win10', "
				   "not 'linux'\n");
	cli(&r, (const char *const[]){ "enable", "debian12", "--xml", "config/no-hostdev.xml",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "no PCI hostdev in its XML and no --devices"));
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, "--devices", "gpu",
				       NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.err, "vfio-handoff: --devices: 'gpu' is not a PCI address "
				   "(0000:01:00.0)\n");
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", "config/nothing.xml", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	cli(&r, (const char *const[]){ "enable", "../x", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_non_null(strstr(r.err, "invalid VM name"));
	assert_false(fx_exists("etc/vfio-handoff/vm.d"));
}

static void test_enable_again_keeps_the_file_and_refuses_other_settings(void **state)
{
	struct run r;
	char last[512];

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(last_line(r.out, last, sizeof(last)), "already enabled VM 'win10'"));
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, "--strict", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "VM 'win10' is opted in already"));
	assert_null(strstr(fx_cat(CONF), "strict"));
}

static void test_enable_refuses_a_configuration_directory_others_can_write(void **state)
{
	struct run r;

	fx_topology1();
	fx_mkdir("etc/vfio-handoff/vm.d");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d"), 0777), 0);
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "writable by group or other"));
	assert_false(fx_exists(CONF));
}

static void test_disable_removes_the_file_in_one_line(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	cli(&r, (const char *const[]){ "disable", "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, fx_fmt("disabled VM 'win10': removed "
					  "%s/etc/vfio-handoff/vm.d/win10.conf; the hook leaves "
					  "it alone from its next start\n",
					  fx_root()));
	assert_false(fx_exists(CONF));
	cli(&r, (const char *const[]){ "disable", "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "VM 'win10' is not opted in"));
}

static void journal_of_win10(void)
{
	fx_write("run/vfio-handoff/win10.journal",
		 "vfio-handoff-journal 1\nvm\twin10\ndevice\t" T1_GPU "\ndevice\t" T1_AUDIO "\n"
		 "step\toverride\t" T1_GPU "\t-\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff"), 0700), 0);
	assert_int_equal(chmod(fx_path("run/vfio-handoff/win10.journal"), 0600), 0);
}

static void test_disable_refuses_while_the_vm_holds_devices(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	journal_of_win10();
	cli(&r, (const char *const[]){ "disable", "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.out, "");
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "not disabled: VM 'win10' holds devices"));
	assert_non_null(strstr(r.err, "run/vfio-handoff/win10.journal"));
	assert_true(fx_exists(CONF));
}

static void test_list_shows_opted_in_vms_their_devices_and_state(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "list", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "no VM opted in (no .conf file in /etc/vfio-handoff/vm.d)\n");

	cli(&r, (const char *const[]){ "enable", "win10", "--xml", WIN10_XML, NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	fx_write("etc/vfio-handoff/vm.d/a-linux.conf", "devices = 0000:01:00.1\ngroup = strict\n");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/a-linux.conf"), 0644), 0);
	fx_write("etc/vfio-handoff/vm.d/.hidden.conf", "");
	journal_of_win10();
	fx_write("run/vfio-handoff/gone.journal",
		 "vfio-handoff-journal 1\nvm\tgone\ndevice\t" T1_IGPU "\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff/gone.journal"), 0600), 0);
	cli(&r, (const char *const[]){ "list", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	assert_string_equal(
	    r.out, "VM a-linux\n"
		   "  devices: 0000:01:00.1\n"
		   "  group:   strict (with each device, only when the XML lists its whole IOMMU "
		   "group)\n"
		   "  state:   nothing handed over\n"
		   "VM win10\n"
		   "  devices: hostdevs (the PCI hostdevs of its domain XML)\n"
		   "  group:   whole (with each device, its whole IOMMU group)\n"
		   "  state:   holds 2 device(s): 0000:01:00.0 0000:01:00.1\n"
		   "VM gone  (not opted in)\n"
		   "  devices: (no opt-in file: it was removed while the VM held devices)\n"
		   "  state:   holds 1 device(s): " T1_IGPU "\n");
}

static void test_the_new_commands_follow_the_argument_rules(void **state)
{
	struct run r;

	fx_topology1();
	cli(&r, (const char *const[]){ "list", "win10", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "list takes no argument; unexpected argument 'win10'"));
	cli(&r, (const char *const[]){ "disable", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "disable needs a VM name"));
	cli(&r, (const char *const[]){ "plan", "win10", "--strict", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "--strict does not go with plan"));
	cli(&r, (const char *const[]){ "disable", "win10", "--devices", "01:00.0", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "--devices does not go with disable"));
	cli(&r, (const char *const[]){ "enable", "win10", "--devices", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "option --devices needs a value"));
	cli(&r, (const char *const[]){ "--help", NULL });
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "  enable VM [--devices LIST] [--strict]"));
	assert_non_null(strstr(r.out, "  disable VM "));
	assert_non_null(strstr(r.out, "  list "));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cmocka_setup, fx_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enable_checks_prints_the_plan_and_writes_a_root_file_0644),
		T(test_enable_writes_devices_and_strict_that_the_hook_reads),
		T(test_enable_refuses_an_incomplete_strict_group_in_one_line),
		T(test_enable_refuses_a_group_the_host_needs),
		T(test_enable_refuses_what_names_no_device_or_another_domain),
		T(test_enable_again_keeps_the_file_and_refuses_other_settings),
		T(test_enable_refuses_a_configuration_directory_others_can_write),
		T(test_disable_removes_the_file_in_one_line),
		T(test_disable_refuses_while_the_vm_holds_devices),
		T(test_list_shows_opted_in_vms_their_devices_and_state),
		T(test_the_new_commands_follow_the_argument_rules),
	};

	if (access(HOOK, X_OK) != 0 || access(CLI, X_OK) != 0) {
		fprintf(stderr, "%s or %s is not built (run make first)\n", HOOK, CLI);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
