/* Small helpers: cleanup attributes, bounded string copies, monotonic time. */
#ifndef VH_UTIL_H
#define VH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))

/* Copies src into dst (size n), NUL-terminated. -ENAMETOOLONG if truncated. */
int strlcpy_chk(char *dst, const char *src, size_t n);
/* snprintf that returns 0 or -ENAMETOOLONG on truncation. */
int snprintf_chk(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Removes trailing whitespace in place. */
char *strip_trailing(char *s);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
static inline bool ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
/* Copies untrusted text s into buf for a message, escaped by the one rule (esc_n in
 * base/escape.h), at most max input bytes ("..." when cut), so a value can neither forge a
 * log line nor bloat a reason. Returns buf. */
const char *str_quote(char *buf, size_t n, const char *s, size_t max);

int64_t now_ms(void); /* CLOCK_MONOTONIC */

/*
 * Polls cond(data) until it returns non-zero or deadline (timeout_ms from now) passes.
 * Back-off grows from 1 ms to 50 ms between checks: a wait on an observable condition,
 * never a fixed delay. Returns 0 when the condition held, -ETIMEDOUT otherwise, or the
 * negative value cond returned.
 */
int wait_until(int (*cond)(void *data), void *data, int timeout_ms);

#endif
