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

int step_init(struct step *s, enum step_kind kind, const char *arg)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	return strlcpy_chk(s->arg, arg, sizeof(s->arg));
}

/* --- the record's text form: written here, read here --- */

#define REC_DEVS "devs="

int step_rec_format(const struct step *s, char *buf, size_t n)
{
	size_t len = 0;
	int r;

	switch (s->kind) {
	case STEP_STOP_UNIT:
		return strlcpy_chk(buf, s->stop_unit.alias, n);
	case STEP_END_HOLDERS:
		return strlcpy_chk(buf, s->end_holders.nodes, n);
	case STEP_UNBIND_VTCON:
		return strlcpy_chk(buf, s->unbind_vtcon.name, n);
	case STEP_UNBIND_FB:
		return strlcpy_chk(buf, s->unbind_fb.driver, n);
	case STEP_UNLOAD_MODULE:
		if (n == 0 || s->unload_module.n_devs > STEP_UNLOAD_DEVS_MAX)
			return -EINVAL;
		buf[0] = '\0';
		for (size_t i = 0; i < s->unload_module.n_devs; i++) {
			const struct step_dev *d = &s->unload_module.devs[i];

			r = snprintf_chk(buf + len, n - len, "%s%s@%s", i ? "," : REC_DEVS, d->bdf,
					 d->driver);
			if (r < 0)
				return r;
			len += strlen(buf + len);
		}
		return 0;
	case STEP_LOAD_MODULE:
		return strlcpy_chk(buf, s->load_module.options, n);
	case STEP_OVERRIDE:
		return strlcpy_chk(buf, s->override.previous, n);
	case STEP_UNBIND:
		return strlcpy_chk(buf, s->unbind.driver, n);
	case STEP_BIND_VFIO:
		return strlcpy_chk(buf, "", n);
	case STEP__MAX:
		break;
	}
	return -EINVAL;
}

/* "devs=B@DRIVER,B@DRIVER": no empty item, nothing but the pairs. */
static int devs_parse(struct step *s, const char *rec)
{
	char buf[STEP_REC_MAX], *tok, *save = NULL;

	s->unload_module.n_devs = 0;
	if (!*rec)
		return 0;
	if (!str_has_prefix(rec, REC_DEVS) || strlcpy_chk(buf, rec + 5, sizeof(buf)) < 0 ||
	    !buf[0] || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct step_dev *d = &s->unload_module.devs[s->unload_module.n_devs];
		char *at = strchr(tok, '@');

		if (!at || s->unload_module.n_devs == STEP_UNLOAD_DEVS_MAX)
			return -EINVAL;
		*at++ = '\0';
		if (strlcpy_chk(d->bdf, tok, sizeof(d->bdf)) < 0 ||
		    strlcpy_chk(d->driver, at, sizeof(d->driver)) < 0)
			return -EINVAL;
		s->unload_module.n_devs++;
	}
	return 0;
}

int step_rec_parse(struct step *s, const char *rec)
{
	int r = -EINVAL;

	switch (s->kind) {
	case STEP_STOP_UNIT:
		r = strlcpy_chk(s->stop_unit.alias, rec, sizeof(s->stop_unit.alias));
		break;
	case STEP_END_HOLDERS:
		r = strlcpy_chk(s->end_holders.nodes, rec, sizeof(s->end_holders.nodes));
		break;
	case STEP_UNBIND_VTCON:
		r = strlcpy_chk(s->unbind_vtcon.name, rec, sizeof(s->unbind_vtcon.name));
		break;
	case STEP_UNBIND_FB:
		r = strlcpy_chk(s->unbind_fb.driver, rec, sizeof(s->unbind_fb.driver));
		break;
	case STEP_UNLOAD_MODULE:
		r = devs_parse(s, rec);
		break;
	case STEP_LOAD_MODULE:
		r = strlcpy_chk(s->load_module.options, rec, sizeof(s->load_module.options));
		break;
	case STEP_OVERRIDE:
		r = strlcpy_chk(s->override.previous, rec, sizeof(s->override.previous));
		break;
	case STEP_UNBIND:
		r = strlcpy_chk(s->unbind.driver, rec, sizeof(s->unbind.driver));
		break;
	case STEP_BIND_VFIO:
		r = *rec ? -EINVAL : 0;
		break;
	case STEP__MAX:
		break;
	}
	return r < 0 ? -EINVAL : 0;
}

int step_format(const struct step *s, char *buf, size_t n)
{
	const struct step_ops *ops = step_ops_of(s->kind);
	char rec[STEP_REC_MAX];

	if (!ops || step_rec_format(s, rec, sizeof(rec)) < 0)
		return -EINVAL;
	return snprintf_chk(buf, n, "%s\t%s\t%s", ops->name, s->arg, rec[0] ? rec : "-");
}

int step_describe(const struct step *s, char *buf, size_t n)
{
	const struct step_ops *ops = step_ops_of(s->kind);
	char rec[STEP_REC_MAX];

	if (!ops || step_rec_format(s, rec, sizeof(rec)) < 0)
		return -EINVAL;
	if (rec[0])
		return snprintf_chk(buf, n, "%s %s (%s)", ops->name, s->arg, rec);
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

/* unload-module: the handed devices to bind back, each with its driver. */
static bool devs_ok(const struct step *s)
{
	if (s->unload_module.n_devs > STEP_UNLOAD_DEVS_MAX)
		return false;
	for (size_t i = 0; i < s->unload_module.n_devs; i++)
		if (!bdf_ok(s->unload_module.devs[i].bdf) ||
		    !name_driver_valid(s->unload_module.devs[i].driver))
			return false;
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
	const char *a = s->arg;

	switch (s->kind) {
	case STEP_STOP_UNIT:
		return name_unit_valid(a) &&
		       (!s->stop_unit.alias[0] || name_unit_valid(s->stop_unit.alias));
	case STEP_END_HOLDERS:
		return bdf_ok(a) && nodes_ok(s->end_holders.nodes);
	case STEP_UNBIND_VTCON:
		return name_vtcon_valid(a) && text_ok(s->unbind_vtcon.name);
	case STEP_UNBIND_FB:
		return name_platform_valid(a) &&
		       (!s->unbind_fb.driver[0] || name_driver_valid(s->unbind_fb.driver));
	case STEP_UNLOAD_MODULE:
		return name_module_valid(a) && devs_ok(s);
	case STEP_LOAD_MODULE:
		return name_module_valid(a) && options_ok(s->load_module.options);
	case STEP_OVERRIDE:
		return bdf_ok(a) &&
		       (!s->override.previous[0] || name_driver_valid(s->override.previous));
	case STEP_UNBIND:
		return bdf_ok(a) && name_driver_valid(s->unbind.driver);
	case STEP_BIND_VFIO:
		return bdf_ok(a);
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
	if (step_init(&s, k, arg) < 0 || step_rec_parse(&s, strcmp(rec, "-") ? rec : "") < 0)
		return -EINVAL;
	if (!step_valid(&s))
		return -EINVAL;
	*ret = s;
	return 0;
}

static unsigned steps_run;

unsigned step_seq(void)
{
	return steps_run;
}

int step_apply(const struct step *s, const struct step_env *env)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	steps_run++;
	if (!ops || !ops->apply)
		return -EINVAL;
	return ops->apply(s, env);
}

int step_undo(const struct step *s, const struct step_env *env)
{
	const struct step_ops *ops = step_ops_of(s->kind);

	steps_run++;
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
