/* PCI addresses (domain:bus:device.function) as a small value type. */
#ifndef VH_BDF_H
#define VH_BDF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct bdf {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev; /* 0..31 */
	uint8_t fn;  /* 0..7 */
};

/* "0000:01:00.0" plus NUL */
#define BDF_STRLEN 13
#define BDF_FMT "%04x:%02x:%02x.%x"
#define BDF_ARGS(b) (unsigned)(b).domain, (unsigned)(b).bus, (unsigned)(b).dev, (unsigned)(b).fn

/* Parses "0000:01:00.0" or "01:00.0" (domain 0). Returns 0 or -EINVAL. */
int bdf_parse(const char *s, struct bdf *ret);
/* Writes the canonical form into buf (at least BDF_STRLEN bytes); returns buf. */
char *bdf_fmt(const struct bdf *b, char buf[static BDF_STRLEN]);
bool bdf_equal(const struct bdf *a, const struct bdf *b);
int bdf_cmp(const struct bdf *a, const struct bdf *b);

#endif
