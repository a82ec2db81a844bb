/* The argument rules, in process: the hook's (libvirt's four positions, options only
 * before them) and the command's (every command, its VM, the options that go with it,
 * "--"). Parsing only: nothing here reads a tree or acts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/root.h"
#include "front/cliargs.h"
#include "front/hookproto.h"

#define ARGV(...) ((char *[]){ "prog", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define HOOK(ret, ...) hook_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), ret)
#define CLI(ret, ...) cli_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), ret)

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

struct cli_case {
	const char *const *argv; /* after "prog", NULL-terminated */
	int r;
	enum cli_cmd cmd;
	const char *vm;
	const char *reason; /* start of the reason when r < 0 */
};

static int count(const char *const *v)
{
	int n = 0;

	while (v[n])
		n++;
	return n;
}

static void check_cli(const struct cli_case *c)
{
	char *argv[16] = { "prog" };
	int argc = 1 + count(c->argv);
	struct cli_args a;
	int r;

	for (int i = 1; i < argc; i++)
		argv[i] = (char *)c->argv[i - 1];
	reason_clear();
	r = cli_args_parse(argc, argv, &a);
	if (r != c->r)
		fail_msg("'%s %s ...': %d, expected %d (%s)", c->argv[0] ? c->argv[0] : "",
			 c->argv[0] && c->argv[1] ? c->argv[1] : "", r, c->r, reason_get());
	if (r < 0) {
		if (strncmp(reason_get(), c->reason, strlen(c->reason)) != 0)
			fail_msg("reason '%s', expected '%s...'", reason_get(), c->reason);
		return;
	}
	assert_int_equal(a.cmd, c->cmd);
	if (c->vm)
		assert_string_equal(a.vm, c->vm);
	else
		assert_null(a.vm);
}

#define W(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_every_command_takes_exactly_its_arguments(void **state)
{
	static const char *x = "--xml";
	const struct cli_case cases[] = {
		{ W("plan", "win10"), 0, CLI_PLAN, "win10", NULL },
		{ W("plan", "win10", x, "f.xml"), 0, CLI_PLAN, "win10", NULL },
		{ W(x, "f.xml", "plan", "win10"), 0, CLI_PLAN, "win10", NULL },
		{ W("plan", "--connect=qemu:///session", "win10"), 0, CLI_PLAN, "win10", NULL },
		{ W("plan"), -EINVAL, 0, NULL, "plan needs a VM name" },
		{ W("plan", "a", "b"), -EINVAL, 0, NULL, "plan takes one VM name" },
		{ W("plan", "win10", "--dry-run"), -EINVAL, 0, NULL, "--dry-run does not go" },
		{ W("prepare", "win10", x, "f.xml"), 0, CLI_PREPARE, "win10", NULL },
		{ W("prepare", "win10", x, "f.xml", "--dry-run"), 0, CLI_PREPARE, "win10", NULL },
		{ W("prepare", "win10"), -EINVAL, 0, NULL, "prepare needs --xml" },
		{ W("prepare", x, "f.xml"), -EINVAL, 0, NULL, "prepare needs a VM name" },
		{ W("prepare", "win10", x, "f", "--connect", "u"), -EINVAL, 0, NULL, "--connect" },
		{ W("release", "win10"), 0, CLI_RELEASE, "win10", NULL },
		{ W("release"), -EINVAL, 0, NULL, "release needs a VM name" },
		{ W("release", "a", "b"), -EINVAL, 0, NULL, "release takes one VM name" },
		{ W("release", "win10", x, "f"), -EINVAL, 0, NULL, "--xml does not go with release" },
		{ W("status"), 0, CLI_STATUS, NULL, NULL },
		{ W("status", "extra"), -EINVAL, 0, NULL, "status takes no argument" },
		{ W("status", "--dry-run"), -EINVAL, 0, NULL, "--dry-run does not go with status" },
		{ W("recover"), 0, CLI_RECOVER, NULL, NULL },
		{ W("recover", "win10"), 0, CLI_RECOVER, "win10", NULL },
		{ W("recover", "--", "win10"), 0, CLI_RECOVER, "win10", NULL },
		{ W("recover", "--", "--root"), 0, CLI_RECOVER, "--root", NULL },
		{ W("recover", "a", "b"), -EINVAL, 0, NULL, "recover takes one VM name" },
		{ W("groups"), 0, CLI_GROUPS, NULL, NULL },
		{ W("groups", "-v"), 0, CLI_GROUPS, NULL, NULL },
		{ W("groups", "x"), -EINVAL, 0, NULL, "groups takes no argument" },
		{ W("check"), 0, CLI_CHECK, NULL, NULL },
		{ W("check", "--", "x"), 0, CLI_CHECK, "x", NULL },
		{ W("check", "x", x, "f.xml"), 0, CLI_CHECK, "x", NULL },
		{ W("check", x, "f.xml"), -EINVAL, 0, NULL, "check takes --xml only with a VM" },
		{ W("check", "a", "b"), -EINVAL, 0, NULL, "check takes one VM name" },
		{ W("--", "status"), 0, CLI_STATUS, NULL, NULL },
		{ W("status", "--", "--help"), -EINVAL, 0, NULL, "status takes no argument" },
		{ W("--root", "/tmp/x", "status"), 0, CLI_STATUS, NULL, NULL },
		{ W("status", "--root"), -EINVAL, 0, NULL, "option --root needs a value" },
		{ W("status", "--ro", "/x"), -EINVAL, 0, NULL, "unknown option '--ro'" },
		{ W("status", "--rootx"), -EINVAL, 0, NULL, "unknown option '--rootx'" },
		{ W("frobnicate"), -EINVAL, 0, NULL, "unknown command 'frobnicate'" },
		{ W("-v"), -EINVAL, 0, NULL, "no command given" },
		{ W("--", "--x"), -EINVAL, 0, NULL, "unknown command '--x'" },
		{ W("recover", "a", "b", "c", "d"), -EINVAL, 0, NULL, "recover takes one VM name; unexpected argument 'b'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_cli(&cases[i]);
}

static void test_options_are_read_wherever_they_stand_before_double_dash(void **state)
{
	struct cli_args a;

	assert_int_equal(CLI(&a, "-v", "check", "win10", "--root=/tmp/r", "--xml", "f.xml",
			     "--connect", "qemu:///session"),
			 0);
	assert_true(a.verbose);
	assert_string_equal(a.root, "/tmp/r");
	assert_string_equal(a.xml, "f.xml");
	assert_string_equal(a.connect, "qemu:///session");
	assert_string_equal(a.vm, "win10");

	assert_int_equal(CLI(&a, "status", "--help"), 0);
	assert_true(a.help);
	/* "-" is a word, not an option. */
	assert_int_equal(CLI(&a, "recover", "-"), 0);
	assert_string_equal(a.vm, "-");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hook_takes_libvirts_four_arguments_by_position),
		T(test_hook_options_stand_only_before_the_last_four),
		T(test_hook_acts_on_prepare_begin_and_release_end_only),
		T(test_every_command_takes_exactly_its_arguments),
		T(test_options_are_read_wherever_they_stand_before_double_dash),
	};

	log_setup(0, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
