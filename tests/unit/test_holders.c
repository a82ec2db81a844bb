/* Tests for finding the processes that hold a device's nodes and for the end-holders step:
 * wait, fail naming the process, or TERM then KILL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "base/log.h"
#include "base/util.h"
#include "facts/holders.h"
#include "input/config.h"
#include "steps/holders.h"
#include "steps/step.h"

#define GPU "0000:00:02.0"
#define AUDIO "0000:00:1f.3"
#define P1 (FX_PID_BASE + 1)
#define P2 (FX_PID_BASE + 2)
#define P3 (FX_PID_BASE + 3)

static int setup(void **state)
{
	int r = fx_cmocka_setup(state);

	reason_clear();
	holders_set_kill(NULL);
	/* An iGPU with its DRM card, framebuffer and an onboard audio function. */
	fx_driver("i915", "i915");
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_pci(GPU, 0x8086, 0xa7a0, 0x030000, "i915", 0, 1);
	fx_pci(AUDIO, 0x8086, 0x51c8, 0x040300, "snd_hda_intel", 11, -1);
	fx_drm_card(0, GPU, "i915", "eDP-1:connected");
	fx_fb(0, GPU, "i915drmfb", "i915");
	fx_sound(0, AUDIO);
	return r;
}

static int teardown(void **state)
{
	holders_set_kill(NULL);
	reason_clear();
	return fx_cmocka_teardown(state);
}

static bool has_node(const struct devnode *n, size_t count, const char *path)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(n[i].path, path) == 0)
			return true;
	return false;
}

static void test_nodes_of_a_gpu_and_its_audio_function(void **state)
{
	struct devnode n[HOLDERS_MAX_NODES];
	size_t count;

	assert_int_equal(holders_nodes(GPU, n, HOLDERS_MAX_NODES, &count), 0);
	assert_true(has_node(n, count, "/dev/dri/card0"));
	assert_true(has_node(n, count, "/dev/dri/renderD128"));
	assert_true(has_node(n, count, "/dev/fb0"));
	/* Connector directories (card0-eDP-1) are not nodes. */
	assert_int_equal(count, 3);

	assert_int_equal(holders_nodes(AUDIO, n, HOLDERS_MAX_NODES, &count), 0);
	assert_true(has_node(n, count, "/dev/snd/controlC0"));
	assert_false(has_node(n, count, "/dev/dri/card0"));
}

static void test_nvidia_nodes_count_for_an_nvidia_gpu(void **state)
{
	struct devnode n[HOLDERS_MAX_NODES];
	size_t count;

	fx_driver("nvidia", "nvidia");
	fx_pci("0000:01:00.0", 0x10de, 0x1c81, 0x030000, "nvidia", 1, 0);
	fx_devnode("dev/nvidia0", 'c', 195, 0, "nvidia", NULL);
	fx_devnode("dev/nvidiactl", 'c', 195, 255, "nvidia", NULL);
	assert_int_equal(holders_nodes("0000:01:00.0", n, HOLDERS_MAX_NODES, &count), 0);
	assert_true(has_node(n, count, "/dev/nvidia0"));
	assert_true(has_node(n, count, "/dev/nvidiactl"));
	/* Not for another driver's device. */
	assert_int_equal(holders_nodes(GPU, n, HOLDERS_MAX_NODES, &count), 0);
	assert_false(has_node(n, count, "/dev/nvidia0"));
}

static void test_find_names_pid_command_and_node(void **state)
{
	const char *xorg[] = { "/dev/dri/card0", NULL };
	const char *other[] = { "/dev/null", NULL };
	const char *pw[] = { "/dev/snd/controlC0", NULL };
	struct holder h;
	char desc[256];

	fx_proc(P1, "bash", NULL, other);
	fx_proc(P2, "Xorg", NULL, xorg);
	fx_proc(P3, "pipewire", NULL, pw);
	assert_int_equal(holders_first(GPU, &h), 1);
	assert_int_equal(h.pid, P2);
	assert_string_equal(h.comm, "Xorg");
	assert_string_equal(h.node, "/dev/dri/card0");
	holders_describe(&h, 1, desc, sizeof(desc));
	assert_string_equal(desc, fx_fmt("process %d (Xorg) holds /dev/dri/card0", P2));
	assert_int_equal(holders_first(AUDIO, &h), 1);
	assert_string_equal(h.comm, "pipewire");
	fx_proc_exit(P2);
	assert_int_equal(holders_first(GPU, &h), 0);
}

static struct step holders_step(const char *bdf)
{
	struct step s = { .kind = STEP_END_HOLDERS };

	strlcpy_chk(s.arg, bdf, sizeof(s.arg));
	return s;
}

static const struct step_env *env_with(struct vm_config *cfg, enum cfg_holders mode,
				       int timeout_ms, int grace_ms)
{
	static struct step_env env;

	config_defaults(cfg);
	cfg->holders = mode;
	cfg->timeout_ms = timeout_ms;
	cfg->kill_grace_ms = grace_ms;
	env.vm = "win10";
	env.cfg = cfg;
	return &env;
}

