/* Unit tests of the configuration files: every key and value, the file checks a root-run
 * program needs, VM names, and the global/per-VM layering, on a temporary root. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "input/config.h"

#define assert_reason_has(s)                                                           \
	do {                                                                           \
		if (!strstr(reason_get(), (s)))                                        \
			fail_msg("reason \"%s\" lacks \"%s\"", reason_get(), (s));     \
	} while (0)

/* malloc for tests: cmocka's assertions do not tell the compiler they stop the test. */
static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

static char root[64];
static char conf_path[256];	/* the file apply_text writes */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_root(void **state)
{
	char d[128];

	strcpy(root, "/tmp/vh-config-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(d, sizeof(d), "%s/etc", root);
	if (mkdir(d, 0755) < 0)
		return -1;
	snprintf(d, sizeof(d), "%s/etc/vfio-handoff", root);
	if (mkdir(d, 0755) < 0)
		return -1;
	snprintf(d, sizeof(d), "%s/etc/vfio-handoff/vm.d", root);
	if (mkdir(d, 0755) < 0)
		return -1;
	if (root_set(root) < 0)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/t.conf", root);
	/* Files made by this process are owned by its euid: as root, the real rule. */
	config_set_required_owner((unsigned)geteuid());
	reason_clear();
	return 0;
}

static int teardown_root(void **state)
{
	root_set("/");
	config_set_required_owner(0);
	return nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to root + rel with mode (umask aside); returns the full path. */
static const char *put(const char *rel, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static int apply_text(const char *text, struct vm_config *cfg)
{
	put("/t.conf", text, 0644);
	config_defaults(cfg);
	reason_clear();
	return config_apply_file(conf_path, cfg);
}

static void assert_reason_at(int line, const char *rest)
{
	char want[2048];

	snprintf(want, sizeof(want), "%s:%d: %s", conf_path, line, rest);
	assert_string_equal(reason_get(), want);
}

static void test_defaults(void **state)
{
	struct vm_config c;

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.devices, CFG_DEVICES_HOSTDEVS);
	assert_int_equal(c.n_devices, 0);
	assert_int_equal(c.group, CFG_GROUP_WHOLE);
	assert_int_equal(c.host_display, CFG_AUTO);
	assert_string_equal(c.display_manager, "display-manager.service");
	assert_int_equal(c.unload, CFG_UNLOAD_AUTO);
	assert_int_equal(c.n_unload, 0);
	assert_int_equal(c.holders, CFG_HOLDERS_WAIT);
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(c.kill_grace_ms, 2000);
	assert_string_equal(c.vfio_options, "");
	assert_false(c.vfio_options_set);
	assert_int_equal(c.n_helper_units, 0);
}

static void test_every_key_good(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("[vfio-handoff]\n"
				    "devices = 0000:01:00.0, 01:00.1 0000:0a:1f.7\n"
				    "group = strict\n"
				    "host-display = yes\n"
				    "display-manager = gdm.service\n"
				    "unload-modules = nvidia_drm, nvidia_modeset nvidia-uvm nvidia\n"
				    "holders = kill\n"
				    "timeout = 2.5\n"
				    "kill-grace = 0.25\n"
				    "vfio-pci-options = disable_vga=1   disable_idle_d3=1\n"
				    "stop-units = nvidia-persistenced.service,getty@tty1.service "
				    "sddm.socket graphical.target session-2.scope\n",
				    &c), 0);
	assert_string_equal(reason_get(), "");
	assert_int_equal(c.devices, CFG_DEVICES_LIST);
	assert_int_equal(c.n_devices, 3);
	assert_int_equal(c.device_list[0].bus, 1);
	assert_int_equal(c.device_list[1].fn, 1);
	assert_int_equal(c.device_list[2].bus, 0x0a);
	assert_int_equal(c.device_list[2].dev, 0x1f);
	assert_int_equal(c.device_list[2].fn, 7);
	assert_int_equal(c.group, CFG_GROUP_STRICT);
	assert_int_equal(c.host_display, CFG_YES);
	assert_string_equal(c.display_manager, "gdm.service");
	assert_int_equal(c.unload, CFG_UNLOAD_LIST);
	assert_int_equal(c.n_unload, 4);
	assert_string_equal(c.unload_list[0], "nvidia_drm");
	assert_string_equal(c.unload_list[2], "nvidia-uvm");
	assert_string_equal(c.unload_list[3], "nvidia");
	assert_int_equal(c.holders, CFG_HOLDERS_KILL);
	assert_int_equal(c.timeout_ms, 2500);
	assert_int_equal(c.kill_grace_ms, 250);
	assert_string_equal(c.vfio_options, "disable_vga=1 disable_idle_d3=1");
	assert_true(c.vfio_options_set);
	assert_int_equal(c.n_helper_units, 5);
	assert_string_equal(c.helper_units[0], "nvidia-persistenced.service");
	assert_string_equal(c.helper_units[1], "getty@tty1.service");
	assert_string_equal(c.helper_units[4], "session-2.scope");
}

static void test_other_good_words(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("devices = hostdevs\ngroup = whole\nhost-display = no\n"
				    "display-manager = none\nunload-modules = none\n"
				    "holders = wait\nvfio-pci-options = none\nstop-units = none\n",
				    &c), 0);
	assert_int_equal(c.devices, CFG_DEVICES_HOSTDEVS);
	assert_int_equal(c.group, CFG_GROUP_WHOLE);
	assert_int_equal(c.host_display, CFG_NO);
	assert_string_equal(c.display_manager, "");
	assert_int_equal(c.unload, CFG_UNLOAD_NONE);
	assert_int_equal(c.holders, CFG_HOLDERS_WAIT);
	/* "none" is an explicit choice: no options, not the host-display default. */
	assert_string_equal(c.vfio_options, "");
	assert_true(c.vfio_options_set);
	assert_int_equal(c.n_helper_units, 0);

	assert_int_equal(apply_text("host-display = auto\nunload-modules = auto\n", &c), 0);
	assert_int_equal(c.host_display, CFG_AUTO);
	assert_int_equal(c.unload, CFG_UNLOAD_AUTO);
}

