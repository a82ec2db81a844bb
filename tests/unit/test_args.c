/* The hook's argument rules, in process: libvirt's four positions, options only before
 * them, and which calls it acts on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookproto.h"
#include "log.h"
#include "root.h"

#define ARGV(...) ((char *[]){ "prog", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define HOOK(ret, ...) hook_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), ret)

static int setup(void **state)
{
	reason_clear();
	root_set("/");
	return 0;
}

static int teardown(void **state)
{
	reason_clear();
	root_set("/");
	return 0;
}

static void test_hook_takes_libvirts_four_arguments_by_position(void **state)
{
	struct hook_args a;

	assert_int_equal(HOOK(&a, "--root", "/tmp/x", "prepare", "begin"), 0);
	assert_string_equal(a.vm, "--root");
	assert_string_equal(a.op, "/tmp/x");
	assert_string_equal(a.sub, "prepare");
	assert_string_equal(a.extra, "begin");
	assert_true(root_is_real());
	assert_false(a.dry_run);

	assert_int_equal(HOOK(&a, "--dry-run", "release", "end", "shutdown"), 0);
	assert_string_equal(a.vm, "--dry-run");
	assert_string_equal(a.op, "release");
	assert_false(a.dry_run);
}

static void test_hook_options_stand_only_before_the_last_four(void **state)
{
	struct hook_args a;

	assert_int_equal(HOOK(&a, "--root", "/tmp/x", "--dry-run", "--root", "prepare", "begin",
			      "-"),
			 0);
	assert_string_equal(root_get(), "/tmp/x");
	assert_true(a.dry_run);
	assert_string_equal(a.vm, "--root");
	assert_string_equal(a.op, "prepare");
	assert_string_equal(a.sub, "begin");
	assert_string_equal(a.extra, "-");

	/* A word before the four that is not an option; --root whose value would be one of
	 * the four; too few; an unknown option. */
	assert_int_equal(HOOK(&a, "win10", "prepare", "begin", "-", "x"), -EINVAL);
	assert_int_equal(HOOK(&a, "--root", "win10", "prepare", "begin", "-"), -EINVAL);
	assert_int_equal(HOOK(&a, "win10", "prepare", "begin"), -EINVAL);
	assert_int_equal(HOOK(&a, "--verbose", "win10", "prepare", "begin", "-"), -EINVAL);
	assert_int_equal(hook_parse_args(1, ARGV(NULL), &a), -EINVAL);

	assert_int_equal(HOOK(&a, "--help"), 0);
	assert_true(a.help);
}

static void touch(const char *dir, const char *rel)
{
	char p[4096], cmd[9000];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && : > '%s'", p, p);
	assert_int_equal(system(cmd), 0);
}

static void test_hook_acts_on_prepare_begin_and_release_end_only(void **state)
{
	char dir[] = "/tmp/vh-args-XXXXXX", cmd[64];
	struct hook_args a = { .vm = "win10", .op = "start", .sub = "begin" };

	assert_non_null(mkdtemp(dir));
	assert_int_equal(root_set(dir), 0);
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);
	a.op = "prepare";
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);
	a.op = "release";
	a.sub = "end";
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);

	/* A journal alone: release follows it; prepare still needs the opt-in. */
	touch(dir, "run/vfio-handoff/win10.journal");
	assert_true(hook_vm_has_journal("win10"));
	assert_int_equal(hook_action_of(&a), HOOK_RELEASE);
	a.op = "prepare";
	a.sub = "begin";
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);
	a.sub = "end";
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);

	touch(dir, "etc/vfio-handoff/vm.d/win10.conf");
	a.sub = "begin";
	assert_int_equal(hook_action_of(&a), HOOK_PREPARE);
	a.op = "started";
	assert_int_equal(hook_action_of(&a), HOOK_IGNORE);

	touch(dir, "run/vfio-handoff/..journal");
	assert_false(hook_vm_has_journal("."));
	assert_false(hook_vm_has_journal("../vfio-handoff/win10"));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hook_takes_libvirts_four_arguments_by_position),
		T(test_hook_options_stand_only_before_the_last_four),
		T(test_hook_acts_on_prepare_begin_and_release_end_only),
	};

	log_setup(0, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
