/* The global and per-VM configuration files: a small INI subset, read only from root-owned
 * files nobody else can write, since the hook acts on them as root.
 * Longer than 400 lines: one parser per key, each sharing this file's line context and
 * quoting; apart, they would need both exported for nothing else to use. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/names.h"
#include "base/util.h"
#include "input/config.h"

#define CONFIG_MAX_BYTES (64 * 1024) /* a fully commented file is a few KiB */
#define CONFIG_LINE_MAX 1024
#define SECONDS_MAX 600

void config_defaults(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
	    .devices = CFG_DEVICES_HOSTDEVS,
	    .group = CFG_GROUP_WHOLE,
	    .host_display = CFG_AUTO,
	    .display_manager = "display-manager.service",
	    .unload = CFG_UNLOAD_AUTO,
	    .holders = CFG_HOLDERS_WAIT,
	    .timeout_ms = 10000,
	    .kill_grace_ms = 2000,
	};
}

/* Where a value came from, for reasons: "PATH:LINE: ...". */
struct line_ctx {
	const char *path;
	int line;
	const char *key;
};

#define bad_value(lc, fmt, ...) \
	reason_set(-EINVAL, "%s:%d: %s: " fmt, (lc)->path, (lc)->line, (lc)->key, ##__VA_ARGS__)

/* Quotes untrusted text for a message, bounded (str_quote). */
static const char *sanitize(char *buf, size_t n, const char *s)
{
	return str_quote(buf, n, s, CONFIG_QUOTE_MAX);
}

#define QBUF CONFIG_QUOTE_BUF

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_sep(char c)
{
	return is_space(c) || c == ',';
}

/*
 * Splits a list value ("a b", "a,b", "a, b") in place. Returns the number of tokens or
 * -E2BIG when there are more than max.
 */
static int split_list(char *s, char **tok, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s && is_sep(*s))
			s++;
		if (!*s)
			return (int)n;
		if (n == max)
			return -E2BIG;
		tok[n++] = s;
		while (*s && !is_sep(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static int parse_devices(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	char q[QBUF], a[BDF_STRLEN];
	char *tok[CONFIG_MAX_DEVICES];
	int n;

	if (strcmp(v, "hostdevs") == 0) {
		cfg->devices = CFG_DEVICES_HOSTDEVS;
		cfg->n_devices = 0;
		return 0;
	}
	n = split_list(v, tok, ARRAY_SIZE(tok));
	if (n < 0)
		return bad_value(lc, "more than %d devices", CONFIG_MAX_DEVICES);
	for (int i = 0; i < n; i++) {
		struct bdf b;

		if (bdf_parse(tok[i], &b) < 0)
			return bad_value(lc,
					 "'%s' is neither 'hostdevs' nor a PCI address "
					 "(0000:01:00.0)",
					 sanitize(q, sizeof(q), tok[i]));
		for (int j = 0; j < i; j++)
			if (bdf_equal(&cfg->device_list[j], &b))
				return bad_value(lc, "%s listed twice", bdf_fmt(&b, a));
		cfg->device_list[i] = b;
	}
	cfg->devices = CFG_DEVICES_LIST;
	cfg->n_devices = (size_t)n;
	return 0;
}

static int parse_word(const struct line_ctx *lc, const char *v, const char *const *words, size_t n,
		      int *ret)
{
	char q[QBUF], list[128] = "";

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, words[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		strncat(list, i ? (i + 1 == n ? " or " : ", ") : "",
			sizeof(list) - strlen(list) - 1);
		strncat(list, words[i], sizeof(list) - strlen(list) - 1);
	}
	return bad_value(lc, "'%s' is not %s", sanitize(q, sizeof(q), v), list);
}

static int parse_group(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	static const char *const words[] = {
	    [CFG_GROUP_WHOLE] = "whole", [CFG_GROUP_STRICT] = "strict"};
	int w = 0, r = parse_word(lc, v, words, ARRAY_SIZE(words), &w);

	if (r >= 0)
		cfg->group = (enum cfg_group)w;
	return r;
}

static int parse_host_display(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	static const char *const words[] = {
	    [CFG_AUTO] = "auto", [CFG_YES] = "yes", [CFG_NO] = "no"};
	int w = 0, r = parse_word(lc, v, words, ARRAY_SIZE(words), &w);

	if (r >= 0)
		cfg->host_display = (enum cfg_tristate)w;
	return r;
}

static int parse_holders(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	static const char *const words[] = {
	    [CFG_HOLDERS_WAIT] = "wait", [CFG_HOLDERS_KILL] = "kill"};
	int w = 0, r = parse_word(lc, v, words, ARRAY_SIZE(words), &w);

	if (r >= 0)
		cfg->holders = (enum cfg_holders)w;
	return r;
}

static int parse_display_manager(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	char q[QBUF];

	if (strcmp(v, "none") == 0) {
		cfg->display_manager[0] = '\0';
		return 0;
	}
	if (!name_unit_valid(v))
		return bad_value(lc,
				 "'%s' is not 'none' or a unit name ending in .service, "
				 ".socket, .target or .scope",
				 sanitize(q, sizeof(q), v));
	return strlcpy_chk(cfg->display_manager, v, sizeof(cfg->display_manager));
}

static int parse_unload(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	char q[QBUF];
	char *tok[CONFIG_MAX_MODULES];
	int n;

	if (strcmp(v, "auto") == 0 || strcmp(v, "none") == 0) {
		cfg->unload = v[0] == 'a' ? CFG_UNLOAD_AUTO : CFG_UNLOAD_NONE;
		cfg->n_unload = 0;
		return 0;
	}
	n = split_list(v, tok, ARRAY_SIZE(tok));
	if (n < 0)
		return bad_value(lc, "more than %d modules", CONFIG_MAX_MODULES);
	for (int i = 0; i < n; i++) {
		if (!name_module_valid(tok[i]))
			return bad_value(lc, "'%s' is not 'auto', 'none' or a module name",
					 sanitize(q, sizeof(q), tok[i]));
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->unload_list[j], tok[i]) == 0)
				return bad_value(lc, "module %s listed twice", tok[i]);
		strlcpy_chk(cfg->unload_list[i], tok[i], sizeof(cfg->unload_list[i]));
	}
	cfg->unload = CFG_UNLOAD_LIST;
	cfg->n_unload = (size_t)n;
	return 0;
}

/* Seconds with up to three decimals ("2.5"), to milliseconds. No sign, no exponent, no
 * locale: strtod would take "inf", "1e3" and "0x10". */
static int parse_ms(const char *s, int *ret)
{
	long ms = 0;
	int scale = 1000;
	const char *p = s;

	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		ms = ms * 10 + (*p - '0');
		if (ms > SECONDS_MAX)
			return -ERANGE;
	}
	ms *= 1000;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 1)
				return -EINVAL;
			scale /= 10;
			ms += (*p - '0') * scale;
		}
	}
	if (*p)
		return -EINVAL;
	if (ms > SECONDS_MAX * 1000)
		return -ERANGE;
	*ret = (int)ms;
	return 0;
}

