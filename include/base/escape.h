/* Untrusted text made safe to show: the one rule for every string from outside (VM names,
 * arguments, file names, sysfs and pci.ids text, journal contents) that reaches a terminal,
 * a reason or the log. */
#ifndef VH_BASE_ESCAPE_H
#define VH_BASE_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* Room for a 255-byte string of which every byte is escaped. */
#define ESC_BUF 1024

enum esc_flags {
	/* A backslash stays as it is: for text already escaped once (a whole message at its
	 * sink), so an escape in it is not escaped twice. */
	ESC_KEEP_BACKSLASH = 1 << 0,
};

/*
 * Copies at most max bytes of s into buf (size n >= 4), every byte that could act on a
 * terminal or forge a line as a C-style \xNN: control characters (C0, DEL, and C1 as
 * UTF-8), bytes that are not well-formed UTF-8, the Unicode line separators and the
 * bidirectional controls that reorder what a terminal shows, and the backslash itself.
 * Well-formed UTF-8 otherwise passes (libvirt allows it in VM names). A cut input, by
 * max or by n, ends in "..."; an escape or a character is never split. Returns buf.
 */
const char *esc_n(char *buf, size_t n, const char *s, size_t max, unsigned flags);

/* esc_n of the whole string. */
static inline const char *esc(const char *s, char *buf, size_t n)
{
	return esc_n(buf, n, s, SIZE_MAX, 0);
}

/* esc() into a buffer that lives until the end of the enclosing block:
 *   printf("VM %s\n", ESC(name)); */
#define ESC(s) esc((s), (char[ESC_BUF]){0}, ESC_BUF)

#endif
