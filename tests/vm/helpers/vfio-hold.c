/* Guest helper for the real-kernel tests: holds a device the way a running VM does. Opens
 * /dev/vfio/GROUP, attaches it to a type1 container and keeps a device fd of BDF open until
 * SIGTERM; meanwhile vfio-pci's remove() of that device blocks in the kernel.
 * usage: vfio-hold [-r READYFILE] GROUP BDF */
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	struct sigaction sa;
	char path[64];
	int opt, container, group, dev;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r')
			return 2;
		ready = optarg;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: vfio-hold [-r READYFILE] GROUP BDF\n");
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[optind]);
	group = open(path, O_RDWR);
	if (container < 0 || group < 0 || ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		perror("vfio-hold: group");
		return 1;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[optind + 1]);
	if (dev < 0) {
		perror("vfio-hold: device");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (ready)
		close(open(ready, O_WRONLY | O_CREAT, 0644));
	while (!done)
		pause();
	close(dev);
	close(group);
	close(container);
	return 0;
}
