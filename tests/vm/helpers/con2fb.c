/* Guest helper for the real-kernel tests: maps console N to frame buffer 0 (FBIOPUT_CON2FBMAP),
 * which makes fbcon take the consoles over again; on 6.1 writing 1 to the frame buffer vtcon's
 * bind does not rebind it while the frame buffer stays registered. usage: con2fb [N] */
#include <fcntl.h>
#include <linux/fb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct fb_con2fbmap m = { .console = argc > 1 ? atoi(argv[1]) : 1, .framebuffer = 0 };
	int fd = open("/dev/fb0", O_RDWR | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, FBIOPUT_CON2FBMAP, &m) < 0) {
		perror("con2fb: /dev/fb0");
		return 1;
	}
	close(fd);
	return 0;
}
