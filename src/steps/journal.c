/* The journal: one file per VM under /run/vfio-handoff, each step written and flushed
 * before it is applied; and the lock that serializes prepare, release and recover. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/util.h"
#include "input/config.h"
#include "steps/journal.h"
#include "steps/step.h"

#ifdef VH_TEST_SEAMS
static int real_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static const struct journal_io journal_io_real = {real_open, write, fdatasync};
static const struct journal_io *jio = &journal_io_real;

void journal_io_set(const struct journal_io *io)
{
	jio = io ? io : &journal_io_real;
}
#define j_open(p, f, m) jio->open(p, f, m)
#define j_write(fd, b, n) jio->write(fd, b, n)
#define j_fdatasync(fd) jio->sync(fd)
#define j_fsync(fd) jio->sync(fd)
#else
#define j_open(p, f, m) open(p, f, m)
#define j_write(fd, b, n) write(fd, b, n)
#define j_fdatasync(fd) fdatasync(fd)
#define j_fsync(fd) fsync(fd)
#endif

static int run_dir(char *buf, size_t n)
{
	char p[VH_PATH_MAX];
	int r;

	r = path_join(buf, n, RUN_DIR);
	if (r < 0)
		return r;
	/* The parent (/run) exists on a real host; in a fixture tree create it too. */
	if (path_join(p, sizeof(p), "/run") == 0)
		mkdir(p, 0755);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return reason_set(-errno, "cannot create %s: %s", buf, strerror(errno));
	/* Whoever could write it could plant or swap a journal. */
	r = config_check_dir(buf);
	if (r == -ENOENT)
		return reason_set(r, "%s: %s", buf, strerror(-r));
	return r;
}

int journal_path(const char *vm, char *buf, size_t n)
{
	if (!name_vm_valid(vm))
		return -EINVAL;
	return path_join(buf, n, RUN_DIR "/%s" JOURNAL_SUFFIX, vm);
}

struct lock_try {
	int fd;
};

