/* Fixture topologies of SR-IOV virtual functions and NVMe controllers
 * (topology_sriov.h). */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "fakekernel.h"
#include "fixture.h"
#include "topology_sriov.h"

/* Interface ifname of PCI device bdf, there while its driver is bound (it goes with the
 * driver, as a netdev does); route: it carries the IPv4 default route. */
static void netdev(const char *bdf, const char *ifname, int ifindex, bool route)
{
	char n[PATH_MAX], cl[PATH_MAX];

	fk_fmt(n, sizeof(n), "sys/devices/pci0000:00/%s/net/%s", bdf, ifname);
	fk_fmt(cl, sizeof(cl), "sys/class/net/%s", ifname);
	fx_write(fx_fmt("%s/ifindex", n), fx_fmt("%d\n", ifindex));
	fx_write(fx_fmt("%s/operstate", n), "up\n");
	fx_write(fx_fmt("%s/address", n), fx_fmt("b4:96:91:a0:00:%02x\n", ifindex));
	fx_write(fx_fmt("%s/uevent", n), fx_fmt("INTERFACE=%s\nIFINDEX=%d\n", ifname, ifindex));
	fx_link(fx_fmt("%s/device", n), fx_fmt("../../../%s", bdf));
	fx_link(cl, fx_fmt("../../%s", n + strlen("sys/")));
	fk_owned_add(bdf, fx_fmt("sys/devices/pci0000:00/%s/net", bdf));
	fk_owned_add(bdf, cl);
	if (route)
		fx_append("proc/net/route", fx_fmt("%s\t00000000\t0100000A\t0003\t0\t0\t0\t"
						   "00000000\t0\t0\t0\n",
						   ifname));
}

void fx_topology_sriov(void)
{
	static const char *const vfs[] = {TSR_VF0, TSR_VF1};
	static const int groups[] = {TSR_GROUP_VF0, TSR_GROUP_VF1};

	fx_setup();
	fx_driver("pcieport", NULL);
	fx_driver("ice", "ice");
	fx_driver("iavf", "iavf");
	fx_pci("0000:00:00.0", 0x8086, 0x09a2, 0x060000, NULL, 0, -1);
	fx_pci("0000:00:02.0", 0x8086, 0x347a, 0x060400, "pcieport", 8, -1);
	fx_pci(TSR_PF, 0x8086, 0x1593, 0x020000, "ice", 16, -1);
	netdev(TSR_PF, "enp3s0f0", 2, true);
	fx_write("sys/devices/pci0000:00/" TSR_PF "/sriov_totalvfs", "8\n");
	fx_write("sys/devices/pci0000:00/" TSR_PF "/sriov_numvfs", "2\n");
	for (int i = 0; i < 2; i++) {
		fx_pci(vfs[i], 0x8086, 0x1889, 0x020000, "iavf", groups[i], -1);
		netdev(vfs[i], fx_fmt("enp3s0f0v%d", i), 10 + i, false);
		fx_link(fx_fmt("sys/devices/pci0000:00/%s/physfn", vfs[i]), "../" TSR_PF);
		fx_link(fx_fmt("sys/devices/pci0000:00/" TSR_PF "/virtfn%d", i),
			fx_fmt("../%s", vfs[i]));
	}
	fx_nvme("0000:02:00.0", 12, 0, 2, "/");
}

void fx_topology_nvme(void)
{
	fx_setup();
	fx_driver("pcieport", NULL);
	fx_pci("0000:00:00.0", 0x1022, 0x14d8, 0x060000, NULL, 0, -1);
	fx_nvme(TNV_ROOT, TNV_GROUP_ROOT, 0, 2, "/");
	fx_nvme(TNV_DATA, TNV_GROUP_DATA, 1, 1, NULL);
}

void fx_topology_nvme_multipath(void)
{
	const char *ctrl = "sys/devices/pci0000:00/" TNV_MPATH "/nvme/nvme2";
	const char *head = "sys/devices/virtual/nvme-subsystem/nvme-subsys2/nvme2n1";

	fx_topology_nvme();
	fx_pci(TNV_MPATH, 0x144d, 0xa824, 0x010802, "nvme", TNV_GROUP_MPATH, -1);
	/* The path: a hidden disk under the controller, gone with its driver. */
	fx_write(fx_fmt("%s/nvme2c2n1/dev", ctrl), "259:33\n");
	fx_link(fx_fmt("%s/device", ctrl), "../../../" TNV_MPATH);
	fk_owned_add(TNV_MPATH, "sys/devices/pci0000:00/" TNV_MPATH "/nvme");
	/* The head and its partition stay in the subsystem. */
	fx_write(fx_fmt("%s/dev", head), "259:32\n");
	fx_write(fx_fmt("%s/nvme2n1p1/dev", head), "259:34\n");
	fx_write(fx_fmt("%s/nvme2n1p1/partition", head), "1\n");
	fx_link(fx_fmt("%s/multipath/nvme2c2n1", head),
		"../../../../../pci0000:00/" TNV_MPATH "/nvme/nvme2/nvme2c2n1");
	fx_link("sys/class/block/nvme2n1", fx_fmt("../../%s", head + strlen("sys/")));
	fx_link("sys/class/block/nvme2n1p1", fx_fmt("../../%s/nvme2n1p1", head + strlen("sys/")));
	fx_link("sys/block/nvme2n1", fx_fmt("../%s", head + strlen("sys/")));
	fx_devnode("dev/nvme2n1", 'b', 259, 32, NULL, NULL);
	fx_devnode("dev/nvme2n1p1", 'b', 259, 34, NULL, NULL);
	fx_mount("/dev/nvme2n1p1", "/srv", "xfs", "259:34");
}