static void test_seconds_values(void **state)
{
	static const struct {
		const char *text;
		int ms;
	} ok[] = {
		{ "timeout = 600\n", 600000 },	{ "timeout = 0.001\n", 1 },
		{ "timeout = 10.25\n", 10250 }, { "timeout = 007\n", 7000 },
		{ "kill-grace = 0\n", 0 },	{ "kill-grace = 600.000\n", 600000 },
	};
	struct vm_config c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (apply_text(ok[i].text, &c) != 0)
			fail_msg("%s: %s", ok[i].text, reason_get());
		assert_int_equal(ok[i].text[0] == 't' ? c.timeout_ms : c.kill_grace_ms, ok[i].ms);
	}
}

static void test_bad_values_name_file_line_and_key(void **state)
{
	static const struct {
		const char *line, *reason;
	} cases[] = {
		{ "devices = 01:00", "devices: '01:00' is neither 'hostdevs' nor a PCI address "
				     "(0000:01:00.0)" },
		{ "devices = 01:00.0 0000:01:00.0", "devices: 0000:01:00.0 listed twice" },
		{ "devices = 01:20.0", "devices: '01:20.0' is neither 'hostdevs' nor a PCI "
				       "address (0000:01:00.0)" },
		{ "devices =", "devices: no value" },
		{ "group = partial", "group: 'partial' is not whole or strict" },
		{ "host-display = maybe", "host-display: 'maybe' is not auto, yes or no" },
		{ "host-display = YES", "host-display: 'YES' is not auto, yes or no" },
		{ "display-manager = gdm", "display-manager: 'gdm' is not 'none' or a unit name "
					   "ending in .service, .socket, .target or .scope" },
		{ "display-manager = -gdm.service",
		  "display-manager: '-gdm.service' is not 'none' or a unit name ending in "
		  ".service, .socket, .target or .scope" },
		{ "display-manager = ../gdm.service",
		  "display-manager: '../gdm.service' is not 'none' or a unit name ending in "
		  ".service, .socket, .target or .scope" },
		{ "display-manager = .service",
		  "display-manager: '.service' is not 'none' or a unit name ending in "
		  ".service, .socket, .target or .scope" },
		{ "display-manager = gdm.service sddm.service",
		  "display-manager: 'gdm.service sddm.service' is not 'none' or a unit name "
		  "ending in .service, .socket, .target or .scope" },
		{ "unload-modules = nvidia;rm", "unload-modules: 'nvidia;rm' is not 'auto', "
						"'none' or a module name" },
		{ "unload-modules = -r", "unload-modules: '-r' is not 'auto', 'none' or a module "
					 "name" },
		{ "unload-modules = nvidia nvidia", "unload-modules: module nvidia listed twice" },
		{ "unload-modules = a b c d e f g h i j k l m n o p q",
		  "unload-modules: more than 16 modules" },
		{ "holders = term", "holders: 'term' is not wait or kill" },
		{ "timeout = 0", "timeout: '0' out of range (0.001..600 seconds)" },
		{ "timeout = 601", "timeout: '601' out of range (0.001..600 seconds)" },
		{ "timeout = 600.001", "timeout: '600.001' out of range (0.001..600 seconds)" },
		{ "timeout = 99999999999999999999",
		  "timeout: '99999999999999999999' out of range (0.001..600 seconds)" },
		{ "timeout = -1", "timeout: '-1' is not a number of seconds (10, 2.5; at most 3 "
				  "decimals)" },
		{ "timeout = 1e3", "timeout: '1e3' is not a number of seconds (10, 2.5; at most "
				   "3 decimals)" },
		{ "timeout = 2.5555", "timeout: '2.5555' is not a number of seconds (10, 2.5; at "
				      "most 3 decimals)" },
		{ "timeout = 2.", "timeout: '2.' is not a number of seconds (10, 2.5; at most 3 "
				  "decimals)" },
		{ "timeout = .5", "timeout: '.5' is not a number of seconds (10, 2.5; at most 3 "
				  "decimals)" },
		{ "timeout = 10s", "timeout: '10s' is not a number of seconds (10, 2.5; at most "
				   "3 decimals)" },
		{ "kill-grace = 601", "kill-grace: '601' out of range (0..600 seconds)" },
		{ "kill-grace = soon", "kill-grace: 'soon' is not a number of seconds (10, 2.5; "
				       "at most 3 decimals)" },
		{ "vfio-pci-options = ids=10de:1b80,10de:10f0",
		  "vfio-pci-options: ids= refused: it makes vfio-pci take every device with "
		  "those IDs (both of two identical GPUs); devices are bound by address" },
		{ "vfio-pci-options = Disable_VGA=1",
		  "vfio-pci-options: 'Disable_VGA=1' is not an option=value pair" },
		{ "vfio-pci-options = disable_vga",
		  "vfio-pci-options: 'disable_vga' is not an option=value pair" },
		{ "vfio-pci-options = disable_vga=",
		  "vfio-pci-options: 'disable_vga=' is not an option=value pair" },
		{ "vfio-pci-options = disable_vga=1;reboot",
		  "vfio-pci-options: 'disable_vga=1;reboot' is not an option=value pair" },
		{ "vfio-pci-options = disable_vga=1 disable_vga=0",
		  "vfio-pci-options: option disable_vga given twice" },
		{ "stop-units = nvidia-persistenced",
		  "stop-units: 'nvidia-persistenced' is not 'none' or a unit name ending in "
		  ".service, .socket, .target or .scope" },
		{ "stop-units = a.service b.service c.service d.service e.service f.service "
		  "g.service h.service i.service",
		  "stop-units: more than 8 units" },
		{ "stop-units = a.service a.service", "stop-units: unit a.service listed twice" },
	};
	char text[2048];
	struct vm_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[2048];
		int r;

		snprintf(text, sizeof(text), "# line 1\n[vfio-handoff]\n%s\n", cases[i].line);
		r = apply_text(text, &c);
		snprintf(want, sizeof(want), "%s:3: %s", conf_path, cases[i].reason);
		if (r != -EINVAL || strcmp(reason_get(), want) != 0)
			fail_msg("\"%s\": got %d \"%s\"\n  want \"%s\"", cases[i].line, r,
				 reason_get(), want);
	}
}

