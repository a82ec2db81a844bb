/* A linear pass over an untrusted XML document that refuses, before libxml2 sees it, what
 * would make libxml2's parse slow: too many attributes on an element (libxml2 checks each
 * against every earlier one), too many attributes or nodes in all. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/util.h"
#include "input/xmlscan.h"

/* A character outside ASCII: never one of the characters the scan looks for. */
#define OTHER 0x80

struct scan {
	const unsigned char *b;
	size_t len;
	unsigned unit; /* bytes per character: 1 (UTF-8 and the like), 2 (UTF-16), 4 (UCS-4) */
	bool be;
	int line;
};

/* The character at byte offset i: its ASCII value, OTHER, or -1 past the end. */
static int ch(const struct scan *s, size_t i)
{
	unsigned v = 0;

	if (i > s->len || s->len - i < s->unit)
		return -1;
	for (unsigned k = 0; k < s->unit; k++)
		v = s->be ? (v << 8) | s->b[i + k] : v | (unsigned)s->b[i + k] << (8 * k);
	return v < 0x80 ? (int)v : OTHER;
}

static bool at(const struct scan *s, size_t i, const char *word)
{
	for (; *word; word++, i += s->unit)
		if (ch(s, i) != *word)
			return false;
	return true;
}

/* The offset just past the next `end` from i (or the end of the input), counting lines. */
static size_t skip_past(struct scan *s, size_t i, const char *end)
{
	int c;

	while ((c = ch(s, i)) >= 0) {
		if (at(s, i, end))
			return i + strlen(end) * s->unit;
		if (c == '\n')
			s->line++;
		i += s->unit;
	}
	return s->len;
}

/* How libxml2 will read the bytes (its autodetection of the first four bytes). */
static int detect(struct scan *s)
{
	const unsigned char *b = s->b;
	size_t skip = 0;

	s->unit = 1;
	s->be = false;
	if (s->len >= 4) {
		if (!memcmp(b, "\0\0\0<", 4))
			s->unit = 4, s->be = true;
		else if (!memcmp(b, "<\0\0\0", 4))
			s->unit = 4;
		else if (!memcmp(b, "\0<\0?", 4))
			s->unit = 2, s->be = true;
		else if (!memcmp(b, "<\0?\0", 4))
			s->unit = 2;
		else if (!memcmp(b, "\x4c\x6f\xa7\x94", 4))
			return -1; /* EBCDIC */
	}
	if (s->len >= 2 && b[0] == 0xfe && b[1] == 0xff)
		s->unit = 2, s->be = true, skip = 2;
	else if (s->len >= 2 && b[0] == 0xff && b[1] == 0xfe)
		s->unit = 2, skip = 2;
	else if (s->len >= 3 && !memcmp(b, "\xef\xbb\xbf", 3))
		skip = 3;
	return (int)skip;
}

/* Encodings in which the scan sees every '<', quote and '>' that libxml2 will see. */
static bool encoding_ok(const char *enc, unsigned unit)
{
	static const char *const narrow[] = {"UTF-8", "UTF8", "US-ASCII", "ASCII", "LATIN1"};
	static const char *const wide[] = {"UTF-16", "UTF16", "UTF-16LE", "UTF-16BE"};

	if (unit == 4)
		return strcasecmp(enc, "ISO-10646-UCS-4") == 0 || strcasecmp(enc, "UCS-4") == 0;
	if (unit == 2) {
		for (size_t i = 0; i < ARRAY_SIZE(wide); i++)
			if (strcasecmp(enc, wide[i]) == 0)
				return true;
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(narrow); i++)
		if (strcasecmp(enc, narrow[i]) == 0)
			return true;
	/* Every ISO-8859 part is ASCII with one byte per character. */
	return strncasecmp(enc, "ISO-8859-", 9) == 0 || strncasecmp(enc, "ISO_8859-", 9) == 0;
}

