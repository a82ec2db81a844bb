/* Writes the journal target's seed corpus with the program's own writer (journal_create,
 * journal_append, journal_rewrite) under a scratch root: the steps of plans the unit tier's
 * topologies print (tests/unit/golden/plans.txt), a journal release left with a wedged
 * device, one created before its first step, and one torn mid-entry.
 *   build/fuzz/seed-journals DIR    writes DIR/<name>; `make fuzz-seeds` rewrites the corpus */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "input/config.h"
#include "steps/journal.h"
#include "steps/step.h"

#include "fuzz.h"

struct seed_step {
	enum step_kind kind;
	const char *arg, *rec;
};

/* Topology 1 (RTX 4070 and its audio), host display forced. */
static const struct seed_step forced[] = {
    {STEP_STOP_UNIT, "gdm.service", "display-manager.service"},
    {STEP_END_HOLDERS, "0000:01:00.0",
     "/dev/dri/card1 /dev/dri/renderD129 /dev/nvidia-modeset /dev/nvidia0 /dev/nvidiactl"},
    {STEP_END_HOLDERS, "0000:01:00.1", "/dev/snd/controlC1"},
    {STEP_UNBIND_VTCON, "vtcon1", "(M) frame buffer device"},
    {STEP_UNBIND_FB, "efi-framebuffer.0", "efi-framebuffer"},
    {STEP_UNLOAD_MODULE, "nvidia_drm", ""},
    {STEP_UNLOAD_MODULE, "nvidia", "devs=0000:01:00.0@nvidia"},
    {STEP_LOAD_MODULE, "vfio-pci", "disable_vga=1"},
    {STEP_OVERRIDE, "0000:01:00.0", ""},
    {STEP_OVERRIDE, "0000:01:00.1", ""},
    {STEP_UNBIND, "0000:01:00.0", "nvidia"},
    {STEP_UNBIND, "0000:01:00.1", "snd_hda_intel"},
    {STEP_BIND_VFIO, "0000:01:00.0", ""},
    {STEP_BIND_VFIO, "0000:01:00.1", ""},
};

/* Two AMD cards: one handed over whole with its audio, a module bound back to two. */
static const struct seed_step amd[] = {
    {STEP_STOP_UNIT, "nvidia-persistenced.service", ""},
    {STEP_UNLOAD_MODULE, "amdgpu", "devs=0000:0b:00.0@amdgpu,0000:0c:00.0@amdgpu"},
    {STEP_LOAD_MODULE, "vfio-pci", "disable_idle_d3=1 disable_vga=1"},
    {STEP_OVERRIDE, "0000:0b:00.0", "amdgpu"},
    {STEP_UNBIND, "0000:0b:00.1", "snd_hda_intel"},
    {STEP_BIND_VFIO, "0000:0b:00.0", ""},
};

static void die(const char *what)
{
	fprintf(stderr, "seed-journals: %s: %s\n", what, reason_get()[0] ? reason_get() : "");
	exit(1);
}

/* Writes vm's journal with devs and steps, then copies it to out/name. */
static void seed(const char *out, const char *name, const char *vm, const char *const *devs,
		 size_t n_devs, const struct seed_step *steps, size_t n_steps)
{
	struct bdf addrs[8];
	struct journal j;
	char src[VH_PATH_MAX], cmd[2 * VH_PATH_MAX + 16];

	for (size_t i = 0; i < n_devs; i++)
		if (bdf_parse(devs[i], &addrs[i]) < 0)
			die(devs[i]);
	if (journal_create(vm, addrs, n_devs, &j) < 0)
		die("journal_create");
	for (size_t i = 0; i < n_steps; i++) {
		struct step s;

		if (step_init(&s, steps[i].kind, steps[i].arg) < 0 ||
		    step_rec_parse(&s, steps[i].rec) < 0 || journal_append(&j, &s) < 0)
			die(steps[i].arg);
	}
	journal_close(&j);
	if (journal_path(vm, src, sizeof(src)) < 0)
		die(vm);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'", src, out, name);
	if (system(cmd) != 0 || journal_remove(vm) < 0)
		die(cmd);
}

int main(int argc, char **argv)
{
	static const char *const gpu[] = {"0000:01:00.0", "0000:01:00.1"};
	static const char *const amd_devs[] = {"0000:0b:00.0", "0000:0b:00.1"};
	const char *root;
	char p[VH_PATH_MAX + 64], cmd[2 * VH_PATH_MAX];
	struct journal_data d;
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: seed-journals DIR\n");
		return 2;
	}
	log_setup(LOG_TO_STDERR, LOG_ERR);
	root = fuzz_scratch_dir("seeds");
	if (root_set(root) < 0)
		die("root_set");
	config_set_required_owner((unsigned)geteuid());

	seed(argv[1], "gpu-audio-host-display", "win10", gpu, 2, forced, ARRAY_SIZE(forced));
	seed(argv[1], "amd-two-cards", "linux-amd", amd_devs, 2, amd, ARRAY_SIZE(amd));
	seed(argv[1], "created-no-step", "win10", gpu, 2, NULL, 0);

	/* What release leaves when a device did not come back: the steps it could not undo
	 * and the wedged device, written by journal_rewrite. */
	seed(argv[1], "tmp", "win10", gpu, 2, forced, ARRAY_SIZE(forced));
	snprintf(cmd, sizeof(cmd), "cp '%s/tmp' '%s/run/vfio-handoff/win10.journal'", argv[1],
		 root);
	if (system(cmd) != 0 || journal_read("win10", &d) < 0)
		die("journal_read");
	d.n_steps = 3;
	d.wedged = calloc(1, sizeof(*d.wedged));
	if (!d.wedged)
		die("calloc");
	d.n_wedged = 1;
	bdf_parse("0000:01:00.0", &d.wedged[0].dev);
	snprintf(d.wedged[0].why, sizeof(d.wedged[0].why), "pid 1234 (Xorg) held /dev/nvidia0");
	if (journal_rewrite("win10", &d) < 0)
		die("journal_rewrite");
	journal_data_free(&d);
	snprintf(cmd, sizeof(cmd), "cp '%s/run/vfio-handoff/win10.journal' '%s/left-wedged'", root,
		 argv[1]);
	if (system(cmd) != 0 || journal_remove("win10") < 0)
		die(cmd);

	/* Torn: a crash in the middle of writing the last entry. */
	snprintf(p, sizeof(p), "%s/tmp", argv[1]);
	if (stat(p, &st) < 0 || truncate(p, st.st_size - 9) < 0)
		die(p);
	snprintf(cmd, sizeof(cmd), "mv '%s/tmp' '%s/torn-last-entry'", argv[1], argv[1]);
	if (system(cmd) != 0)
		die(cmd);
	return 0;
}