static int lock_try(void *data)
{
	struct lock_try *t = data;

	if (flock(t->fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
}

int journal_lock(int timeout_ms, int *ret_fd)
{
	char dir[VH_PATH_MAX], p[VH_PATH_MAX];
	struct lock_try t;
	int r;

	r = run_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	r = snprintf_chk(p, sizeof(p), "%s/lock", dir);
	if (r < 0)
		return r;
	t.fd = j_open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t.fd < 0)
		return reason_set(-errno, "cannot open %s: %s", p, strerror(errno));
	r = wait_until(lock_try, &t, timeout_ms);
	if (r < 0) {
		close(t.fd);
		return reason_set(r, "%s is held by another vfio-handoff for more than %d ms", p,
				  timeout_ms);
	}
	*ret_fd = t.fd;
	return 0;
}

static int write_all(int fd, const char *buf)
{
	size_t len = strlen(buf);
	ssize_t w = j_write(fd, buf, len);

	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

/* A journal of vm that records no step (empty after a crash between its creation and
 * its first write, or with its devices only) says nothing was done: removed, so a new
 * prepare can start. One with steps stays (-EEXIST, no reason). */
static int replace_undone(const char *vm, const char *path)
{
	struct journal_data d;
	int r;

	r = journal_read(vm, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = d.n_steps ? -EEXIST : 0;
	journal_data_free(&d);
	if (r < 0)
		return 0; /* the caller's open says EEXIST */
	log_info("%s records no step: nothing was done; replaced", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return reason_set(-errno, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

int journal_create(const char *vm, const struct bdf *devs, size_t n, struct journal *ret)
{
	char dir[VH_PATH_MAX], buf[512];
	int r;

	r = run_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	r = journal_path(vm, ret->path, sizeof(ret->path));
	if (r < 0)
		return reason_set(r, "invalid VM name '%s'", vm);
	ret->fd = j_open(ret->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ret->fd < 0 && errno == EEXIST) {
		r = replace_undone(vm, ret->path);
		if (r < 0)
			return r;
		ret->fd =
		    j_open(ret->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (ret->fd < 0) {
		r = -errno;
		if (r == -EEXIST)
			return reason_set(
			    r,
			    "VM '%s' already holds its devices (journal %s exists; "
			    "run 'vfio-handoff release %s' or 'vfio-handoff recover %s')",
			    vm, ret->path, vm, vm);
		return reason_set(r, "cannot create journal %s: %s", ret->path, strerror(-r));
	}
	snprintf(buf, sizeof(buf), JOURNAL_MAGIC "\nvm\t%s\n", vm);
	r = write_all(ret->fd, buf);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char name[BDF_STRLEN];

		snprintf(buf, sizeof(buf), "device\t%s\n", bdf_fmt(&devs[i], name));
		r = write_all(ret->fd, buf);
	}
	if (r == 0 && j_fdatasync(ret->fd) < 0)
		r = -errno;
	if (r == 0)
		r = sync_dir(dir);
	if (r < 0) {
		close(ret->fd);
		unlink(ret->path);
		ret->fd = -1;
		return reason_set(r, "cannot write journal %s: %s", ret->path, strerror(-r));
	}
	return 0;
}

int journal_append(struct journal *j, const struct step *s)
{
	char line[STEP_ARG_MAX + STEP_REC_MAX + 80];
	int r;

	memcpy(line, "step\t", 5);
	r = step_format(s, line + 5, sizeof(line) - 6);
	if (r < 0)
		return reason_set(r, "cannot format a journal entry");
	strcat(line, "\n");
	/* One write per entry: a crash leaves whole lines, or a torn last one that was
	 * never applied. */
	r = write_all(j->fd, line);
	if (r == 0 && j_fdatasync(j->fd) < 0)
		r = -errno;
	if (r < 0)
		return reason_set(r, "cannot write journal %s: %s", j->path, strerror(-r));
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

int journal_rewrite(const char *vm, const struct journal_data *d)
{
	char path[VH_PATH_MAX], tmp[VH_PATH_MAX + 8], buf[STEP_ARG_MAX + STEP_REC_MAX + 80];
	int fd, r;

	if (d->n_steps == 0 && d->n_wedged == 0)
		return journal_remove(vm);
	r = journal_path(vm, path, sizeof(path));
	if (r < 0)
		return r;
	r = snprintf_chk(tmp, sizeof(tmp), "%s.new", path);
	if (r < 0)
		return r;
	fd = j_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), JOURNAL_MAGIC "\nvm\t%s\n", vm);
	r = write_all(fd, buf);
	for (size_t i = 0; r == 0 && i < d->n_devs; i++) {
		char name[BDF_STRLEN];

		snprintf(buf, sizeof(buf), "device\t%s\n", bdf_fmt(&d->devs[i], name));
		r = write_all(fd, buf);
	}
	for (size_t i = 0; r == 0 && i < d->n_steps; i++) {
		memcpy(buf, "step\t", 5);
		r = step_format(&d->steps[i], buf + 5, sizeof(buf) - 6);
		if (r == 0) {
			strcat(buf, "\n");
			r = write_all(fd, buf);
		}
	}
	for (size_t i = 0; r == 0 && i < d->n_wedged; i++) {
		char name[BDF_STRLEN];

		r = snprintf_chk(buf, sizeof(buf), "wedged\t%s\t%s\n",
				 bdf_fmt(&d->wedged[i].dev, name),
				 d->wedged[i].why[0] ? d->wedged[i].why : "-");
		if (r == 0)
			r = write_all(fd, buf);
	}
	if (r == 0 && j_fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int journal_remove(const char *vm)
{
	char path[VH_PATH_MAX];
	int r;

	r = journal_path(vm, path, sizeof(path));
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int journal_list(char ***ret, size_t *ret_n)
{
	char dir[VH_PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = path_join(dir, sizeof(dir), RUN_DIR);
	if (r < 0)
		return r;
	r = config_check_dir(dir);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(JOURNAL_SUFFIX);
		char **tmp;

		if (e->d_name[0] == '.' || len <= sl ||
		    strcmp(e->d_name + len - sl, JOURNAL_SUFFIX) != 0)
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		names = tmp;
		names[n] = strndup(e->d_name, len - sl);
		if (!names[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		journal_list_free(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

void journal_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int journal_find_owner(const struct bdf *addr, const char *self, char *owner, size_t n)
{
	char **names;
	size_t count;
	int found = 0, r;

	r = journal_list(&names, &count);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count && !found; i++) {
		struct journal_data d;

		if (self && strcmp(names[i], self) == 0)
			continue;
		/* Never written by us (journal_create refuses such names): it owns nothing. */
		if (!name_vm_valid(names[i]))
			continue;
		r = journal_read(names[i], &d);
		if (r == -ENOENT)
			continue; /* released meanwhile */
		if (r < 0) {
			/* It may hold this device: fail closed, with its file and why. */
			found = r;
			break;
		}
		for (size_t k = 0; k < d.n_devs; k++)
			if (bdf_equal(&d.devs[k], addr)) {
				strlcpy_chk(owner, names[i], n);
				found = 1;
				break;
			}
		journal_data_free(&d);
	}
	journal_list_free(names, count);
	return found;
}
