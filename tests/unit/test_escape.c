/* Untrusted text on its way to a terminal or the log: the one escaping rule (esc_n), the
 * sinks that apply it to every message and reason, and the command's outputs that carry
 * such text (release, status, check, groups, the hook's refusal of an option). */
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

#include "base/escape.h"
#include "base/log.h"
#include "base/util.h"
#include "fixture.h"
#include "topologies.h"

#define HOOK "build/vfio-handoff-hook"
#define CLI "build/vfio-handoff"

/* ESC, a red "b" and a byte that is not UTF-8: what a terminal must never be sent. */
#define EVIL "a\x1b[31mb\xff"
#define EVIL_SHOWN "a\\x1b[31mb\\xff"

static const char *e(const char *s)
{
	static char buf[ESC_BUF];

	return esc(s, buf, sizeof(buf));
}

static void test_plain_text_passes_unchanged(void **state)
{
	assert_string_equal(e("win10 0000:01:00.0 [10de:2786] nvidia"), "win10 0000:01:00.0 "
									 "[10de:2786] nvidia");
	assert_string_equal(e(""), "");
}

static void test_control_bytes_del_and_backslash_are_escaped(void **state)
{
	assert_string_equal(e(EVIL), EVIL_SHOWN);
	assert_string_equal(e("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
	assert_string_equal(e("x\x7fy"), "x\\x7fy");
	/* The backslash too: "a\x1b" typed as text is told from the byte. */
	assert_string_equal(e("a\\x1b"), "a\\x5cx1b");
}

static void test_well_formed_utf8_passes(void **state)
{
	assert_string_equal(e("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x96\xa5"),
			    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x96\xa5");
}

static void test_invalid_utf8_is_escaped_byte_by_byte(void **state)
{
	/* A lone continuation byte, a truncated sequence, an overlong '/', a surrogate,
	 * past U+10FFFF. */
	assert_string_equal(e("\x80"), "\\x80");
	assert_string_equal(e("a\xc3"), "a\\xc3");
	assert_string_equal(e("\xc0\xaf"), "\\xc0\\xaf");
	assert_string_equal(e("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	assert_string_equal(e("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
}

static void test_c1_controls_and_bidi_overrides_are_escaped(void **state)
{
	/* U+009B (CSI in C1), U+202E (right-to-left override), U+2066 (isolate), U+2028
	 * (line separator). */
	assert_string_equal(e("\xc2\x9b"), "\\xc2\\x9b");
	assert_string_equal(e("a\xe2\x80\xae" "b"), "a\\xe2\\x80\\xaeb");
	assert_string_equal(e("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");
	assert_string_equal(e("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");
}

static void test_cut_never_splits_an_escape_or_a_character(void **state)
{
	char buf[10];

	/* 9 characters of room: "ab\x1b" and "..." fill it; a second escape would not fit. */
	assert_string_equal(esc("ab\x1b\x1b\x1b", buf, sizeof(buf)), "ab\\x1b...");
	assert_string_equal(esc("abc\x1b", buf, sizeof(buf)), "abc\\x1b");
	assert_string_equal(esc("abcd\x1bx", buf, sizeof(buf)), "abcd\\x1bx");
	assert_string_equal(esc("abcdef\x1b", buf, sizeof(buf)), "abcdef...");
	assert_string_equal(esc("abcdefghi", buf, sizeof(buf)), "abcdefghi");
	assert_string_equal(esc("abcdefghij", buf, sizeof(buf)), "abcdef...");
	assert_string_equal(esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, sizeof(buf)),
			    "\xc3\xa9\xc3\xa9\xc3\xa9...");
	/* By max: at most that many input bytes. */
	assert_string_equal(esc_n(buf, sizeof(buf), "abcdef", 3, 0), "abc...");
	assert_string_equal(esc_n(buf, sizeof(buf), "abc", 3, 0), "abc");
}

static void test_keep_backslash_leaves_escaped_text_alone(void **state)
{
	char buf[64];

	assert_string_equal(esc_n(buf, sizeof(buf), EVIL_SHOWN, SIZE_MAX, ESC_KEEP_BACKSLASH),
			    EVIL_SHOWN);
	assert_string_equal(esc_n(buf, sizeof(buf), "\\" EVIL, SIZE_MAX, ESC_KEEP_BACKSLASH),
			    "\\" EVIL_SHOWN);
}

/* The reason is escaped where it is set, whatever the caller passed. */
static void test_reason_is_escaped_once(void **state)
{
	char q[64];

	reason_clear();
	reason_set(-EINVAL, "raw '%s'", EVIL "\n");
	assert_string_equal(reason_get(), "raw '" EVIL_SHOWN "\\x0a'");
	/* An argument the caller escaped is not escaped again. */
	reason_clear();
	reason_set(-EINVAL, "quoted '%s'", str_quote(q, sizeof(q), EVIL, 32));
	assert_string_equal(reason_get(), "quoted '" EVIL_SHOWN "'");
	reason_clear();
}

/* Log lines to stderr: escaped in the one place that formats them. */
static void test_log_line_is_escaped(void **state)
{
	char path[] = "/tmp/vh-escape-XXXXXX", text[256];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	log_setup(LOG_TO_STDERR, LOG_INFO);
	log_err("VM '%s' failed", EVIL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	text[n] = '\0';
	assert_string_equal(text, "vfio-handoff: error: VM '" EVIL_SHOWN "' failed\n");
}

/* ---- through the programs, against a fixture root ---- */

struct run {
	int status;
	char out[8192];
	char err[8192];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	assert_true(fd >= 0);
	len = read(fd, buf, n - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
}

/* prog --root ROOT args..., stdout and stderr to files, within 20 s. */
static void run(const char *prog, const char *const args[], struct run *r)
{
	const char *argv[16] = { prog, "--root", fx_root() };
	char out[4096], err[4096];
	long long deadline = mono_ms() + 20000;
	int backoff = 1;
	size_t n = 3;
	pid_t pid, w;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/.out", fx_root());
	snprintf(err, sizeof(err), "%s/.err", fx_root());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0",
				 NULL };
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e2 = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || o < 0 || e2 < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e2, 2) < 0)
			_exit(126);
		execve(prog, (char **)argv, envp);
		_exit(127);
	}
	while ((w = waitpid(pid, &r->status, WNOHANG)) == 0) {
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("%s still running after 20 s", prog);
		}
		poll(NULL, 0, backoff);
		backoff = backoff < 50 ? backoff * 2 : 50;
	}
	assert_int_equal(w, pid);
	assert_true(WIFEXITED(r->status));
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

/* No byte below 0x20 but the newline, no DEL, no 0xff: nothing a terminal acts on. */
static void assert_inert(const char *s)
{
	for (; *s; s++)
		if ((*s != '\n' && (unsigned char)*s < 0x20) || *s == 0x7f || *s == '\xff')
			fail_msg("raw byte 0x%02x in the output", (unsigned char)*s);
}

static void test_release_of_a_hostile_name_prints_it_escaped(void **state)
{
	struct run r;

	fx_topology1();
	run(CLI, (const char *const[]){ "release", EVIL, NULL }, &r);
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.err, "vfio-handoff: invalid VM name '" EVIL_SHOWN "'\n");
	assert_inert(r.out);
	run(CLI, (const char *const[]){ "recover", "--", EVIL, NULL }, &r);
	assert_string_equal(r.err, "vfio-handoff: invalid VM name '" EVIL_SHOWN "'\n");
}

static void test_status_shows_a_hostile_journal_name_escaped(void **state)
{
	struct run r;

	fx_topology1();
	fx_write("run/vfio-handoff/" EVIL ".journal", "garbage\n");
	assert_int_equal(chmod(fx_path("run/vfio-handoff"), 0700), 0);
	assert_int_equal(chmod(fx_path("run/vfio-handoff/" EVIL ".journal"), 0600), 0);
	run(CLI, (const char *const[]){ "status", NULL }, &r);
	assert_non_null(strstr(r.out, "VM " EVIL_SHOWN ": journal unreadable"));
	assert_inert(r.out);
	assert_inert(r.err);
}

/* check's group line: a mount point (from /proc/self/mounts) on a device of the group. */
static void test_check_group_line_escapes_what_the_host_reports(void **state)
{
	struct run r;

	fx_topology1();
	fx_nvme(TBAD_NVME, T1_GROUP, 0, 2, "/mnt/" EVIL);
	fx_write("etc/vfio-handoff/vm.d/win10.conf", "");
	assert_int_equal(chmod(fx_path("etc/vfio-handoff/vm.d/win10.conf"), 0644), 0);
	run(CLI,
	    (const char *const[]){ "check", "win10", "--xml", "config/win10-gpu-audio.xml", NULL },
	    &r);
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_non_null(strstr(r.out, "FAIL   groups viable: refusing to hand over " TBAD_NVME));
	assert_non_null(strstr(r.out, "mounted on /mnt/" EVIL_SHOWN "\n"));
	assert_inert(r.out);
	assert_inert(r.err);
}

/* groups: the driver name is a sysfs link's name. */
static void test_groups_escapes_a_driver_name(void **state)
{
	struct run r;

	fx_topology1();
	fx_link("sys/devices/pci0000:00/" T1_GPU "/driver", "../../../bus/pci/drivers/" EVIL);
	run(CLI, (const char *const[]){ "groups", NULL }, &r);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.out, "driver: " EVIL_SHOWN));
	assert_inert(r.out);
}

static void test_hook_refusal_of_an_option_is_escaped(void **state)
{
	struct run r;

	fx_topology1();
	run(HOOK, (const char *const[]){ EVIL, "win10", "prepare", "begin", "-", NULL }, &r);
	assert_int_equal(WEXITSTATUS(r.status), 2);
	assert_non_null(strstr(r.err, "'" EVIL_SHOWN "' is not an option of the hook"));
	assert_inert(r.err);
	assert_string_equal(r.out, "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cmocka_setup, fx_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_passes_unchanged),
		cmocka_unit_test(test_control_bytes_del_and_backslash_are_escaped),
		cmocka_unit_test(test_well_formed_utf8_passes),
		cmocka_unit_test(test_invalid_utf8_is_escaped_byte_by_byte),
		cmocka_unit_test(test_c1_controls_and_bidi_overrides_are_escaped),
		cmocka_unit_test(test_cut_never_splits_an_escape_or_a_character),
		cmocka_unit_test(test_keep_backslash_leaves_escaped_text_alone),
		cmocka_unit_test(test_reason_is_escaped_once),
		cmocka_unit_test(test_log_line_is_escaped),
		T(test_release_of_a_hostile_name_prints_it_escaped),
		T(test_status_shows_a_hostile_journal_name_escaped),
		T(test_check_group_line_escapes_what_the_host_reports),
		T(test_groups_escapes_a_driver_name),
		T(test_hook_refusal_of_an_option_is_escaped),
	};

	if (access(HOOK, X_OK) != 0 || access(CLI, X_OK) != 0) {
		fprintf(stderr, "%s or %s is not built (run make first)\n", HOOK, CLI);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
