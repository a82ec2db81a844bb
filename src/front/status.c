/* vfio-handoff status: who holds what, read from the journals. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "base/bdf.h"
#include "base/escape.h"
#include "base/log.h"
#include "facts/pcidev.h"
#include "front/engine.h"
#include "kernel/attr.h"
#include "steps/journal.h"

/* A wedged device is shown from the journal and its driver link only: reading it the
 * usual way would wait on the lock its stuck remove keeps. true when it was one. */
static bool status_wedged(FILE *out, const struct journal_data *d, const struct bdf *dev)
{
	char name[BDF_STRLEN], drv[64];

	for (size_t i = 0; i < d->n_wedged; i++) {
		if (!bdf_equal(&d->wedged[i].dev, dev))
			continue;
		bdf_fmt(dev, name);
		if (device_driver("pci", name, drv, sizeof(drv)) < 0)
			snprintf(drv, sizeof(drv), "gone");
		fprintf(out,
			"  %s  driver: %s  WEDGED: a kernel call on it did not return (%s); "
			"'vfio-handoff recover' once it is free\n",
			name, drv[0] ? ESC(drv) : "none", ESC(d->wedged[i].why));
		return true;
	}
	return false;
}

int engine_status(FILE *out)
{
	char **names;
	size_t n;
	int r;

	r = journal_list(&names, &n);
	if (r < 0)
		return reason_set(r, "cannot list journals: %s", strerror(-r));
	if (!n)
		fprintf(out, "no VM holds a device\n");
	for (size_t i = 0; i < n; i++) {
		struct journal_data d;

		if (journal_read(names[i], &d) < 0) {
			fprintf(out, "VM %s: journal unreadable: %s\n", ESC(names[i]),
				reason_get());
			reason_clear();
			continue;
		}
		fprintf(out, "VM %s: %zu device(s), %zu step(s) journaled\n", ESC(names[i]),
			d.n_devs, d.n_steps);
		for (size_t k = 0; k < d.n_devs; k++) {
			struct pcidev dev;

			if (status_wedged(out, &d, &d.devs[k]))
				continue;

			if (pcidev_read(&d.devs[k], &dev) < 0) {
				char name[BDF_STRLEN];
				fprintf(out, "  %s  (gone)\n", bdf_fmt(&d.devs[k], name));
				continue;
			}
			fprintf(out, "  %s  driver: %s\n", ESC(dev.name),
				dev.driver[0] ? ESC(dev.driver) : "none");
		}
		journal_data_free(&d);
	}
	journal_list_free(names, n);
	return 0;
}
