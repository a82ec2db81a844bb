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

#include "base/bdf.h"
#include "base/log.h"
#include "base/root.h"
#include "input/config.h"
#include "steps/journal.h"
#include "steps/step.h"

static char tmproot[64];

static int setup(void **state)
{
	strcpy(tmproot, "/tmp/vh-journal-XXXXXX");
	assert_non_null(mkdtemp(tmproot));
	assert_int_equal(root_set(tmproot), 0);
	/* Journals made by this process are owned by its euid: as root, the real rule. */
	config_set_required_owner((unsigned)geteuid());
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
	config_set_required_owner(0);
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
	struct step s;

	assert_int_equal(step_init(&s, k, arg), 0);
	assert_int_equal(step_rec_parse(&s, rec), 0);
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
	assert_string_equal(d.steps[0].override.previous, "");
	assert_int_equal(d.steps[1].kind, STEP_UNBIND);
	assert_string_equal(d.steps[1].unbind.driver, "nvidia");
	journal_data_free(&d);
}

static void test_journal_is_root_only_and_refuses_a_second_create(void **state)
{
	char p[4096];
	struct journal j, j2;
	struct stat st;
	struct step s = mkstep(STEP_BIND_VFIO, "0000:01:00.0", "");

	assert_int_equal(journal_create("vm1", NULL, 0, &j), 0);
	assert_int_equal(journal_append(&j, &s), 0);
	journal_close(&j);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff/vm1.journal"), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(journal_create("vm1", NULL, 0, &j2), -EEXIST);
	assert_non_null(strstr(reason_get(), "vfio-handoff recover vm1"));
}

/* Writes vm's journal as text, mode 0600 whatever the umask; returns its path. */
static const char *write_journal(const char *vm, const char *text)
{
	static char p[4096];
	FILE *f;

	assert_int_equal(path_join(p, sizeof(p), "/run"), 0);
	mkdir(p, 0755);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff"), 0);
	mkdir(p, 0700);
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff/%s.journal", vm), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	fclose(f);
	return p;
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

static void test_journal_owned_by_another_user_is_refused(void **state)
{
	struct journal_data d;
	const char *p = write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\n"
					     "device\t0000:01:00.0\n");

	assert_int_equal(chown(p, geteuid() + 1000, 0), 0);
	assert_int_equal(journal_read("vm1", &d), -EPERM);
	assert_non_null(strstr(reason_get(), p));
	assert_non_null(strstr(reason_get(), "owner uid"));
}

static void test_journal_writable_by_group_or_other_is_refused(void **state)
{
	static const mode_t modes[] = { 0620, 0602, 0666 };
	struct journal_data d;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *p = write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\n");

		assert_int_equal(chmod(p, modes[i]), 0);
		reason_clear();
		assert_int_equal(journal_read("vm1", &d), -EPERM);
		assert_non_null(strstr(reason_get(), p));
		assert_non_null(strstr(reason_get(), "writable by group or other"));
	}
	/* Readable by others is no risk to what the journal says. */
	assert_int_equal(chmod(write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\n"), 0644),
			 0);
	assert_int_equal(journal_read("vm1", &d), 0);
	journal_data_free(&d);
}

