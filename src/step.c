/* The step registry and the text form shared by the journal and plan output. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "step.h"
#include "util.h"

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