static int parse_seconds(const struct line_ctx *lc, const char *v, bool zero_ok, int *ret)
{
	char q[QBUF];
	int ms = 0, r = parse_ms(v, &ms);

	if (r == -EINVAL)
		return bad_value(lc,
				 "'%s' is not a number of seconds (10, 2.5; at most 3 decimals)",
				 sanitize(q, sizeof(q), v));
	if (r < 0 || (ms == 0 && !zero_ok))
		return bad_value(lc, "'%s' out of range (%s..%d seconds)",
				 sanitize(q, sizeof(q), v), zero_ok ? "0" : "0.001", SECONDS_MAX);
	*ret = ms;
	return 0;
}

static int parse_timeout(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	return parse_seconds(lc, v, false, &cfg->timeout_ms);
}

/* 0 is a real choice here: SIGKILL right after SIGTERM. */
static int parse_kill_grace(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	return parse_seconds(lc, v, true, &cfg->kill_grace_ms);
}

static int parse_vfio_options(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	char q[QBUF], out[sizeof(cfg->vfio_options)] = "";
	char *tok[32];
	int n;

	if (strcmp(v, "none") == 0) {
		cfg->vfio_options[0] = '\0';
		cfg->vfio_options_set = true;
		return 0;
	}
	/* Commas belong to values (ids=a,b), so only whitespace separates options. */
	n = 0;
	for (char *s = v;;) {
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		if (n == (int)ARRAY_SIZE(tok))
			return bad_value(lc, "more than %zu options", ARRAY_SIZE(tok));
		tok[n++] = s;
		while (*s && !is_space(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		size_t klen = eq ? (size_t)(eq - tok[i]) : 0;

		if (!name_option_valid(tok[i]))
			return bad_value(lc, "'%s' is not an option=value pair",
					 sanitize(q, sizeof(q), tok[i]));
		if (klen == 3 && strncmp(tok[i], "ids", 3) == 0)
			return bad_value(lc,
					 "ids= refused: it makes vfio-pci take every device "
					 "with those IDs (both of two identical GPUs); devices are "
					 "bound by address");
		for (int j = 0; j < i; j++)
			if (strncmp(tok[j], tok[i], klen + 1) == 0)
				return bad_value(lc, "option %.*s given twice", (int)klen, tok[i]);
		if (i)
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		if (strlen(out) + strlen(tok[i]) >= sizeof(out))
			return bad_value(lc, "longer than %zu bytes", sizeof(out) - 1);
		strncat(out, tok[i], sizeof(out) - strlen(out) - 1);
	}
	if (n == 0)
		return bad_value(lc, "no options (use 'none')");
	memcpy(cfg->vfio_options, out, sizeof(out));
	cfg->vfio_options_set = true;
	return 0;
}

static int parse_stop_units(const struct line_ctx *lc, char *v, struct vm_config *cfg)
{
	char q[QBUF];
	char *tok[CONFIG_MAX_UNITS];
	int n;

	if (strcmp(v, "none") == 0) {
		cfg->n_helper_units = 0;
		return 0;
	}
	n = split_list(v, tok, ARRAY_SIZE(tok));
	if (n < 0)
		return bad_value(lc, "more than %d units", CONFIG_MAX_UNITS);
	for (int i = 0; i < n; i++) {
		if (!name_unit_valid(tok[i]))
			return bad_value(lc,
					 "'%s' is not 'none' or a unit name ending in "
					 ".service, .socket, .target or .scope",
					 sanitize(q, sizeof(q), tok[i]));
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->helper_units[j], tok[i]) == 0)
				return bad_value(lc, "unit %s listed twice", tok[i]);
		strlcpy_chk(cfg->helper_units[i], tok[i], sizeof(cfg->helper_units[i]));
	}
	cfg->n_helper_units = (size_t)n;
	return 0;
}