static void test_symlinked_journal_is_not_followed(void **state)
{
	char target[4096], link[4096];
	struct journal_data d;

	snprintf(target, sizeof(target), "%s",
		 write_journal("elsewhere", "vfio-handoff-journal 1\nvm\tvm1\n"
					    "step\tbind-vfio\t0000:01:00.0\t-\n"));
	assert_int_equal(path_join(link, sizeof(link), "/run/vfio-handoff/vm1.journal"), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(journal_read("vm1", &d), -EPERM);
	assert_non_null(strstr(reason_get(), link));
	assert_non_null(strstr(reason_get(), "symbolic link"));
}

static void test_journal_over_the_size_cap_is_refused_naming_it(void **state)
{
	const char *line = "step\tbind-vfio\t0000:01:00.0\t-\n";
	size_t len = strlen(line), n = (1024 * 1024) / len + 2;
	struct journal_data d;
	char p[4096];
	FILE *f;

	write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\ndevice\t0000:01:00.0\n");
	assert_int_equal(path_join(p, sizeof(p), "/run/vfio-handoff/vm1.journal"), 0);
	f = fopen(p, "a");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputs(line, f);
	fclose(f);
	assert_int_equal(journal_read("vm1", &d), -EFBIG);
	assert_non_null(strstr(reason_get(), p));
	assert_non_null(strstr(reason_get(), "1 MiB"));
}

/* Every record a crafted journal could use to reach outside the tree, or to hand an
 * undo something the planner never writes, is refused naming the file and line. */
static void test_journal_fields_are_validated_as_strictly_as_planned(void **state)
{
	static const char *const bad[] = {
		"device\t0000:01:00.0/../../x",
		"vm\tother",
		"vm\t../x",
		"step\toverride\t0000:01:00.0/../../../x\t-",
		"step\toverride\t01:00.0\t-",
		"step\toverride\t0000:01:00.0\t../../../../tmp/x",
		"step\tunbind\t../../../../../tmp/x\tnvidia",
		"step\tunbind\t0000:01:00.0\t..",
		"step\tunbind\t0000:01:00.0\tnv/../../x",
		"step\tunbind\t0000:01:00.0\t-",
		"step\tbind-vfio\t0000:01:00.0\tnvidia",
		"step\tunbind-fb\t../../../tmp/x\tefi-framebuffer",
		"step\tunbind-fb\tefi-framebuffer.0\t../../../../../tmp",
		"step\tunbind-fb\t.\tefi-framebuffer",
		"step\tunbind-vtcon\tvtcon1/../../x\t(M) frame buffer device",
		"step\tunbind-vtcon\tvtconx\t-",
		"step\tstop-unit\t-gdm.service\t-",
		"step\tstop-unit\tgdm\t-",
		"step\tstop-unit\tgdm.service\t../x.service",
		"step\tend-holders\t0000:01:00.0\t/etc/shadow",
		"step\tend-holders\t../x\t-",
		"step\tunload-module\t../../x\t-",
		"step\tunload-module\tnvidia\tdevs=0000:01:00.0@..",
		"step\tunload-module\tnvidia\tdevs=0000:01:00.0@a/b",
		"step\tunload-module\tnvidia\topts=modeset=1",
		"step\tload-module\tvfio/pci\t-",
		"step\tload-module\tvfio-pci\tids=10de:1234",
		"step\tload-module\tvfio-pci\tdisable_vga=1;x",
	};
	struct journal_data d;
	char text[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "vfio-handoff-journal 1\nvm\tvm1\n%s\n", bad[i]);
		write_journal("vm1", text);
		reason_clear();
		if (journal_read("vm1", &d) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(reason_get(), "vm1.journal:3"));
	}
	/* What the planner writes reads back. */
	write_journal("vm1", "vfio-handoff-journal 1\nvm\tvm1\ndevice\t0000:01:00.0\n"
			     "step\tstop-unit\tgdm.service\tdisplay-manager.service\n"
			     "step\tend-holders\t0000:01:00.0\t/dev/dri/card0 /dev/nvidia0 ...\n"
			     "step\tunbind-vtcon\tvtcon1\t(M) frame buffer device\n"
			     "step\tunbind-fb\tefi-framebuffer.0\tefi-framebuffer\n"
			     "step\tunload-module\tnvidia_drm\t-\n"
			     "step\tunload-module\tnvidia\tdevs=0000:01:00.0@nvidia\n"
			     "step\tload-module\tvfio-pci\tdisable_vga=1 disable_idle_d3=1\n"
			     "step\toverride\t0000:01:00.0\t-\n"
			     "step\toverride\t0000:01:00.1\tpci-stub\n"
			     "step\tunbind\t0000:01:00.0\tnvidia\n"
			     "step\tunbind\t0000:01:00.1\tsnd_hda_intel\n"
			     "step\tbind-vfio\t0000:01:00.0\t-\n");
	reason_clear();
	assert_int_equal(journal_read("vm1", &d), 0);
	assert_int_equal(d.n_steps, 12);
	journal_data_free(&d);
}

/* A crash between creating the journal and its first write leaves it empty: nothing was
 * done, so it reads as nothing and is no obstacle to the next prepare. */
static void test_empty_journal_reads_as_nothing_done_and_is_replaced(void **state)
{
	struct bdf devs[1], other;
	struct journal_data d;
	struct journal j;
	char owner[64] = "";

	write_journal("vm1", "");
	assert_int_equal(journal_read("vm1", &d), 0);
	assert_int_equal(d.n_devs, 0);
	assert_int_equal(d.n_steps, 0);
	journal_data_free(&d);
	bdf_parse("0000:01:00.0", &devs[0]);
	assert_int_equal(journal_find_owner(&devs[0], "vm2", owner, sizeof(owner)), 0);
	assert_int_equal(journal_create("vm1", devs, 1, &j), 0);
	journal_close(&j);
	assert_int_equal(journal_read("vm1", &d), 0);
	assert_int_equal(d.n_devs, 1);
	journal_data_free(&d);
	/* One with its devices but no step yet is just as undone. */
	bdf_parse("0000:02:00.0", &other);
	assert_int_equal(journal_create("vm1", &other, 1, &j), 0);
	journal_close(&j);
	assert_int_equal(journal_find_owner(&other, "vm2", owner, sizeof(owner)), 1);
}

/* Item: the owner check fails closed. A journal of another VM that cannot be read may
 * own the device: the caller must hear about it, with the file and why. */
static void test_unreadable_journal_of_another_vm_fails_the_owner_check(void **state)
{
	struct bdf dev;
	char owner[64] = "";
	const char *p;

	bdf_parse("0000:01:00.0", &dev);
	write_journal("gaming", "vfio-handoff-journal 1\nvm\tgaming\nbogus\n");
	assert_true(journal_find_owner(&dev, "work", owner, sizeof(owner)) < 0);
	assert_non_null(strstr(reason_get(), "gaming.journal:3"));
	reason_clear();
	p = write_journal("gaming", "vfio-handoff-journal 1\nvm\tgaming\n");
	assert_int_equal(chmod(p, 0666), 0);
	assert_true(journal_find_owner(&dev, "work", owner, sizeof(owner)) < 0);
	assert_non_null(strstr(reason_get(), p));
	assert_non_null(strstr(reason_get(), "writable by group or other"));
	/* Its own journal is not an owner check: release and recover read it. */
	reason_clear();
	assert_int_equal(journal_find_owner(&dev, "gaming", owner, sizeof(owner)), 0);
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
		cmocka_unit_test_setup_teardown(test_journal_owned_by_another_user_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_writable_by_group_or_other_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_journal_is_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_over_the_size_cap_is_refused_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_fields_are_validated_as_strictly_as_planned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_journal_reads_as_nothing_done_and_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_journal_of_another_vm_fails_the_owner_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_finds_the_owner_of_a_device_but_not_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_rewrite_with_no_steps_removes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_rejects_bad_vm_names_before_touching_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_waits_then_times_out_while_another_process_holds_it, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
