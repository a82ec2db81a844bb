/* The command's argument rules (cliargs.h): a hand-written loop rather than getopt, so the
 * rules are exactly the documented ones (no abbreviations, no permuting past "--"). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "front/cliargs.h"

enum {
	OPT_XML = 1 << 0,
	OPT_CONNECT = 1 << 1,
	OPT_DRY_RUN = 1 << 2,
	OPT_DEVICES = 1 << 3,
	OPT_STRICT = 1 << 4,
};

/* Names of the OPT_ bits, for "does not go with". */
static const char *const opt_names[] = {"--xml", "--connect", "--dry-run", "--devices", "--strict"};

static const struct command {
	const char *name;
	enum cli_cmd cmd;
	int min_args, max_args; /* VM names */
	unsigned opts;		/* command-specific options allowed */
} commands[] = {
    {"plan", CLI_PLAN, 1, 1, OPT_XML | OPT_CONNECT},
    {"prepare", CLI_PREPARE, 1, 1, OPT_XML | OPT_DRY_RUN},
    {"release", CLI_RELEASE, 1, 1, 0},
    {"status", CLI_STATUS, 0, 0, 0},
    {"recover", CLI_RECOVER, 0, 1, 0},
    {"groups", CLI_GROUPS, 0, 0, 0},
    {"check", CLI_CHECK, 0, 1, OPT_XML | OPT_CONNECT},
    {"enable", CLI_ENABLE, 1, 1, OPT_XML | OPT_CONNECT | OPT_DEVICES | OPT_STRICT},
    {"disable", CLI_DISABLE, 1, 1, 0},
    {"list", CLI_LIST, 0, 0, OPT_CONNECT},
};

/* An option with a value: "--name VALUE" or "--name=VALUE". 1 matched, 0 not, -EINVAL
 * when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t len = strlen(name);
	const char *w = argv[*i];

	if (strncmp(w, name, len) != 0)
		return 0;
	if (w[len] == '=') {
		*ret = w + len + 1;
		return 1;
	}
	if (w[len] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return reason_set(-EINVAL, "option %s needs a value", name);
	*ret = argv[++*i];
	return 1;
}

int cli_args_parse(int argc, char **argv, struct cli_args *ret)
{
	const char *words[3] = {NULL, NULL, NULL};
	const struct command *c = NULL;
	bool options = true;
	unsigned given = 0;
	int n_words = 0, r;

	*ret = (struct cli_args){0};
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (options && strcmp(w, "--") == 0) {
			options = false;
			continue;
		}
		if (!options || w[0] != '-' || w[1] == '\0') {
			/* The command, its VM, and the first one too many (for the message). */
			if (n_words < 3)
				words[n_words] = w;
			n_words++;
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--root", &ret->root)) != 0) {
			if (r < 0)
				return r;
		} else if ((r = opt_value(argc, argv, &i, "--xml", &ret->xml)) != 0) {
			if (r < 0)
				return r;
			given |= OPT_XML;
		} else if ((r = opt_value(argc, argv, &i, "--connect", &ret->connect)) != 0) {
			if (r < 0)
				return r;
			given |= OPT_CONNECT;
		} else if ((r = opt_value(argc, argv, &i, "--devices", &ret->devices)) != 0) {
			if (r < 0)
				return r;
			given |= OPT_DEVICES;
		} else if (strcmp(w, "--strict") == 0) {
			ret->strict = true;
			given |= OPT_STRICT;
		} else if (strcmp(w, "--dry-run") == 0) {
			ret->dry_run = true;
			given |= OPT_DRY_RUN;
		} else if (strcmp(w, "-v") == 0 || strcmp(w, "--verbose") == 0) {
			ret->verbose = true;
		} else if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
			ret->help = true;
			return 0;
		} else {
			return reason_set(-EINVAL, "unknown option '%s'", w);
		}
	}
	if (!n_words)
		return reason_set(-EINVAL, "no command given");
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		if (strcmp(words[0], commands[k].name) == 0)
			c = &commands[k];
	if (!c)
		return reason_set(-EINVAL, "unknown command '%s'", words[0]);
	if (n_words - 1 > c->max_args)
		return reason_set(-EINVAL, "%s takes %s; unexpected argument '%s'", c->name,
				  c->max_args ? "one VM name" : "no argument",
				  words[1 + c->max_args]);
	if (n_words - 1 < c->min_args)
		return reason_set(-EINVAL, "%s needs a VM name", c->name);
	ret->cmd = c->cmd;
	ret->vm = n_words > 1 ? words[1] : NULL;
	if (given & ~c->opts) {
		size_t b = 0;

		while (!(given & ~c->opts & (1u << b)))
			b++;
		return reason_set(-EINVAL, "%s does not go with %s", opt_names[b], c->name);
	}
	if (c->cmd == CLI_CHECK && !ret->vm && (given & (OPT_XML | OPT_CONNECT)))
		return reason_set(-EINVAL, "check takes %s only with a VM name",
				  given & OPT_XML ? "--xml" : "--connect");
	if (c->cmd == CLI_PREPARE && !ret->xml)
		return reason_set(-EINVAL, "prepare needs --xml FILE (the domain XML libvirt "
					   "would pass)");
	return 0;
}
