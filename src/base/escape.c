/* The one escaping rule for untrusted text shown to a person or written to the log. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/escape.h"

/* Length of the well-formed UTF-8 sequence at s (at most left bytes) of a character that
 * may be shown as it is; 0 when the bytes must be escaped. */
static size_t utf8_shown(const unsigned char *s, size_t left)
{
	unsigned c = s[0], min;
	size_t n;

	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF; C1 controls (a terminal may act on
	 * them); line and paragraph separators; the bidirectional marks, embeddings,
	 * overrides and isolates, which reorder the text around them. */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c <= 0x9f || c == 0x2028 ||
	    c == 0x2029 || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069))
		return 0;
	return n;
}

/* How many bytes the character at u[i] takes shown (*adv: how many it takes in u). */
static size_t shown_len(const unsigned char *u, size_t i, size_t len, unsigned flags, size_t *adv)
{
	unsigned char c = u[i];
	size_t k = c >= 0x80 ? utf8_shown(u + i, len - i) : 0;

	*adv = k ? k : 1;
	if (k)
		return k;
	return c < 0x20 || c == 0x7f || c >= 0x80 || (c == '\\' && !(flags & ESC_KEEP_BACKSLASH))
		   ? 4
		   : 1;
}

const char *esc_n(char *buf, size_t n, const char *s, size_t max, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strnlen(s, max), o = 0, i = 0, total = 0, adv;
	bool cut = s[len] != '\0';

	if (n == 0)
		return buf;
	for (i = 0; i < len && !cut; i += adv)
		total += shown_len(u, i, len, flags, &adv);
	/* When the whole does not fit, room for "..." is kept back. */
	if (cut || total + 1 > n)
		cut = true;
	for (i = 0; i < len; i += adv) {
		size_t need = shown_len(u, i, len, flags, &adv);

		if (o + need + (cut ? 4 : 1) > n)
			break;
		if (need == adv)
			memcpy(buf + o, u + i, need);
		else
			snprintf(buf + o, 5, "\\x%02x", u[i]);
		o += need;
	}
	if (cut && o + 4 <= n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