static void test_too_many_devices_refused(void **state)
{
	char text[1024] = "devices =";
	struct vm_config c;

	for (int i = 0; i <= CONFIG_MAX_DEVICES; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), " 01:%02x.%d", i / 8,
			 i % 8);
	strcat(text, "\n");
	assert_int_equal(apply_text(text, &c), -EINVAL);
	assert_reason_at(1, "devices: more than 32 devices");

	/* Exactly the maximum is fine. */
	*strrchr(text, ' ') = '\0';
	strcat(text, "\n");
	assert_int_equal(apply_text(text, &c), 0);
	assert_int_equal(c.n_devices, CONFIG_MAX_DEVICES);
}

static void test_unknown_key_names_file_and_line(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("# comment\n\ntimeout = 5\nfoo = bar\n", &c), -EINVAL);
	assert_reason_at(4, "unknown key 'foo'");

	/* Close misspellings are unknown too, and odd bytes are shown escaped. */
	assert_int_equal(apply_text("kill_grace = 1\n", &c), -EINVAL);
	assert_reason_at(1, "unknown key 'kill_grace'");
	assert_int_equal(apply_text("\x1b[2Jx = 1\n", &c), -EINVAL);
	assert_reason_at(1, "unknown key '\\x1b[2Jx'");
}

