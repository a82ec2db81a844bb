/* The 4th argument of "release end": libvirt >= 10 passes the domain's shut-off reason
 * there, older ones "-". It is read as a plain word to log, never acted on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "front/hookproto.h"

#define ARGV(...) ((char *[]){"qemu", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"qemu", __VA_ARGS__}) / sizeof(char *)))

static const char *reason_of(int argc, char **argv)
{
	struct hook_args a;

	assert_int_equal(hook_parse_args(argc, argv, &a), 0);
	return hook_release_reason(&a);
}
#define REASON(...) reason_of(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_libvirt_11_shutoff_reasons_are_read(void **state)
{
	assert_string_equal(REASON("vm1", "release", "end", "destroyed"), "destroyed");
	assert_string_equal(REASON("vm1", "release", "end", "shutdown"), "shutdown");
	assert_string_equal(REASON("vm1", "release", "end", "crashed"), "crashed");
	assert_string_equal(REASON("vm1", "release", "end", "from-snapshot"), "from-snapshot");
}

static void test_libvirt_9_dash_is_no_reason(void **state)
{
	assert_null(REASON("vm1", "release", "end", "-"));
	assert_null(REASON("vm1", "release", "end", ""));
}

static void test_reason_only_for_release_end(void **state)
{
	assert_null(REASON("vm1", "prepare", "begin", "destroyed"));
	assert_null(REASON("vm1", "stopped", "end", "destroyed"));
	assert_null(REASON("vm1", "release", "begin", "destroyed"));
}

/* Whatever else stands there is not logged as it is: no spaces, control characters,
 * format directives or overlong text reach syslog. */
static void test_odd_extra_is_no_reason(void **state)
{
	char long_word[HOOK_REASON_MAX + 2];

	assert_null(REASON("vm1", "release", "end", "shut down"));
	assert_null(REASON("vm1", "release", "end", "a\nb"));
	assert_null(REASON("vm1", "release", "end", "%s%n"));
	memset(long_word, 'x', sizeof(long_word) - 1);
	long_word[sizeof(long_word) - 1] = '\0';
	assert_null(REASON("vm1", "release", "end", long_word));
	long_word[HOOK_REASON_MAX] = '\0';
	assert_string_equal(REASON("vm1", "release", "end", long_word), long_word);
}

/* Options by hand before the four positions change nothing. */
static void test_reason_with_options_before(void **state)
{
	assert_string_equal(REASON("--dry-run", "vm1", "release", "end", "destroyed"), "destroyed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libvirt_11_shutoff_reasons_are_read),
	    cmocka_unit_test(test_libvirt_9_dash_is_no_reason),
	    cmocka_unit_test(test_reason_only_for_release_end),
	    cmocka_unit_test(test_odd_extra_is_no_reason),
	    cmocka_unit_test(test_reason_with_options_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
