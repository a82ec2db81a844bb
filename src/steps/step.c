/* The step registry and the text form shared by the journal and plan output. */
#include <errno.h>
#include <string.h>

#include "base/bdf.h"
#include "base/names.h"
#include "base/util.h"
#include "steps/step.h"

static const struct step_ops *const ops_table[STEP__MAX] = {
    [STEP_STOP_UNIT] = &step_ops_stop_unit,	    [STEP_END_HOLDERS] = &step_ops_end_holders,
    [STEP_UNBIND_VTCON] = &step_ops_unbind_vtcon,   [STEP_UNBIND_FB] = &step_ops_unbind_fb,
    [STEP_UNLOAD_MODULE] = &step_ops_unload_module, [STEP_LOAD_MODULE] = &step_ops_load_module,
    [STEP_OVERRIDE] = &step_ops_override,	    [STEP_UNBIND] = &step_ops_unbind,
    [STEP_BIND_VFIO] = &step_ops_bind_vfio,
};

const struct step_ops *step_ops_of(enum step_kind kind)
{
	if ((unsigned)kind >= STEP__MAX)
		return NULL;
	return ops_table[kind];
}

int step_format(const struct step *s, char *buf, size_t n)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	if (!ops)
		return -EINVAL;
	return snprintf_chk(buf, n, "%s\t%s\t%s", ops->name, s->arg, s->rec[0] ? s->rec : "-");
}

int step_describe(const struct step *s, char *buf, size_t n)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	if (!ops)
		return -EINVAL;
	if (s->rec[0])
		return snprintf_chk(buf, n, "%s %s (%s)", ops->name, s->arg, s->rec);
	return snprintf_chk(buf, n, "%s %s", ops->name, s->arg);
}

static bool field_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* --- field rules: what the planner writes, and nothing else --- */

/* The canonical form only ("0000:01:00.0"): the planner writes nothing else. */
static bool bdf_ok(const char *s)
{
	char canon[BDF_STRLEN];
	struct bdf b;

	return bdf_parse(s, &b) == 0 && strcmp(bdf_fmt(&b, canon), s) == 0;
}

/* Printable ASCII, for text that is only compared and shown (a console's name). */
static bool text_ok(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* end-holders: the device nodes shown in plan output, "/dev/dri/card0 /dev/fb0 ...". */
static bool nodes_ok(const char *rec)
{
	char buf[STEP_REC_MAX], *tok, *save = NULL;

	if (!*rec)
		return true;
	if (strlcpy_chk(buf, rec, sizeof(buf)) < 0 || buf[0] == ' ' || strstr(buf, "  "))
		return false;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "...") == 0)
			continue;
		if (!str_has_prefix(tok, "/dev/") || strstr(tok, "..") || strstr(tok, "//"))
			return false;
		for (const char *c = tok; *c; c++)
			if (!ascii_alnum(*c) && !strchr("_.:/+-", *c))
				return false;
	}
	return true;
}

/* unload-module: "" or "devs=B@driver,B@driver" (the handed devices to bind back). */
static bool unload_rec_ok(const char *rec)
{
	char buf[STEP_REC_MAX], *tok, *save = NULL;

	if (!*rec)
		return true;
	if (!str_has_prefix(rec, "devs=") || strlcpy_chk(buf, rec + 5, sizeof(buf)) < 0 ||
	    !buf[0] || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return false;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');

		if (!at)
			return false;
		*at++ = '\0';
		if (!bdf_ok(tok) || !name_driver_valid(at))
			return false;
	}
	return true;
}

/* load-module: module options as the configuration accepts them (key=value, single
 * spaces between; never ids=). */
static bool options_ok(const char *rec)
{
	char buf[STEP_REC_MAX], *tok, *save = NULL;

	if (!*rec)
		return true;
	if (strlcpy_chk(buf, rec, sizeof(buf)) < 0 || buf[0] == ' ' ||
	    buf[strlen(buf) - 1] == ' ' || strstr(buf, "  "))
		return false;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!name_option_valid(tok) || str_has_prefix(tok, "ids="))
			return false;
	return true;
}

bool step_valid(const struct step *s)
{
	const char *a = s->arg, *r = s->rec;

	switch (s->kind) {
	case STEP_STOP_UNIT:
		return name_unit_valid(a) && (!*r || name_unit_valid(r));
	case STEP_END_HOLDERS:
		return bdf_ok(a) && nodes_ok(r);
	case STEP_UNBIND_VTCON:
		return name_vtcon_valid(a) && text_ok(r);
	case STEP_UNBIND_FB:
		return name_platform_valid(a) && (!*r || name_driver_valid(r));
	case STEP_UNLOAD_MODULE:
		return name_module_valid(a) && unload_rec_ok(r);
	case STEP_LOAD_MODULE:
		return name_module_valid(a) && options_ok(r);
	case STEP_OVERRIDE:
		return bdf_ok(a) && (!*r || name_driver_valid(r));
	case STEP_UNBIND:
		return bdf_ok(a) && name_driver_valid(r);
	case STEP_BIND_VFIO:
		return bdf_ok(a) && !*r;
	case STEP__MAX:
		break;
	}
	return false;
}

int step_parse(const char *line, struct step *ret)
{
	char buf[STEP_ARG_MAX + STEP_REC_MAX + 64], *kind, *arg, *rec;
	struct step s = {0};
	unsigned k;

	if (strlcpy_chk(buf, line, sizeof(buf)) < 0)
		return -EINVAL;
	strip_trailing(buf);
	kind = buf;
	arg = strchr(kind, '\t');
	if (!arg)
		return -EINVAL;
	*arg++ = '\0';
	rec = strchr(arg, '\t');
	if (!rec)
		return -EINVAL;
	*rec++ = '\0';
	if (strchr(rec, '\t') || !*arg || !field_ok(arg) || !field_ok(rec))
		return -EINVAL;
	for (k = 0; k < STEP__MAX; k++)
		if (ops_table[k] && strcmp(ops_table[k]->name, kind) == 0)
			break;
	if (k == STEP__MAX)
		return -EINVAL;
	s.kind = k;
	if (strlcpy_chk(s.arg, arg, sizeof(s.arg)) < 0)
		return -EINVAL;
	if (strcmp(rec, "-") != 0 && strlcpy_chk(s.rec, rec, sizeof(s.rec)) < 0)
		return -EINVAL;
	if (!step_valid(&s))
		return -EINVAL;
	*ret = s;
	return 0;
}

int step_apply(const struct step *s, const struct step_env *env)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	if (!ops || !ops->apply)
		return -EINVAL;
	return ops->apply(s, env);
}

int step_undo(const struct step *s, const struct step_env *env)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	if (!ops)
		return -EINVAL;
	if (!ops->undo)
		return 0;
	return ops->undo(s, env);
}

int step_timeout_ms(const struct step_env *env)
{
	return env && env->cfg && env->cfg->timeout_ms > 0 ? env->cfg->timeout_ms : 10000;
}