static void test_duplicate_key_refused(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("[vfio-handoff]\ntimeout = 5\ngroup = whole\n"
				    "\ntimeout = 6\n", &c), -EINVAL);
	assert_reason_at(5, "timeout given twice (first at line 2)");
}

static void test_syntax_errors_refused(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("timeout 5\n", &c), -EINVAL);
	assert_reason_at(1, "expected 'key = value', got 'timeout 5'");
	assert_int_equal(apply_text("\n[libvirt]\n", &c), -EINVAL);
	assert_reason_at(2, "unknown section '[libvirt]' (only [vfio-handoff])");
	assert_int_equal(apply_text("[vfio-handoff\n", &c), -EINVAL);
	assert_reason_at(1, "unknown section '[vfio-handoff' (only [vfio-handoff])");
	assert_int_equal(apply_text("= 5\n", &c), -EINVAL);
	assert_reason_at(1, "unknown key ''");
}

static void test_comments_blanks_and_layout_accepted(void **state)
{
	struct vm_config c;

	assert_int_equal(apply_text("# hash comment\n"
				    "; semicolon comment\n"
				    "   # indented comment\n"
				    "\n\t\n"
				    "[vfio-handoff]   # the only section\n"
				    "  timeout=3   # trailing comment\n"
				    "holders\t=\tkill\r\n"
				    "group = strict",	/* no final newline */
				    &c), 0);
	assert_int_equal(c.timeout_ms, 3000);
	assert_int_equal(c.holders, CFG_HOLDERS_KILL);
	assert_int_equal(c.group, CFG_GROUP_STRICT);

	/* An empty file is a valid file: the per-VM opt-in is often just that. */
	assert_int_equal(apply_text("", &c), 0);
	assert_int_equal(c.timeout_ms, 10000);
}

static void test_line_longer_than_1024_refused(void **state)
{
	char text[1200];
	struct vm_config c;

	text[0] = '#';
	memset(text + 1, 'x', 1023);
	strcpy(text + 1024, "\n");
	assert_int_equal(apply_text(text, &c), 0);	/* 1024 bytes exactly */

	strcpy(text, "timeout = 1\n#");
	memset(text + 13, 'x', 1024);
	strcpy(text + 13 + 1024, "\n");
	assert_int_equal(apply_text(text, &c), -EINVAL);
	assert_reason_at(2, "line longer than 1024 bytes");
}

static void test_nul_byte_and_huge_file_refused(void **state)
{
	struct vm_config c;
	char *big;
	int fd;

	fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "timeout = 1\ngroup = wh\0ole\n", 27), 27);
	close(fd);
	reason_clear();
	config_defaults(&c);
	assert_int_equal(config_apply_file(conf_path, &c), -EINVAL);
	assert_reason_at(2, "NUL byte");

	big = xmalloc(70 * 1024);
	memset(big, '\n', 70 * 1024 - 1);
	big[70 * 1024 - 1] = '\0';
	assert_int_equal(apply_text(big, &c), -EINVAL);
	free(big);
	{
		char want[1024];

		snprintf(want, sizeof(want), "%s: larger than 64 KiB", conf_path);
		assert_string_equal(reason_get(), want);
	}
}

