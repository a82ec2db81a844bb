/* PCI addresses: parse and format "dddd:bb:dd.f". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/bdf.h"

static int parse_hex(const char *s, size_t len, unsigned max, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v * 16 + d;
		if (v > max)
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

int bdf_parse(const char *s, struct bdf *ret)
{
	unsigned dom = 0, bus, dev, fn;
	const char *c1, *c2, *dot;

	if (!s)
		return -EINVAL;
	c1 = strchr(s, ':');
	if (!c1)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		if (parse_hex(s, c1 - s, 0xffff, &dom) < 0)
			return -EINVAL;
		s = c1 + 1;
		c1 = c2;
	}
	dot = strchr(c1 + 1, '.');
	if (!dot || strchr(dot + 1, '.') || strchr(dot + 1, ':'))
		return -EINVAL;
	if (parse_hex(s, c1 - s, 0xff, &bus) < 0 ||
	    parse_hex(c1 + 1, dot - c1 - 1, 0x1f, &dev) < 0 ||
	    parse_hex(dot + 1, strlen(dot + 1), 7, &fn) < 0)
		return -EINVAL;
	ret->domain = dom;
	ret->bus = bus;
	ret->dev = dev;
	ret->fn = fn;
	return 0;
}

char *bdf_fmt(const struct bdf *b, char buf[static BDF_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned v[] = {b->domain >> 12, b->domain >> 8, b->domain >> 4, b->domain, b->bus >> 4,
			b->bus,		 b->dev >> 4,	 b->dev,	 b->fn};
	char *o = buf;

	/* By hand: the fields are bounded, and this needs no truncation checks. */
	for (int i = 0; i < 9; i++) {
		*o++ = hex[v[i] & 0xf];
		if (i == 3 || i == 5)
			*o++ = ':';
		else if (i == 7)
			*o++ = '.';
	}
	*o = '\0';
	return buf;
}

bool bdf_equal(const struct bdf *a, const struct bdf *b)
{
	return bdf_cmp(a, b) == 0;
}

int bdf_cmp(const struct bdf *a, const struct bdf *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->fn != b->fn)
		return a->fn < b->fn ? -1 : 1;
	return 0;
}
