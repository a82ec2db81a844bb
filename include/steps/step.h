/* The step: the unit of change. Each kind has apply, undo and a one-line text form used
 * both in the journal and in plan output ("unbind 0000:01:00.0 nvidia"). */
#ifndef VH_STEP_H
#define VH_STEP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/bdf.h"
#include "base/names.h"
#include "input/config.h"

enum step_kind {
	STEP_STOP_UNIT,	    /* stop-unit U: stop a systemd unit, wait until inactive */
	STEP_END_HOLDERS,   /* end-holders B: processes holding B's device nodes */
	STEP_UNBIND_VTCON,  /* unbind-vtcon vtconN: frame buffer console off */
	STEP_UNBIND_FB,	    /* unbind-fb P DRIVER: boot framebuffer platform device */
	STEP_UNLOAD_MODULE, /* unload-module M RECORD: remove a module */
	STEP_LOAD_MODULE,   /* load-module M OPTIONS: load if absent (vfio-pci) */
	STEP_OVERRIDE,	    /* override B PREVIOUS: driver_override = vfio-pci */
	STEP_UNBIND,	    /* unbind B DRIVER: unbind from its driver */
	STEP_BIND_VFIO,	    /* bind-vfio B: drivers_probe, verify the driver link */
	STEP__MAX,
};

#define STEP_ARG_MAX 128
#define STEP_REC_MAX 512	/* a record's text form, with its NUL */
#define STEP_UNLOAD_DEVS_MAX 32 /* devices an unload-module step binds back */

/* A device unload-module's undo binds back to its driver. */
struct step_dev {
	char bdf[BDF_STRLEN];
	char driver[NAME_MAX_LEN];
};

/*
 * A step: its kind, its object (arg) and its record, what undo needs, typed per kind. The
 * record's text form (the journal's third field, and the "(...)" of plan output) is
 * written by step_rec_format() and read by step_rec_parse(), the only two places that
 * know it:
 *   stop-unit      the unit configured when arg is the one it stands for, or nothing
 *   end-holders    the device nodes at planning time, space-separated (shown only)
 *   unbind-vtcon   the console's name ("(M) frame buffer device")
 *   unbind-fb      the platform driver to bind back, or nothing
 *   unload-module  "devs=B@DRIVER,..." the handed devices to bind back, or nothing
 *   load-module    the module options, space-separated, or nothing
 *   override       the driver_override before, or nothing
 *   unbind         the driver to bind back
 *   bind-vfio      nothing
 */
struct step {
	enum step_kind kind;
	char arg[STEP_ARG_MAX]; /* the object: BDF, unit, module, vtcon, platform device */
	union {
		struct {
			char alias[128];
		} stop_unit;
		struct {
			char nodes[STEP_REC_MAX];
		} end_holders;
		struct {
			char name[128];
		} unbind_vtcon;
		struct {
			char driver[NAME_MAX_LEN];
		} unbind_fb;
		struct {
			size_t n_devs;
			struct step_dev devs[STEP_UNLOAD_DEVS_MAX];
		} unload_module;
		struct {
			char options[STEP_REC_MAX];
		} load_module;
		struct {
			char previous[NAME_MAX_LEN];
		} override;
		struct {
			char driver[NAME_MAX_LEN];
		} unbind;
	};
};

/* A step of kind on object arg with an empty record. -ENAMETOOLONG when arg does not fit. */
int step_init(struct step *s, enum step_kind kind, const char *arg);

/* The record's text form into buf ("" when empty). */
int step_rec_format(const struct step *s, char *buf, size_t n);
/* Reads a record's text form into s, whose kind is set. -EINVAL when it is not one. */
int step_rec_parse(struct step *s, const char *rec);

/* What a running step may consult. */
struct step_env {
	const char *vm;
	const struct vm_config *cfg;
};

struct step_ops {
	const char *name; /* text form keyword: "unbind" */
	/* Applies the step and verifies it took effect. 0 or -errno with reason_set(). */
	int (*apply)(const struct step *s, const struct step_env *env);
	/* Undoes it; idempotent: checks the present state first (the change may never have
	 * happened, or been undone by someone else). 0 or -errno with a logged reason. */
	int (*undo)(const struct step *s, const struct step_env *env);
};

/* One per kind, defined in the module that owns the kind. */
extern const struct step_ops step_ops_stop_unit;     /* steps/units.c */
extern const struct step_ops step_ops_end_holders;   /* steps/holders.c */
extern const struct step_ops step_ops_unbind_vtcon;  /* steps/console.c */
extern const struct step_ops step_ops_unbind_fb;     /* steps/console.c */
extern const struct step_ops step_ops_unload_module; /* steps/modules.c */
extern const struct step_ops step_ops_load_module;   /* steps/modules.c */
extern const struct step_ops step_ops_override;	     /* steps/device.c */
extern const struct step_ops step_ops_unbind;	     /* steps/device.c */
extern const struct step_ops step_ops_bind_vfio;     /* steps/device.c */

const struct step_ops *step_ops_of(enum step_kind kind);

/* Text form "kind<TAB>arg<TAB>rec" ("-" for an empty record); written without newline. */
int step_format(const struct step *s, char *buf, size_t n);
/* Human form "kind arg (rec)" for plan output and logs. */
int step_describe(const struct step *s, char *buf, size_t n);
/* Parses the text form; the fields must pass step_valid(). */
int step_parse(const char *line, struct step *ret);
/* Whether the step's fields are what the planner writes for its kind: canonical PCI
 * addresses, unit, module, driver, platform device and vtcon names from a bounded
 * character set (no '/', never "." or ".."), module options as the configuration takes
 * them. Anything read back from a journal passes this before it reaches a path. */
bool step_valid(const struct step *s);

int step_apply(const struct step *s, const struct step_env *env);
int step_undo(const struct step *s, const struct step_env *env);

/* Steps applied or undone so far in this process, this one included: a step can tell that
 * nothing ran since an earlier one (step_seq() one more than then). */
unsigned step_seq(void);

/* Deadline for writes that can block in the kernel, from the config. */
int step_timeout_ms(const struct step_env *env);

#endif