static void test_error_leaves_cfg_unchanged(void **state)
{
	struct vm_config c;

	put("/t.conf", "timeout = 1\nholders = kill\ndevices = 01:00.0\nbogus = 1\n", 0644);
	config_defaults(&c);
	c.timeout_ms = 4321;
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EINVAL);
	assert_int_equal(c.timeout_ms, 4321);
	assert_int_equal(c.holders, CFG_HOLDERS_WAIT);
	assert_int_equal(c.devices, CFG_DEVICES_HOSTDEVS);
	assert_int_equal(c.n_devices, 0);
}

static void test_file_not_owned_by_root_refused(void **state)
{
	char want[1024];
	struct vm_config c;

	if (geteuid() != 0)
		skip();	/* chown needs root */
	put("/t.conf", "timeout = 1\n", 0644);
	assert_int_equal(chown(conf_path, 1000, 1000), 0);
	config_defaults(&c);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: not owned by root (owner uid 1000; "
		 "chown root: %s)", conf_path, conf_path);
	assert_string_equal(reason_get(), want);
	assert_int_equal(c.timeout_ms, 10000);
}

static void test_file_not_owned_by_required_uid_refused(void **state)
{
	char want[1024];
	struct vm_config c;

	put("/t.conf", "timeout = 1\n", 0644);
	config_set_required_owner((unsigned)geteuid() + 1);
	config_defaults(&c);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: not owned by uid %u (owner uid %u)",
		 conf_path, geteuid() + 1, geteuid());
	assert_string_equal(reason_get(), want);
}

static void test_group_or_world_writable_refused(void **state)
{
	static const mode_t modes[] = { 0664, 0646, 0666, 0620, 0602 };
	char want[1024];
	struct vm_config c;

	snprintf(want, sizeof(want), "%s: refused: writable by group or other (chmod go-w %s)",
		 conf_path, conf_path);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put("/t.conf", "timeout = 1\n", modes[i]);
		config_defaults(&c);
		reason_clear();
		assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
		assert_string_equal(reason_get(), want);
		assert_int_equal(c.timeout_ms, 10000);
	}
	/* Read-only for everyone, or private, is fine. */
	put("/t.conf", "timeout = 1\n", 0444);
	assert_int_equal(config_apply_file(conf_path, &c), 0);
	put("/t.conf", "timeout = 2\n", 0600);
	assert_int_equal(config_apply_file(conf_path, &c), 0);
	assert_int_equal(c.timeout_ms, 2000);
}

static void test_symlink_directory_and_fifo_refused(void **state)
{
	char target[256], want[1024];
	struct vm_config c;

	snprintf(target, sizeof(target), "%s", put("/real.conf", "timeout = 1\n", 0644));
	assert_int_equal(symlink(target, conf_path), 0);
	config_defaults(&c);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: is a symbolic link", conf_path);
	assert_string_equal(reason_get(), want);
	assert_int_equal(unlink(conf_path), 0);

	assert_int_equal(mkdir(conf_path, 0755), 0);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: not a regular file", conf_path);
	assert_string_equal(reason_get(), want);
	assert_int_equal(rmdir(conf_path), 0);

	/* Opening a FIFO with no writer would block: it must not. */
	assert_int_equal(mkfifo(conf_path, 0644), 0);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -EPERM);
	assert_string_equal(reason_get(), want);
	assert_int_equal(c.timeout_ms, 10000);
}

static void test_missing_file_is_enoent_without_reason(void **state)
{
	struct vm_config c;

	config_defaults(&c);
	reason_clear();
	assert_int_equal(config_apply_file(conf_path, &c), -ENOENT);
	assert_string_equal(reason_get(), "");
}

