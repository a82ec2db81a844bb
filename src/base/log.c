/* Logging to syslog and stderr, and the one-line reason of a failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "base/escape.h"
#include "base/log.h"

static unsigned log_targets = LOG_TO_STDERR;
static int log_max_prio = LOG_INFO;
static bool syslog_open;
static char reason[1024];

void log_setup(unsigned targets, int max_prio)
{
	log_targets = targets;
	log_max_prio = max_prio;
	if ((targets & LOG_TO_SYSLOG) && !syslog_open) {
		openlog("vfio-handoff", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		syslog_open = true;
	}
}

void log_close(void)
{
	if (syslog_open)
		closelog();
	syslog_open = false;
}

/*
 * Every message is escaped here, where it leaves for the terminal and syslog, whatever its
 * arguments were: text from outside the program (names, paths, sysfs and journal contents)
 * can then never move the cursor, recolour a terminal or forge a log line. A backslash is
 * kept, so an argument a caller already escaped (str_quote, ESC) is not escaped twice.
 */
static void log_v(int prio, const char *fmt, va_list ap)
{
	char raw[2048], buf[2048];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	esc_n(buf, sizeof(buf), raw, sizeof(raw), ESC_KEEP_BACKSLASH);
	if ((log_targets & LOG_TO_SYSLOG) && (prio <= LOG_INFO || prio <= log_max_prio))
		syslog(prio, "%s", buf);
	if ((log_targets & LOG_TO_STDERR) && prio <= log_max_prio) {
		const char *tag = prio <= LOG_ERR	? "error: "
				  : prio == LOG_WARNING ? "warning: "
							: "";
		fprintf(stderr, "vfio-handoff: %s%s\n", tag, buf);
	}
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, fmt, ap);
	va_end(ap);
}

int reason_set(int r, const char *fmt, ...)
{
	char raw[sizeof(reason)];
	va_list ap;

	if (reason[0] != '\0')
		return r;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* One line, and nothing a terminal acts on: the reason goes to libvirt's error text
	 * and to the terminal of whoever ran the command (as log_v, the same rule). */
	esc_n(reason, sizeof(reason), raw, sizeof(raw), ESC_KEEP_BACKSLASH);
	log_msg(LOG_DEBUG, "reason: %s", reason);
	return r;
}

const char *reason_get(void)
{
	return reason;
}

void reason_clear(void)
{
	reason[0] = '\0';
}

void reason_push(struct reason_saved *saved)
{
	_Static_assert(sizeof(saved->text) == sizeof(reason), "reason sizes differ");
	memcpy(saved->text, reason, sizeof(reason));
	reason[0] = '\0';
}

void reason_pop(const struct reason_saved *saved)
{
	memcpy(reason, saved->text, sizeof(reason));
}