static void test_no_holder_passes_at_once(void **state)
{
	struct vm_config cfg;
	struct step s = holders_step(GPU);

	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_WAIT, 5000, 0)), 0);
}

static void test_holder_that_stays_fails_naming_it(void **state)
{
	const char *files[] = { "/dev/null", "/dev/dri/renderD128", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);
	int64_t t0 = now_ms();

	fx_proc(P1, "gnome-shell", NULL, files);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_WAIT, 300, 0)), -EBUSY);
	assert_true(now_ms() - t0 >= 300);
	assert_non_null(strstr(reason_get(),
			       fx_fmt("process %d (gnome-shell) holds /dev/dri/renderD128", P1)));
	/* Waiting ends nobody. */
	assert_true(fx_exists(fx_fmt("proc/%d", P1)));
}

static void test_two_holders_are_counted(void **state)
{
	const char *a[] = { "/dev/fb0", NULL };
	const char *b[] = { "/dev/dri/card0", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);

	fx_proc(P1, "plymouthd", NULL, a);
	fx_proc(P2, "Xorg", NULL, b);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_WAIT, 100, 0)), -EBUSY);
	assert_non_null(strstr(reason_get(), fx_fmt("process %d (plymouthd) holds /dev/fb0 "
						    "(and 1 more process)", P1)));
}

static void *exit_later(void *data)
{
	struct timespec ts = { 0, 80 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	fx_proc_exit((int)(intptr_t)data);
	return NULL;
}

static void test_holder_that_exits_within_the_deadline_passes(void **state)
{
	const char *files[] = { "/dev/dri/card0", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);
	pthread_t t;

	fx_proc(P1, "Xorg", NULL, files);
	assert_int_equal(pthread_create(&t, NULL, exit_later, (void *)(intptr_t)P1), 0);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_WAIT, 5000, 0)), 0);
	pthread_join(t, NULL);
	assert_false(fx_exists(fx_fmt("proc/%d", P1)));
}

/* The fake signal: P1 ends on TERM, P2 only on KILL, P3 never. */
static char signals_seen[256];

static int fake_kill(pid_t pid, int sig)
{
	size_t len = strlen(signals_seen);

	snprintf(signals_seen + len, sizeof(signals_seen) - len, "%d:%s ", (int)pid,
		 sig == SIGTERM ? "TERM" : sig == SIGKILL ? "KILL" : "?");
	if ((pid == P1 && sig == SIGTERM) || (pid == P2 && sig == SIGKILL))
		fx_proc_exit(pid);
	return 0;
}

static void test_kill_mode_terms_then_kills(void **state)
{
	const char *a[] = { "/dev/dri/card0", NULL };
	const char *b[] = { "/dev/dri/renderD128", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);

	signals_seen[0] = '\0';
	holders_set_kill(fake_kill);
	fx_proc(P1, "polite", NULL, a);
	fx_proc(P2, "stubborn", NULL, b);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_KILL, 3000, 100)), 0);
	assert_string_equal(signals_seen, fx_fmt("%d:TERM %d:TERM %d:KILL ", P1, P2, P2));
	assert_false(fx_exists(fx_fmt("proc/%d", P1)));
	assert_false(fx_exists(fx_fmt("proc/%d", P2)));
}

static void test_kill_mode_fails_naming_what_survives_kill(void **state)
{
	const char *a[] = { "/dev/fb0", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);

	signals_seen[0] = '\0';
	holders_set_kill(fake_kill);
	fx_proc(P3, "stuck", NULL, a);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_KILL, 300, 50)), -EBUSY);
	assert_non_null(strstr(reason_get(), fx_fmt("process %d (stuck) holds /dev/fb0 and did "
						    "not exit after SIGKILL", P3)));
	assert_string_equal(signals_seen, fx_fmt("%d:TERM %d:KILL ", P3, P3));
}

static void test_fixture_pids_are_never_really_signalled(void **state)
{
	const char *a[] = { "/dev/dri/card0", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);

	fx_proc(P1, "Xorg", NULL, a);
	assert_int_equal(step_apply(&s, env_with(&cfg, CFG_HOLDERS_KILL, 300, 50)), -EPERM);
	assert_non_null(strstr(reason_get(), fx_fmt("cannot signal process %d (Xorg)", P1)));
}

static void test_undo_changes_nothing(void **state)
{
	const char *a[] = { "/dev/dri/card0", NULL };
	struct vm_config cfg;
	struct step s = holders_step(GPU);
	char *before, *after;

	fx_proc(P1, "Xorg", NULL, a);
	before = fx_snapshot();
	assert_int_equal(step_undo(&s, env_with(&cfg, CFG_HOLDERS_WAIT, 100, 0)), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	assert_int_equal(fx_writes(), 0);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nodes_of_a_gpu_and_its_audio_function, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nvidia_nodes_count_for_an_nvidia_gpu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_find_names_pid_command_and_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_holder_passes_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_that_stays_fails_naming_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_holders_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_that_exits_within_the_deadline_passes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_mode_terms_then_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_mode_fails_naming_what_survives_kill, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fixture_pids_are_never_really_signalled, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_undo_changes_nothing, setup, teardown),
	};

	log_setup(LOG_TO_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
