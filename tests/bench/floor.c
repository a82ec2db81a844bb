/* The benchmark's floor: the kernel and systemd operations of a single-GPU hand-off, in the
 * order vfio-handoff does them, with no check, no journal, no deadline and no discovery
 * (everything comes on the command line). What is left is what the kernel and systemd cost.
 *   floor prepare|release [--unit U] [--vtcon N]... [--fb DEV=DRIVER]...
 *         [--module NAME=KO]... [--vfio KO[:OPTIONS]] --dev BDF...
 * prepare: stop U; vtconN/bind=0; unbind DEV; remove each module; load vfio-pci if absent;
 *          driver_override=vfio-pci, unbind, drivers_probe for every BDF.
 * release: the reverse: unbind every BDF from vfio-pci and clear its override; load each
 *          module from KO (last first); bind DEV; vtconN/bind=1; start U.
 * A write the kernel refuses is ignored (the benchmark checks the result); exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/module.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX 16

static const char *unit;
static const char *vtcons[MAX], *fbs[MAX], *mods[MAX], *devs[MAX];
static size_t n_vtcons, n_fbs, n_mods, n_devs;
static const char *vfio_ko = "", *vfio_opts = "";

/* One write(2), as sysfs wants; the result is not checked. */
static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0) {
		/* ignored: the floor does not check */
	}
	close(fd);
}

static void putf(const char *val, const char *fmt, const char *a, const char *b)
{
	char p[512];

	snprintf(p, sizeof(p), fmt, a, b);
	put(p, val);
}

static void systemctl(const char *verb)
{
	pid_t pid;

	if (!unit)
		return;
	pid = fork();
	if (pid == 0) {
		execl("/usr/bin/systemctl", "systemctl", "--no-ask-password", verb, unit,
		      (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* NAME=VALUE: the value, and NAME cut at '=' in a copy. */
static const char *split(const char *arg, char *name, size_t n)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	snprintf(name, n, "%.*s", (int)len, arg);
	return eq ? eq + 1 : "";
}

static void load(const char *ko, const char *opts)
{
	const char *dot = strrchr(ko, '.');
	int fd = open(ko, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* A compressed module (.ko.xz, Debian 13) is decompressed by the kernel (>= 6.4). */
	syscall(SYS_finit_module, fd, opts,
		dot && strcmp(dot, ".ko") != 0 ? MODULE_INIT_COMPRESSED_FILE : 0);
	close(fd);
}

static void prepare(void)
{
	char name[64];

	systemctl("stop");
	for (size_t i = 0; i < n_vtcons; i++)
		putf("0", "/sys/class/vtconsole/vtcon%s/bind%s", vtcons[i], "");
	for (size_t i = 0; i < n_fbs; i++) {
		split(fbs[i], name, sizeof(name));
		putf(name, "/sys/bus/platform/devices/%s/driver/unbind%s", name, "");
	}
	for (size_t i = 0; i < n_mods; i++) {
		split(mods[i], name, sizeof(name));
		syscall(SYS_delete_module, name, O_NONBLOCK);
	}
	/* vfio-pci stays loaded after a give-back: load it only the first time, as
	 * vfio-handoff does. */
	if (vfio_ko[0] && access("/sys/module/vfio_pci", F_OK) != 0)
		load(vfio_ko, vfio_opts);
	for (size_t i = 0; i < n_devs; i++)
		putf("vfio-pci", "/sys/bus/pci/devices/%s/driver_override%s", devs[i], "");
	for (size_t i = 0; i < n_devs; i++)
		putf(devs[i], "/sys/bus/pci/devices/%s/driver/unbind%s", devs[i], "");
	for (size_t i = 0; i < n_devs; i++)
		put("/sys/bus/pci/drivers_probe", devs[i]);
}

static void release(void)
{
	char name[64];
	const char *v;

	for (size_t i = n_devs; i-- > 0;)
		put("/sys/bus/pci/drivers/vfio-pci/unbind", devs[i]);
	for (size_t i = n_devs; i-- > 0;)
		putf("\n", "/sys/bus/pci/devices/%s/driver_override%s", devs[i], "");
	for (size_t i = n_mods; i-- > 0;)
		load(split(mods[i], name, sizeof(name)), "");
	for (size_t i = n_fbs; i-- > 0;) {
		v = split(fbs[i], name, sizeof(name));
		putf(name, "/sys/bus/platform/drivers/%s/bind%s", v, "");
	}
	for (size_t i = n_vtcons; i-- > 0;)
		putf("1", "/sys/class/vtconsole/vtcon%s/bind%s", vtcons[i], "");
	systemctl("start");
}

static int add(const char **list, size_t *n, const char *v)
{
	if (*n >= MAX)
		return -1;
	list[(*n)++] = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"unit", required_argument, NULL, 'u'},
	    {"vtcon", required_argument, NULL, 'c'},
	    {"fb", required_argument, NULL, 'f'},
	    {"module", required_argument, NULL, 'm'},
	    {"vfio", required_argument, NULL, 'v'},
	    {"dev", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	char *colon;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "u:c:f:m:v:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			unit = optarg;
			break;
		case 'c':
			r |= add(vtcons, &n_vtcons, optarg);
			break;
		case 'f':
			r |= add(fbs, &n_fbs, optarg);
			break;
		case 'm':
			r |= add(mods, &n_mods, optarg);
			break;
		case 'v':
			vfio_ko = optarg;
			colon = strchr(optarg, ':');
			if (colon) {
				*colon = '\0';
				vfio_opts = colon + 1;
			}
			break;
		case 'd':
			r |= add(devs, &n_devs, optarg);
			break;
		default:
			return 2;
		}
	}
	if (r < 0 || optind != argc - 1) {
		fprintf(stderr, "usage: floor prepare|release [--unit U] [--vtcon N]... "
				"[--fb DEV=DRIVER]... [--module NAME=KO]... [--vfio KO[:OPTIONS]] "
				"--dev BDF...\n");
		return 2;
	}
	if (strcmp(argv[optind], "prepare") == 0)
		prepare();
	else if (strcmp(argv[optind], "release") == 0)
		release();
	else
		return 2;
	return 0;
}
