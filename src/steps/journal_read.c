/* Reading a journal back: one owner-checked, size-bounded read of a file root wrote, each
 * line parsed once into devices, steps and wedged devices; anything else refuses the whole
 * journal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "input/config.h"
#include "steps/journal.h"
#include "steps/step.h"

void journal_data_free(struct journal_data *d)
{
	free(d->devs);
	free(d->steps);
	free(d->wedged);
	d->devs = NULL;
	d->steps = NULL;
	d->wedged = NULL;
	d->n_devs = d->n_steps = d->n_wedged = 0;
}

/* "wedged<TAB>BDF<TAB>WHY" */
static int parse_wedged(struct journal_data *d, char *rest)
{
	struct journal_wedged *tmp, *w;
	char *why = strchr(rest, '\t');
	char canon[BDF_STRLEN];

	if (!why)
		return -EINVAL;
	*why++ = '\0';
	for (const char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	tmp = realloc(d->wedged, (d->n_wedged + 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	d->wedged = tmp;
	w = &d->wedged[d->n_wedged];
	memset(w, 0, sizeof(*w));
	if (bdf_parse(rest, &w->dev) < 0 || strcmp(bdf_fmt(&w->dev, canon), rest) != 0 ||
	    strlcpy_chk(w->why, why, sizeof(w->why)) < 0)
		return -EINVAL;
	d->n_wedged++;
	return 0;
}

/* One line (without its newline) after the magic one, in the order journal_create and
 * journal_append write them: "vm", then "device" lines, then "step" lines. */
static int parse_line(struct journal_data *d, const char *vm, char *line)
{
	if (str_has_prefix(line, "vm\t")) {
		/* Once, first, and naming the file's own VM. */
		if (d->vm[0] || d->n_devs || d->n_steps || strcmp(line + 3, vm) != 0)
			return -EINVAL;
		return strlcpy_chk(d->vm, line + 3, sizeof(d->vm));
	} else if (str_has_prefix(line, "device\t")) {
		struct bdf *tmp;
		struct bdf b;
		char canon[BDF_STRLEN];

		if (!d->vm[0] || d->n_steps || d->n_devs == JOURNAL_MAX_DEVS ||
		    bdf_parse(line + 7, &b) < 0 || strcmp(bdf_fmt(&b, canon), line + 7) != 0)
			return -EINVAL;
		tmp = realloc(d->devs, (d->n_devs + 1) * sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		d->devs = tmp;
		d->devs[d->n_devs++] = b;
		return 0;
	} else if (str_has_prefix(line, "wedged\t")) {
		/* Appended when a kernel call timed out: after the vm line, at any point. */
		if (!d->vm[0] || d->n_wedged == JOURNAL_MAX_DEVS)
			return -EINVAL;
		return parse_wedged(d, line + 7);
	} else if (str_has_prefix(line, "step\t")) {
		struct step st;

		if (!d->vm[0] || d->n_steps == JOURNAL_MAX_STEPS || step_parse(line + 5, &st) < 0)
			return -EINVAL;
		if (d->n_steps % 16 == 0) {
			struct step *tmp = realloc(d->steps, (d->n_steps + 16) * sizeof(*tmp));

			if (!tmp)
				return -ENOMEM;
			d->steps = tmp;
		}
		d->steps[d->n_steps++] = st;
		return 0;
	}
	return -EINVAL;
}

/*
 * Opens vm's journal for reading with the checks configuration files get: not a symlink,
 * a regular file owned by the required owner (root) and not writable by group or other,
 * at most JOURNAL_MAX_BYTES. -ENOENT without a reason; otherwise a reason naming path.
 */
static int journal_open(const char *path, struct stat *ret_st)
{
	int fd, e;

	/* O_NONBLOCK: a FIFO planted here must not hang the hook; fstat refuses it next. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return -ENOENT;
		if (e == ELOOP)
			return reason_set(-EPERM, "journal %s refused: it is a symbolic link",
					  path);
		return reason_set(-e, "cannot open journal %s: %s", path, strerror(e));
	}
	if (fstat(fd, ret_st) < 0) {
		e = errno;
		close(fd);
		return reason_set(-e, "cannot stat journal %s: %s", path, strerror(e));
	}
	e = 0;
	if (!S_ISREG(ret_st->st_mode))
		e = reason_set(-EPERM, "journal %s refused: not a regular file", path);
	else if (ret_st->st_uid != config_required_owner())
		e = reason_set(-EPERM,
			       "journal %s refused: owner uid %u, not %u (not written by "
			       "vfio-handoff; remove it once you know what it is)",
			       path, (unsigned)ret_st->st_uid, config_required_owner());
	else if (ret_st->st_mode & (S_IWGRP | S_IWOTH))
		e = reason_set(-EPERM,
			       "journal %s refused: writable by group or other (mode %04o; "
			       "vfio-handoff writes 0600)",
			       path, (unsigned)(ret_st->st_mode & 07777));
	else if (ret_st->st_size > JOURNAL_MAX_BYTES)
		e = reason_set(-EFBIG,
			       "journal %s refused: %lld bytes, over the 1 MiB a journal can "
			       "reach",
			       path, (long long)ret_st->st_size);
	if (e < 0) {
		close(fd);
		return e;
	}
	return fd;
}

/* Reads the whole file (at most JOURNAL_MAX_BYTES, whatever fstat said) into *ret. */
static int read_bounded(int fd, char **ret, size_t *ret_len)
{
	char *buf = malloc(JOURNAL_MAX_BYTES + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	while (len <= JOURNAL_MAX_BYTES) {
		ssize_t n = read(fd, buf + len, JOURNAL_MAX_BYTES + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > JOURNAL_MAX_BYTES) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int journal_read(const char *vm, struct journal_data *ret)
{
	char path[VH_PATH_MAX];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len = 0;
	char *line, *end;
	int r, lineno = 0;

	memset(ret, 0, sizeof(*ret));
	r = journal_path(vm, path, sizeof(path));
	if (r < 0)
		return reason_set(r, "invalid VM name '%s'", vm);
	fd = journal_open(path, &st);
	if (fd < 0)
		return fd;
	r = read_bounded(fd, &buf, &len);
	if (r == -EFBIG)
		return reason_set(r, "journal %s refused: over the 1 MiB a journal can reach",
				  path);
	if (r < 0)
		return reason_set(r, "cannot read journal %s: %s", path, strerror(-r));
	for (line = buf; line < buf + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(buf + len - line));
		lineno++;
		if (!end) {
			if (lineno == 1 && !str_has_prefix(JOURNAL_MAGIC, line)) {
				r = -EBADMSG;
				goto bad;
			}
			/* Torn last entry: it was being written, so never applied. */
			log_warn("%s:%d: incomplete last entry ignored", path, lineno);
			break;
		}
		*end = '\0';
		if (end - line >= JOURNAL_LINE_MAX || memchr(line, '\0', (size_t)(end - line))) {
			r = -EBADMSG;
			goto bad;
		}
		if (lineno == 1) {
			if (strcmp(line, JOURNAL_MAGIC) != 0) {
				r = -EBADMSG;
				goto bad;
			}
			continue;
		}
		r = parse_line(ret, vm, line);
		if (r < 0)
			goto bad;
	}
	/* Empty, or torn before its first line ended: a crash between creating the journal
	 * and writing it. Nothing was done. */
	if (!ret->vm[0])
		strlcpy_chk(ret->vm, vm, sizeof(ret->vm));
	return 0;
bad:
	journal_data_free(ret);
	return reason_set(r == -ENOMEM ? r : -EBADMSG, "%s:%d: malformed journal entry", path,
			  lineno);
}
