/* Small helpers shared by every module. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "base/escape.h"
#include "base/util.h"

int strlcpy_chk(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n == 0)
		return -ENAMETOOLONG;
	if (len >= n) {
		memcpy(dst, src, n - 1);
		dst[n - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int snprintf_chk(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	return 0;
}

char *strip_trailing(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *str_quote(char *buf, size_t n, const char *s, size_t max)
{
	return esc_n(buf, n, s, max, 0);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wait_until(int (*cond)(void *data), void *data, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int backoff = 1;

	for (;;) {
		int r = cond(data);

		if (r != 0)
			return r > 0 ? 0 : r;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* Back off between checks of the condition; bounded by the deadline. */
		poll(NULL, 0, (int)(left < backoff ? left : backoff));
		if (backoff < 50)
			backoff *= 2;
	}
}