static const struct key_def {
	const char *name;
	int (*parse)(const struct line_ctx *lc, char *value, struct vm_config *cfg);
} keys[] = {

    {"devices", parse_devices},
    {"group", parse_group},
    {"host-display", parse_host_display},
    {"display-manager", parse_display_manager},
    {"unload-modules", parse_unload},
    {"holders", parse_holders},
    {"timeout", parse_timeout},
    {"kill-grace", parse_kill_grace},
    {"vfio-pci-options", parse_vfio_options},
    {"stop-units", parse_stop_units},
};

/* One line, NUL-terminated, without its newline. seen[] marks keys given earlier. */
static int parse_line(const char *path, int line, char *s, int *seen, struct vm_config *cfg)
{
	char q[QBUF];
	char *eq, *key, *value, *e;

	while (is_space(*s))
		s++;
	if (!*s || *s == '#' || *s == ';')
		return 0;
	/* A trailing comment starts at a '#' after whitespace. */
	for (e = s + 1; *e; e++)
		if (*e == '#' && is_space(e[-1])) {
			*e = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';

	if (*s == '[') {
		if (strcmp(s, "[vfio-handoff]") == 0)
			return 0;
		return reason_set(-EINVAL, "%s:%d: unknown section '%s' (only [vfio-handoff])",
				  path, line, sanitize(q, sizeof(q), s));
	}
	eq = strchr(s, '=');
	if (!eq)
		return reason_set(-EINVAL, "%s:%d: expected 'key = value', got '%s'", path, line,
				  sanitize(q, sizeof(q), s));
	key = s;
	e = eq;
	while (e > key && is_space(e[-1]))
		e--;
	*e = '\0';
	value = eq + 1;
	while (is_space(*value))
		value++;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct line_ctx lc = {.path = path, .line = line, .key = keys[i].name};

		if (strcmp(key, keys[i].name) != 0)
			continue;
		if (seen[i])
			return reason_set(-EINVAL, "%s:%d: %s given twice (first at line %d)", path,
					  line, key, seen[i]);
		seen[i] = line;
		if (!*value)
			return bad_value(&lc, "no value");
		return keys[i].parse(&lc, value, cfg);
	}
	return reason_set(-EINVAL, "%s:%d: unknown key '%s'", path, line,
			  sanitize(q, sizeof(q), key));
}

int config_apply_file(const char *path, struct vm_config *cfg)
{
	_cleanup_free_ char *buf = NULL;
	int seen[ARRAY_SIZE(keys)] = {0};
	struct vm_config tmp = *cfg;
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	char *s, *end;
	int line, r;

	/* O_NONBLOCK: a FIFO planted here must not hang the hook; fstat refuses it next. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return -ENOENT;
		if (e == ELOOP)
			return reason_set(-EPERM, "%s: refused: is a symbolic link", path);
		return reason_set(-e, "%s: cannot open: %s", path, strerror(e));
	}
	r = config_check_owner(path, fd, false);
	if (r < 0)
		return r;

	buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf)
		return reason_set(-ENOMEM, "%s: out of memory", path);
	while (len <= CONFIG_MAX_BYTES) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			return reason_set(-e, "%s: read failed: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES)
		return reason_set(-EINVAL, "%s: larger than %d KiB", path, CONFIG_MAX_BYTES / 1024);

	for (s = buf, line = 1; s < buf + len; s = end + 1, line++) {
		end = memchr(s, '\n', (size_t)(buf + len - s));
		if (!end)
			end = buf + len;
		if (end - s > CONFIG_LINE_MAX)
			return reason_set(-EINVAL, "%s:%d: line longer than %d bytes", path, line,
					  CONFIG_LINE_MAX);
		if (memchr(s, '\0', (size_t)(end - s)))
			return reason_set(-EINVAL, "%s:%d: NUL byte", path, line);
		*end = '\0';
		r = parse_line(path, line, s, seen, &tmp);
		if (r < 0)
			return r;
	}
	*cfg = tmp;
	return 0;
}
