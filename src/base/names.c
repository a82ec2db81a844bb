/* The names the program accepts, one rule each: VM names (they become file names), systemd
 * units (they become systemctl arguments), and the module, driver and device names that
 * become one component of a sysfs path. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/names.h"
#include "base/util.h"

/* Unit names fit display-manager's field (struct vm_config). */
#define UNIT_NAME_MAX 128

/* Decodes one UTF-8 sequence at s; returns its length, or 0 when malformed (overlong
 * forms, surrogates and values past U+10FFFF included). */
static size_t utf8_decode(const unsigned char *s, unsigned *ret)
{
	unsigned c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*ret = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*ret = c;
	return n;
}

/*
 * The name becomes part of a path (vm.d/<name>.conf, the journal), and shows up in logs.
 * libvirt allows UTF-8 names, so bytes past ASCII are fine when they are well-formed
 * UTF-8; control characters (C0, DEL, C1) and '/' are not, nor a leading '.' (".", ".."
 * and hidden files).
 */
bool name_vm_valid(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	bool visible = false;
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, VM_NAME_MAX + 1);
	if (len == 0 || len > VM_NAME_MAX || name[0] == '.')
		return false;
	while (*s) {
		unsigned c;
		size_t n = utf8_decode(s, &c);

		if (!n || c < 0x20 || c == '/' || (c >= 0x7f && c <= 0x9f))
			return false;
		if (c != ' ')
			visible = true;
		s += n;
	}
	return visible;
}

/* Letters, digits and the bytes of extra only. */
static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!ascii_alnum(*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* A systemd unit name. It ends up as an argument to systemctl, where a leading '-' would
 * read as an option, so it starts with a letter or digit. */
bool name_unit_valid(const char *s)
{
	static const char *const suffixes[] = {".service", ".socket", ".target", ".scope"};

	if (!s[0] || strnlen(s, UNIT_NAME_MAX) >= UNIT_NAME_MAX || !chars_in(s, "@._:-") ||
	    !ascii_alnum(s[0]))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (str_has_suffix(s, suffixes[i]))
			return true;
	return false;
}

/* A name that becomes one component of a sysfs path, or an argument: 1..max-1 bytes of
 * letters, digits and extra, starting with a letter, digit or '_' (so never ".", "..",
 * a hidden name or an option), and no '/'. */
static bool component_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strnlen(s, max);

	return n > 0 && n < max && (ascii_alnum(s[0]) || s[0] == '_') && chars_in(s, extra);
}

bool name_driver_valid(const char *s)
{
	return component_ok(s, NAME_MAX_LEN, "_.-");
}

bool name_module_valid(const char *s)
{
	return component_ok(s, NAME_MAX_LEN, "_-");
}

bool name_platform_valid(const char *s)
{
	return component_ok(s, NAME_MAX_LEN, "_.-");
}

bool name_vtcon_valid(const char *s)
{
	size_t n;

	if (!str_has_prefix(s, "vtcon"))
		return false;
	s += 5;
	n = strspn(s, "0123456789");
	return n >= 1 && n <= 3 && !s[n];
}

bool name_option_valid(const char *opt)
{
	const char *eq = strchr(opt, '=');

	if (!eq || eq == opt || !eq[1] || !chars_in(eq + 1, "_.,:-"))
		return false;
	for (const char *c = opt; c < eq; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}