static void test_vm_names(void **state)
{
	static const char *const good[] = {
		"win10", "my-vm_1.2", "Windows 10 (GPU)", "a", "vm.conf", "x..y", "-dash",
		"\xce\xa9mega", "\xe6\xb5\x8b\xe8\xaf\x95",	/* UTF-8: Omega, two CJK */
	};
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "/", "../etc", "a\nb", "tab\there", "\x7f",
		"bell\a", "   ", "\xff", "\xc0\xaf",	/* overlong '/' */
		"\xc2\x85",				/* U+0085, a C1 control */
		"\xed\xa0\x80",				/* a UTF-16 surrogate */
		"\xe6\xb5",				/* truncated sequence */
	};
	char name[VM_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!name_vm_valid(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (name_vm_valid(bad[i]))
			fail_msg("bad name #%zu accepted", i);
	assert_false(name_vm_valid(NULL));

	memset(name, 'n', VM_NAME_MAX);
	name[VM_NAME_MAX] = '\0';
	assert_true(name_vm_valid(name));
	name[VM_NAME_MAX] = 'n';
	name[VM_NAME_MAX + 1] = '\0';
	assert_false(name_vm_valid(name));
}

static void test_opted_in_is_the_file_existing(void **state)
{
	char link[256];

	assert_false(config_vm_opted_in("win10"));
	put("/etc/vfio-handoff/vm.d/win10.conf", "", 0644);
	assert_true(config_vm_opted_in("win10"));
	assert_false(config_vm_opted_in("win1"));
	assert_false(config_vm_opted_in("linux"));

	/* No parsing and no checks on this path: a bad file still opts in, and
	 * config_load then refuses it with a reason. */
	put("/etc/vfio-handoff/vm.d/bad.conf", "nonsense\n", 0666);
	assert_true(config_vm_opted_in("bad"));

	/* So does a dangling symlink: the admin meant something, and load says what. */
	snprintf(link, sizeof(link), "%s/etc/vfio-handoff/vm.d/dangling.conf", root);
	assert_int_equal(symlink("/nonexistent/x.conf", link), 0);
	assert_true(config_vm_opted_in("dangling"));

	/* An invalid name is never opted in, even when it would reach a file. */
	put("/etc/vfio-handoff/vfio-handoff.conf", "", 0644);
	assert_false(config_vm_opted_in("../vfio-handoff"));
	assert_false(config_vm_opted_in(".hidden"));
	assert_false(config_vm_opted_in(""));
	assert_false(config_vm_opted_in(NULL));
}

static void test_load_without_files_gives_defaults(void **state)
{
	struct vm_config c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load("win10", &c), 0);
	assert_string_equal(c.display_manager, "display-manager.service");
	assert_int_equal(c.timeout_ms, 10000);
	assert_string_equal(reason_get(), "");
}

static void test_vm_file_overrides_global(void **state)
{
	struct vm_config c;

	put("/etc/vfio-handoff/vfio-handoff.conf",
	    "timeout = 20\nholders = kill\ndisplay-manager = sddm.service\n", 0644);
	assert_int_equal(config_load("win10", &c), 0);	/* not opted in: global only */
	assert_int_equal(c.timeout_ms, 20000);
	assert_int_equal(c.holders, CFG_HOLDERS_KILL);

	put("/etc/vfio-handoff/vm.d/win10.conf", "timeout = 5\ndisplay-manager = none\n", 0600);
	assert_int_equal(config_load("win10", &c), 1);
	assert_int_equal(c.timeout_ms, 5000);			/* VM file */
	assert_string_equal(c.display_manager, "");		/* VM file */
	assert_int_equal(c.holders, CFG_HOLDERS_KILL);		/* global */
	assert_int_equal(c.kill_grace_ms, 2000);		/* default */

	/* Without a global file the VM file still applies on top of the defaults. */
	put("/etc/vfio-handoff/vm.d/linux.conf", "group = strict\n", 0644);
	assert_int_equal(unlink(put("/etc/vfio-handoff/vfio-handoff.conf", "", 0644)), 0);
	assert_int_equal(config_load("linux", &c), 1);
	assert_int_equal(c.group, CFG_GROUP_STRICT);
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(c.holders, CFG_HOLDERS_WAIT);
}

