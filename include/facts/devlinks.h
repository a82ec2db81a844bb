/* Device links between PCI devices (sysfs "consumer:pci:<bdf>" entries): who depends on a
 * device, and through whose driver. */
#ifndef VH_FACTS_DEVLINKS_H
#define VH_FACTS_DEVLINKS_H

#include <stddef.h>

#include "base/bdf.h"

/* A consumer of a device's links, bound to a driver. */
struct devlink_user {
	char bdf[BDF_STRLEN];
	char driver[64];
	char module[64]; /* "" when the driver is built in */
};

/* The first consumer of PCI device bdf's device links (in name order) that is bound to a
 * driver whose module is not skip_module. 1 with ret filled, 0 when there is none, or
 * -errno. */
int devlink_bound_consumer(const char *bdf, const char *skip_module, struct devlink_user *ret);

#endif
