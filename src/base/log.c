/* Logging to syslog and stderr, and the one-line reason of a failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

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

static void log_v(int prio, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
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
	va_list ap;

	if (reason[0] != '\0')
		return r;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* One line: the reason goes to libvirt's error text. */
	for (char *p = reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
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