static void test_load_errors_name_the_file(void **state)
{
	char want[1024];
	struct vm_config c = { .timeout_ms = 1 };
	const char *vm;

	put("/etc/vfio-handoff/vfio-handoff.conf", "\ntimeout = forever\n", 0644);
	put("/etc/vfio-handoff/vm.d/win10.conf", "", 0644);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EINVAL);
	snprintf(want, sizeof(want), "%s/etc/vfio-handoff/vfio-handoff.conf:2: timeout: "
		 "'forever' is not a number of seconds (10, 2.5; at most 3 decimals)", root);
	assert_string_equal(reason_get(), want);
	assert_int_equal(c.timeout_ms, 1);	/* untouched */

	put("/etc/vfio-handoff/vfio-handoff.conf", "timeout = 3\n", 0644);
	vm = put("/etc/vfio-handoff/vm.d/win10.conf", "timeout = 3\n", 0664);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: writable by group or other (chmod go-w %s)",
		 vm, vm);
	assert_string_equal(reason_get(), want);

	reason_clear();
	assert_int_equal(config_load("../vfio-handoff", &c), -EINVAL);
	assert_string_equal(reason_get(), "invalid VM name '../vfio-handoff'");
	reason_clear();
	assert_int_equal(config_load("a\nb", &c), -EINVAL);
	assert_string_equal(reason_get(), "invalid VM name 'a\\x0ab'");
	assert_int_equal(c.timeout_ms, 1);
}

/* The directory decides which files exist: one anybody could write lets them opt a VM
 * in or swap its file, whatever the file's own owner and mode. */
static void test_config_directories_are_checked_like_the_files(void **state)
{
	char dir[256], moved[256], want[1024];
	struct vm_config c;

	put("/etc/vfio-handoff/vm.d/win10.conf", "timeout = 3\n", 0644);
	snprintf(dir, sizeof(dir), "%s/etc/vfio-handoff/vm.d", root);
	assert_int_equal(chmod(dir, 0775), 0);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: writable by group or other (chmod go-w %s)",
		 dir, dir);
	assert_string_equal(reason_get(), want);
	assert_int_equal(chmod(dir, 0757), 0);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	assert_string_equal(reason_get(), want);

	assert_int_equal(chmod(dir, 0755), 0);
	config_set_required_owner((unsigned)geteuid() + 1);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	snprintf(want, sizeof(want), "%s/etc/vfio-handoff: refused: not owned by uid %u (owner "
		 "uid %u)", root, geteuid() + 1, geteuid());
	assert_string_equal(reason_get(), want);
	config_set_required_owner((unsigned)geteuid());

	/* A symlinked vm.d is not followed. */
	snprintf(moved, sizeof(moved), "%s/elsewhere", root);
	assert_int_equal(rename(dir, moved), 0);
	assert_int_equal(symlink(moved, dir), 0);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	snprintf(want, sizeof(want), "%s: refused: is a symbolic link", dir);
	assert_string_equal(reason_get(), want);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(rename(moved, dir), 0);

	/* The parent too: whoever can write it can replace vm.d. */
	snprintf(dir, sizeof(dir), "%s/etc/vfio-handoff", root);
	assert_int_equal(chmod(dir, 0775), 0);
	reason_clear();
	assert_int_equal(config_load("win10", &c), -EPERM);
	assert_non_null(strstr(reason_get(), "etc/vfio-handoff: refused: writable by group"));
	assert_int_equal(chmod(dir, 0755), 0);
	reason_clear();
	assert_int_equal(config_load("win10", &c), 1);
	assert_int_equal(c.timeout_ms, 3000);
}

/* The shipped examples, installed as they are, must load and change nothing: every key
 * in them is commented out. */
