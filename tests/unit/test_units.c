/* Tests for running helper programs (spawn) and for systemd units through the fake
 * systemctl under the fixture root (units, the stop-unit step). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "base/log.h"
#include "base/names.h"
#include "base/util.h"
#include "input/config.h"
#include "kernel/spawn.h"
#include "kernel/units.h"
#include "steps/step.h"

static int setup(void **state)
{
	reason_clear();
	return fx_cmocka_setup(state);
}

static int teardown(void **state)
{
	reason_clear();
	return fx_cmocka_teardown(state);
}

/* --- spawn --- */

static void test_spawn_captures_stdout_and_stderr(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char out[256];
	int status = -1;

	assert_int_equal(spawn_run("/bin/sh", argv, 5000, out, sizeof(out), &status), 0);
	assert_int_equal(status, 3);
	assert_non_null(strstr(out, "out\n"));
	assert_non_null(strstr(out, "err\n"));
}

static void test_spawn_gives_a_clean_environment(void **state)
{
	const char *argv[] = { "env", NULL };
	char out[1024];
	int status;

	setenv("VH_TEST_SECRET", "leak", 1);
	assert_int_equal(spawn_run("/usr/bin/env", argv, 5000, out, sizeof(out), &status), 0);
	unsetenv("VH_TEST_SECRET");
	assert_int_equal(status, 0);
	assert_null(strstr(out, "VH_TEST_SECRET"));
	assert_non_null(strstr(out, "LC_ALL=C\n"));
	assert_non_null(strstr(out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
}

static void test_spawn_stdin_is_dev_null(void **state)
{
	/* cat would wait forever on an inherited terminal or pipe. */
	const char *argv[] = { "cat", NULL };
	char out[64];
	int status;

	assert_int_equal(spawn_run("/bin/cat", argv, 5000, out, sizeof(out), &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
}

static void test_spawn_inherits_no_descriptor(void **state)
{
	const char *argv[] = { "sh", "-c", "ls /proc/$$/fd", NULL };
	char out[1024], *line, *save = NULL;
	int status, p[2], fd;

	/* Like libvirt's pipes: open without close-on-exec. */
	assert_int_equal(pipe(p), 0);
	fd = dup2(p[1], 47);
	assert_int_equal(fd, 47);
	assert_int_equal(spawn_run("/bin/sh", argv, 5000, out, sizeof(out), &status), 0);
	close(p[0]);
	close(p[1]);
	close(fd);
	assert_int_equal(status, 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n = atoi(line);

		/* sh's own descriptors for running ls may appear above 2, never ours. */
		assert_true(n != 47);
	}
}

static void test_spawn_kills_on_timeout(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	char out[64];
	int64_t t0 = now_ms();
	int status = -1;

	assert_int_equal(spawn_run("/bin/sh", argv, 200, out, sizeof(out), &status), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(status, -1);
}

static void test_spawn_returns_when_a_leftover_holds_the_pipe(void **state)
{
	/* The program exits; what it left running keeps the output pipe open. */
	const char *argv[] = { "sh", "-c", "echo done; sleep 3 & exit 0", NULL };
	char out[64];
	int64_t t0 = now_ms();
	int status = -1;

	assert_int_equal(spawn_run("/bin/sh", argv, 10000, out, sizeof(out), &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "done\n");
	assert_true(now_ms() - t0 < 2500);
}

static void test_spawn_reports_exec_failure(void **state)
{
	const char *argv[] = { "nope", NULL };
	char out[64];
	int status;

	assert_int_equal(spawn_run("/nonexistent/nope", argv, 1000, out, sizeof(out), &status),
			 -ENOENT);
}

static void test_spawn_truncates_long_output(void **state)
{
	const char *argv[] = { "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; "
			       "i=$((i+1)); done", NULL };
	char out[16];
	int status;

	assert_int_equal(spawn_run("/bin/sh", argv, 5000, out, sizeof(out), &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

static void test_spawn_find_is_rooted(void **state)
{
	char path[4096];

	assert_int_equal(spawn_find("systemctl", path, sizeof(path)), 0);
	assert_string_equal(path, fx_path("usr/bin/systemctl"));
	fx_rm("usr/bin/systemctl");
	assert_int_equal(spawn_find("systemctl", path, sizeof(path)), 0);
	assert_string_equal(path, fx_path("bin/systemctl"));
	fx_rm("bin/systemctl");
	assert_int_equal(spawn_find("systemctl", path, sizeof(path)), -ENOENT);
}

/* --- units --- */

static void test_unit_names(void **state)
{
	assert_true(name_unit_valid("display-manager.service"));
	assert_true(name_unit_valid("getty@tty1.service"));
	assert_false(name_unit_valid("--now"));
	assert_false(name_unit_valid("a b.service"));
	assert_false(name_unit_valid("../x.service"));
	assert_false(name_unit_valid(""));
}

static void test_unit_state_follows_fake_systemd(void **state)
{
	char st[32];

	fx_unit("gdm3.service", true);
	fx_unit("nvidia-persistenced.service", false);
	fx_unit_alias("display-manager.service", "gdm3.service");
	assert_int_equal(unit_state("gdm3.service", st, sizeof(st)), 0);
	assert_string_equal(st, "active");
	assert_int_equal(unit_is_active("display-manager.service"), 1);
	assert_int_equal(unit_is_active("nvidia-persistenced.service"), 0);
	assert_int_equal(unit_is_active("unknown.service"), 0);
}

static void test_unit_stop_and_start_wait_for_the_state(void **state)
{
	fx_unit("sddm.service", true);
	assert_int_equal(unit_stop("sddm.service", 3000), 0);
	assert_string_equal(fx_unit_state("sddm.service"), "inactive");
	assert_int_equal(unit_start("sddm.service", 3000), 0);
	assert_string_equal(fx_unit_state("sddm.service"), "active");
}

static void test_invalid_unit_never_reaches_systemctl(void **state)
{
	char *log;

	assert_int_equal(unit_stop("--force", 1000), -EINVAL);
	assert_non_null(strstr(reason_get(), "--force"));
	log = fx_systemctl_log();
	assert_true(log == NULL || strstr(log, "--force") == NULL);
	free(log);
}

static void test_stop_refused_names_the_unit(void **state)
{
	fx_unit("lightdm.service", true);
	fx_unit_refuse_stop("lightdm.service");
	assert_int_equal(unit_stop("lightdm.service", 2000), -EIO);
	assert_non_null(strstr(reason_get(), "systemctl stop lightdm.service failed"));
	assert_string_equal(fx_unit_state("lightdm.service"), "active");
}

static void test_missing_systemctl_is_an_error(void **state)
{
	fx_rm("usr/bin/systemctl");
	fx_rm("bin/systemctl");
	assert_true(unit_is_active("gdm3.service") < 0);
	assert_non_null(strstr(reason_get(), "systemctl not found"));
}

/* --- the stop-unit step --- */

static const struct step_env *env_with(struct vm_config *cfg, int timeout_ms)
{
	static struct step_env env;

	config_defaults(cfg);
	cfg->timeout_ms = timeout_ms;
	env.vm = "win10";
	env.cfg = cfg;
	return &env;
}

static struct step unit_step(const char *unit)
{
	struct step s = { .kind = STEP_STOP_UNIT };

	strlcpy_chk(s.arg, unit, sizeof(s.arg));
	return s;
}

static void test_stop_unit_step_stops_then_undo_starts(void **state)
{
	struct vm_config cfg;
	const struct step_env *env = env_with(&cfg, 3000);
	struct step s = unit_step("gdm3.service");

	fx_unit("gdm3.service", true);
	assert_string_equal(step_ops_of(STEP_STOP_UNIT)->name, "stop-unit");
	assert_int_equal(step_apply(&s, env), 0);
	assert_string_equal(fx_unit_state("gdm3.service"), "inactive");
	assert_int_equal(step_undo(&s, env), 0);
	assert_string_equal(fx_unit_state("gdm3.service"), "active");
	/* Undo again: already active, nothing is started twice. */
	assert_int_equal(step_undo(&s, env), 0);
}

static void test_stop_unit_undo_of_a_step_never_applied_does_nothing(void **state)
{
	struct vm_config cfg;
	const struct step_env *env = env_with(&cfg, 3000);
	struct step s = unit_step("gdm3.service");
	char *before, *after, *log;

	fx_unit("gdm3.service", true);
	before = fx_snapshot();
	/* One systemctl start, a no-op for an active unit: nothing is stopped, nothing changes. */
	assert_int_equal(step_undo(&s, env), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	assert_string_equal(fx_unit_state("gdm3.service"), "active");
	log = fx_systemctl_log();
	assert_non_null(log);
	assert_null(strstr(log, "stop"));
	assert_non_null(strstr(log, "start gdm3.service"));
	assert_null(strstr(strstr(log, "start gdm3.service") + 1, "start"));
	free(log);
	free(before);
	free(after);
}

/* Stop and start are one systemctl each: its exit status says the job is done. */
static void test_stop_unit_step_runs_one_systemctl_each_way(void **state)
{
	struct vm_config cfg;
	const struct step_env *env = env_with(&cfg, 3000);
	struct step s = unit_step("gdm3.service");
	char *log;
	int lines = 0;

	fx_unit("gdm3.service", true);
	assert_int_equal(step_apply(&s, env), 0);
	assert_int_equal(step_undo(&s, env), 0);
	log = fx_systemctl_log();
	assert_non_null(log);
	for (const char *c = log; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 2);
	assert_null(strstr(log, "is-active"));
	free(log);
}

static void test_stop_unit_undo_reports_a_refused_start(void **state)
{
	struct vm_config cfg;
	const struct step_env *env = env_with(&cfg, 2000);
	struct step s = unit_step("gdm3.service");

	fx_unit("gdm3.service", true);
	assert_int_equal(step_apply(&s, env), 0);
	fx_unit_refuse_start("gdm3.service");
	assert_true(step_undo(&s, env) < 0);
	assert_string_equal(fx_unit_state("gdm3.service"), "inactive");
}

static void test_stop_unit_ends_the_units_processes(void **state)
{
	struct vm_config cfg;
	const struct step_env *env = env_with(&cfg, 3000);
	struct step s = unit_step("gdm3.service");
	const char *files[] = { "/dev/dri/card0", NULL };
	char *before;

	fx_unit("gdm3.service", true);
	fx_devnode("dev/dri/card0", 'c', 226, 0, NULL, NULL);
	fx_proc(FX_PID_BASE, "Xorg", "gdm3.service", files);
	before = fx_snapshot();
	assert_int_equal(step_apply(&s, env), 0);
	assert_false(fx_exists(fx_fmt("proc/%d", FX_PID_BASE)));
	assert_int_equal(step_undo(&s, env), 0);
	assert_true(fx_exists(fx_fmt("proc/%d", FX_PID_BASE)));
	{
		char *after = fx_snapshot();

		assert_int_equal(fx_snapshot_diff(before, after), 0);
		free(after);
	}
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spawn_captures_stdout_and_stderr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_gives_a_clean_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_stdin_is_dev_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_inherits_no_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_kills_on_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_returns_when_a_leftover_holds_the_pipe,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_reports_exec_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_truncates_long_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_find_is_rooted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_state_follows_fake_systemd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_stop_and_start_wait_for_the_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_unit_never_reaches_systemctl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_refused_names_the_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_systemctl_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit_step_stops_then_undo_starts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit_step_runs_one_systemctl_each_way, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit_undo_of_a_step_never_applied_does_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit_undo_reports_a_refused_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit_ends_the_units_processes, setup,
						teardown),
	};

	log_setup(LOG_TO_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
