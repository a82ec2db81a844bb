/* PCI address parsing and the journal: round trip, torn and malformed entries, owners,
 * and the lock, on a temporary root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bdf.h"
#include "journal.h"
#include "log.h"
#include "step.h"
#include "sysfs.h"

static char tmproot[64];

static int setup(void **state)
{
	strcpy(tmproot, "/tmp/vh-journal-XXXXXX");
	assert_non_null(mkdtemp(tmproot));
	assert_int_equal(root_set(tmproot), 0);
	reason_clear();
	log_setup(0, LOG_ERR);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
	assert_int_equal(system(cmd), 0);
	root_set("/");
	return 0;
}

static void test_bdf_parses_full_and_short_forms(void **state)
{
	struct bdf b;
	char s[BDF_STRLEN];

	assert_int_equal(bdf_parse("0000:01:00.1", &b), 0);
	assert_string_equal(bdf_fmt(&b, s), "0000:01:00.1");
	assert_int_equal(bdf_parse("0a:1f.7", &b), 0);
	assert_string_equal(bdf_fmt(&b, s), "0000:0a:1f.7");
	assert_int_equal(bdf_parse("ffff:ff:1f.7", &b), 0);
	assert_int_equal(b.domain, 0xffff);
}

static void test_bdf_rejects_out_of_range_and_junk(void **state)
{
	struct bdf b;
	const char *bad[] = { "", "01:00", "01:20.0", "01:00.8", "100:00.0", "1:2:3:4.0",
			      "0000:01:00.0x", "zz:00.0", "10000:00:00.0", "01:00.0.1", "01.00:0" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bdf_parse(bad[i], &b), -EINVAL);
}

static struct step mkstep(enum step_kind k, const char *arg, const char *rec)
{
	struct step s = { .kind = k };

	strcpy(s.arg, arg);
	strcpy(s.rec, rec);
	return s;
}

static void test_journal_round_trip_keeps_devices_and_steps_in_order(void **state)
{
	struct bdf devs[2];
	struct journal j;
	struct journal_data d;
	struct step s1 = mkstep(STEP_OVERRIDE, "0000:01:00.0", "");
	struct step s2 = mkstep(STEP_UNBIND, "0000:01:00.0", "nvidia");

	bdf_parse("0000:01:00.0", &devs[0]);
	bdf_parse("0000:01:00.1", &devs[1]);
	assert_int_equal(journal_create("win10", devs, 2, &j), 0);
	assert_int_equal(journal_append(&j, &s1), 0);
	assert_int_equal(journal_append(&j, &s2), 0);
	journal_close(&j);

	assert_int_equal(journal_read("win10", &d), 0);
	assert_string_equal(d.vm, "win10");
	assert_int_equal(d.n_devs, 2);
	assert_true(bdf_equal(&d.devs[1], &devs[1]));
	assert_int_equal(d.n_steps, 2);
	assert_int_equal(d.steps[0].kind, STEP_OVERRIDE);
	assert_string_equal(d.steps[0].rec, "");
	assert_int_equal(d.steps[1].kind, STEP_UNBIND);
	assert_string_equal(d.steps[1].rec, "nvidia");
	journal_data_free(&d);
}

static void test_journal_is_root_only_and_refuses_a_second_create(void **state)
{
	char p[4096];
	struct journal j, j2;
	struct stat st;

	assert_int_equal(journal_create("vm1", NULL, 0, &j), 0);
	journal_close(&j);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff/vm1.journal"), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(journal_create("vm1", NULL, 0, &j2), -EEXIST);
	assert_non_null(strstr(reason_get(), "vfio-handoff recover vm1"));
}

static void write_journal(const char *vm, const char *text)
{
	char p[4096];
	FILE *f;

	assert_int_equal(path_join(p, sizeof(p), "/run"), 0);
	mkdir(p, 0755);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff"), 0);
	mkdir(p, 0700);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff/%s.journal", vm), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_journal_ignores_a_torn_last_entry(void **state)
{
	struct journal_data d;

	write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\ndevice\t0000:01:00.0\n"
			     "step\toverride\t0000:01:00.0\t-\nstep\tunbind\t0000:01:0");
	assert_int_equal(journal_read("vm1", &d), 0);
	assert_int_equal(d.n_steps, 1);
	journal_data_free(&d);
}

static void test_journal_malformed_line_names_file_and_line(void **state)
{
	struct journal_data d;

	write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\nstep\tfrobnicate\tx\t-\n");
	assert_int_equal(journal_read("vm1", &d), -EBADMSG);
	assert_non_null(strstr(reason_get(), "vm1.journal:3"));
	reason_clear();
	write_journal("vm2", "something else\n");
	assert_int_equal(journal_read("vm2", &d), -EBADMSG);
	assert_non_null(strstr(reason_get(), "vm2.journal:1"));
}

static void test_journal_finds_the_owner_of_a_device_but_not_self(void **state)
{
	struct bdf devs[1], other;
	struct journal j;
	char owner[64] = "";

	bdf_parse("0000:01:00.0", &devs[0]);
	bdf_parse("0000:02:00.0", &other);
	assert_int_equal(journal_create("gaming", devs, 1, &j), 0);
	journal_close(&j);
	assert_int_equal(journal_find_owner(&devs[0], "work", owner, sizeof(owner)), 1);
	assert_string_equal(owner, "gaming");
	assert_int_equal(journal_find_owner(&devs[0], "gaming", owner, sizeof(owner)), 0);
	assert_int_equal(journal_find_owner(&other, "work", owner, sizeof(owner)), 0);
}

static void test_journal_rewrite_with_no_steps_removes_it(void **state)
{
	struct journal j;
	struct journal_data d = { 0 }, back;
	struct step s = mkstep(STEP_BIND_VFIO, "0000:01:00.0", "");

	assert_int_equal(journal_create("vm1", NULL, 0, &j), 0);
	journal_close(&j);
	d.steps = &s;
	d.n_steps = 1;
	assert_int_equal(journal_rewrite("vm1", &d), 0);
	assert_int_equal(journal_read("vm1", &back), 0);
	assert_int_equal(back.n_steps, 1);
	assert_int_equal(back.steps[0].kind, STEP_BIND_VFIO);
	journal_data_free(&back);
	d.n_steps = 0;
	assert_int_equal(journal_rewrite("vm1", &d), 0);
	assert_int_equal(journal_read("vm1", &back), -ENOENT);
}

static void test_journal_rejects_bad_vm_names_before_touching_paths(void **state)
{
	struct journal j;

	assert_true(journal_create("../etc", NULL, 0, &j) < 0);
	assert_true(journal_create(".hidden", NULL, 0, &j) < 0);
	assert_true(journal_create("a/b", NULL, 0, &j) < 0);
}

static void test_lock_waits_then_times_out_while_another_process_holds_it(void **state)
{
	int fd, fd2, pfd[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd;

		close(pfd[0]);
		if (journal_lock(1000, &lfd) < 0)
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		/* Hold the lock until the parent kills us. */
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(journal_lock(100, &fd), -ETIMEDOUT);
	assert_non_null(strstr(reason_get(), "held by another vfio-handoff"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	reason_clear();
	assert_int_equal(journal_lock(1000, &fd2), 0);
	close(fd2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf_parses_full_and_short_forms),
		cmocka_unit_test(test_bdf_rejects_out_of_range_and_junk),
		cmocka_unit_test_setup_teardown(test_journal_round_trip_keeps_devices_and_steps_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_is_root_only_and_refuses_a_second_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_ignores_a_torn_last_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_malformed_line_names_file_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_finds_the_owner_of_a_device_but_not_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_rewrite_with_no_steps_removes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_rejects_bad_vm_names_before_touching_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_waits_then_times_out_while_another_process_holds_it, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