static void test_shipped_examples_load_as_defaults(void **state)
{
	char top[512], src[700], *p, *text;
	static const char *const files[][2] = {
		{ "config/vfio-handoff.conf", "/etc/vfio-handoff/vfio-handoff.conf" },
		{ "config/vm.d-example.conf", "/etc/vfio-handoff/vm.d/win10.conf" },
	};
	struct vm_config c, d;

	/* __FILE__ is tests/unit/test_config.c, relative to the top directory or absolute. */
	snprintf(top, sizeof(top), "%s", __FILE__);
	p = strstr(top, "tests/unit/test_config.c");
	assert_non_null(p);
	*p = '\0';
	for (size_t i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s%s", top, files[i][0]);
		if (access(src, R_OK) < 0)
			skip();	/* not run from the source tree */
	}
	text = xmalloc(64 * 1024);
	for (size_t i = 0; i < 2; i++) {
		FILE *f;
		size_t n;

		snprintf(src, sizeof(src), "%s%s", top, files[i][0]);
		f = fopen(src, "re");
		assert_non_null(f);
		n = fread(text, 1, 64 * 1024 - 1, f);
		fclose(f);
		text[n] = '\0';
		assert_true(n > 100);
		put(files[i][1], text, 0644);
	}
	free(text);
	reason_clear();
	if (config_load("win10", &c) != 1)
		fail_msg("%s", reason_get());
	config_defaults(&d);
	assert_int_equal(c.devices, d.devices);
	assert_int_equal(c.group, d.group);
	assert_int_equal(c.host_display, d.host_display);
	assert_string_equal(c.display_manager, d.display_manager);
	assert_int_equal(c.unload, d.unload);
	assert_int_equal(c.holders, d.holders);
	assert_int_equal(c.timeout_ms, d.timeout_ms);
	assert_int_equal(c.kill_grace_ms, d.kill_grace_ms);
	assert_int_equal(c.vfio_options_set, d.vfio_options_set);
	assert_int_equal(c.n_helper_units, d.n_helper_units);
}

/* The commented-out lines of the examples are real settings: uncommented, they load. */
static void test_shipped_examples_uncommented_load(void **state)
{
	char top[512], src[700], *p, *text, *o;
	struct vm_config c;
	FILE *f;
	size_t n;
	bool bol = true;

	snprintf(top, sizeof(top), "%s", __FILE__);
	p = strstr(top, "tests/unit/test_config.c");
	assert_non_null(p);
	*p = '\0';
	snprintf(src, sizeof(src), "%sconfig/vfio-handoff.conf", top);
	f = fopen(src, "re");
	if (!f)
		skip();
	text = xmalloc(64 * 1024);
	n = fread(text, 1, 64 * 1024 - 1, f);
	fclose(f);
	text[n] = '\0';
	/* "#key = value" lines (no space after '#') are the settings. */
	o = text;
	for (p = text; *p; p++) {
		if (bol && p[0] == '#' && p[1] >= 'a' && p[1] <= 'z') {
			bol = false;
			continue;
		}
		bol = *p == '\n';
		*o++ = *p;
	}
	*o = '\0';
	assert_non_null(strstr(text, "\nkill-grace = 2\n"));
	put("/etc/vfio-handoff/vfio-handoff.conf", text, 0644);
	free(text);
	reason_clear();
	if (config_load("win10", &c) != 0)
		fail_msg("%s", reason_get());
	assert_string_equal(c.vfio_options, "disable_vga=1 disable_idle_d3=1");
	assert_int_equal(c.timeout_ms, 10000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_every_key_good),
		T(test_other_good_words),
		T(test_seconds_values),
		T(test_bad_values_name_file_line_and_key),
		T(test_too_many_devices_refused),
		T(test_unknown_key_names_file_and_line),
		T(test_duplicate_key_refused),
		T(test_syntax_errors_refused),
		T(test_comments_blanks_and_layout_accepted),
		T(test_line_longer_than_1024_refused),
		T(test_nul_byte_and_huge_file_refused),
		T(test_error_leaves_cfg_unchanged),
		T(test_file_not_owned_by_root_refused),
		T(test_file_not_owned_by_required_uid_refused),
		T(test_group_or_world_writable_refused),
		T(test_symlink_directory_and_fifo_refused),
		T(test_missing_file_is_enoent_without_reason),
		T(test_vm_names),
		T(test_opted_in_is_the_file_existing),
		T(test_load_without_files_gives_defaults),
		T(test_vm_file_overrides_global),
		T(test_load_errors_name_the_file),
		T(test_config_directories_are_checked_like_the_files),
		T(test_shipped_examples_load_as_defaults),
		T(test_shipped_examples_uncommented_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