/* The encoding named by an XML declaration at i (empty when none), ASCII characters only. */
static void declared_encoding(const struct scan *s, size_t i, char *enc, size_t n)
{
	size_t o = 0;
	int q, c;

	enc[0] = '\0';
	if (!at(s, i, "<?xml"))
		return;
	for (; (c = ch(s, i)) >= 0 && !at(s, i, "?>"); i += s->unit)
		if (at(s, i, "encoding"))
			break;
	if (c < 0 || !at(s, i, "encoding"))
		return;
	for (i += 8 * s->unit;
	     (c = ch(s, i)) == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '='; i += s->unit)
		;
	q = c;
	if (q != '"' && q != '\'')
		return;
	for (i += s->unit; (c = ch(s, i)) >= 0 && c != q && o + 1 < n; i += s->unit)
		enc[o++] = c == OTHER ? '?' : (char)c;
	enc[o] = '\0';
}

int xmlscan_check(const char *buf, size_t len, const char *what)
{
	struct scan s = {.b = (const unsigned char *)buf, .len = len, .line = 1};
	size_t nodes = 0, all_attrs = 0, i;
	char enc[64], q[64 * 4 + 8];
	int c, skip;

	skip = detect(&s);
	if (skip < 0)
		return reason_set(-EINVAL, "%s:1: EBCDIC refused: a domain XML is UTF-8", what);
	i = (size_t)skip;
	declared_encoding(&s, i, enc, sizeof(enc));
	if (enc[0] && !encoding_ok(enc, s.unit))
		return reason_set(-EINVAL, "%s:1: encoding '%s' refused: a domain XML is UTF-8",
				  what, str_quote(q, sizeof(q), enc, 32));

	while ((c = ch(&s, i)) >= 0) {
		char name[65];
		size_t attrs = 0, n = 0;
		bool in_name = true;
		int line = s.line;

		if (c != '<') {
			s.line += c == '\n';
			i += s.unit;
			continue;
		}
		i += s.unit;
		if (at(&s, i, "/")) {
			i = skip_past(&s, i, ">");
			continue;
		}
		if (++nodes > XMLSCAN_MAX_NODES)
			return reason_set(-EINVAL, "%s:%d: domain XML has more than %d nodes", what,
					  line, XMLSCAN_MAX_NODES);
		if (at(&s, i, "?")) {
			i = skip_past(&s, i, "?>");
			continue;
		}
		if (at(&s, i, "!--")) {
			i = skip_past(&s, i + 3 * s.unit, "-->");
			continue;
		}
		if (at(&s, i, "![CDATA[")) {
			i = skip_past(&s, i, "]]>");
			continue;
		}
		if (at(&s, i, "!")) {
			/* A DOCTYPE: libxml2 stops there (xmlsafe.c). */
			i = skip_past(&s, i, ">");
			continue;
		}
		/* A start tag: one quoted value per attribute, whatever the spacing. */
		while ((c = ch(&s, i)) >= 0 && c != '>' && c != '<') {
			if (c == '"' || c == '\'') {
				if (++attrs > XMLSCAN_MAX_ATTRS) {
					name[n] = '\0';
					return reason_set(-EINVAL,
							  "%s:%d: element <%s> has more than %d "
							  "attributes",
							  what, line,
							  str_quote(q, sizeof(q), name, 32),
							  XMLSCAN_MAX_ATTRS);
				}
				if (++all_attrs > XMLSCAN_MAX_ALL_ATTRS)
					return reason_set(-EINVAL,
							  "%s:%d: domain XML has more than %d "
							  "attributes",
							  what, line, XMLSCAN_MAX_ALL_ATTRS);
				i = skip_past(&s, i + s.unit, c == '"' ? "\"" : "'");
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/')
				in_name = false;
			else if (in_name && n + 1 < sizeof(name))
				name[n++] = c == OTHER ? '?' : (char)c;
			s.line += c == '\n';
			i += s.unit;
		}
	}
	return 0;
}
