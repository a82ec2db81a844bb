#!/bin/bash
# Installs (or with --uninstall removes) vfio-handoff: the libvirt hook, the vfio-handoff
# command, /etc/vfio-handoff/ with examples, the man page; records it all in a manifest.
set -uo pipefail

PROG=install.sh
MARKER='the libvirt hook of vfio-handoff'
BACKUP_SUFFIX=.vfio-handoff-backup

# Exit codes.
E_OK=0 E_FAIL=1 E_USAGE=2 E_REFUSED=3 E_NOTINSTALLED=4 E_RESTART=5

usage() {
	cat <<EOF
usage: ./install.sh [OPTIONS]            install vfio-handoff
       ./install.sh --uninstall [OPTIONS]  remove exactly what install.sh installed

Installs the hook program as HOOKS_DIR/qemu (libvirt runs it for every VM event), its
engine as HOOKS_DIR/vfio-handoff/hook-engine (the hook runs it for the calls it acts
on), the vfio-handoff command into PREFIX/bin, SYSCONFDIR/vfio-handoff/ with vm.d/ and commented
examples, and the man page when the source tree has one. What it installs is recorded in
DESTDIR/var/lib/vfio-handoff/install-manifest; --uninstall removes exactly that.

  --prefix DIR       where the command and man page go (default \$PREFIX or /usr/local)
  --sysconfdir DIR   where vfio-handoff/ goes (default \$SYSCONFDIR or /etc)
  --destdir DIR      stage everything under DIR (default \$DESTDIR); never restarts anything
  --hooks-dir DIR    libvirt's hooks directory (default SYSCONFDIR/libvirt/hooks)
  --qemu-d [NAME]    install the hook as HOOKS_DIR/qemu.d/NAME (default NAME: vfio-handoff)
                     instead of HOOKS_DIR/qemu; libvirt >= 6.5 runs those too
  --build-dir DIR    take the programs from DIR, do not run make (default: build/, made
                     with 'make' when out of date)
  --force            move a hook that is not ours to HOOK$BACKUP_SUFFIX (--uninstall
                     puts it back); uninstall even while a VM holds devices
  --restart          restart the libvirt daemon afterwards (it reads hooks only at start)
  --no-restart       do not restart it, and do not ask
  --uninstall        remove what the manifest lists; files changed since stay
  -h, --help         this text

Never overwrites a configuration file, never replaces a foreign hook without --force.
Without --restart/--no-restart it asks, when stdin is a terminal.

Exit status: 0 done; 1 failed; 2 bad usage; 3 refused (a foreign hook, a VM holding
devices, a path in the way); 4 nothing to uninstall; 5 installed, but the restart failed.
EOF
}

die() { # die CODE MESSAGE
	local c=$1; shift
	echo "$PROG: $*" >&2
	exit "$c"
}
say() { echo "$*"; }
warn() { echo "$PROG: warning: $*" >&2; }

# --- options ---------------------------------------------------------------------------
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
DESTDIR=${DESTDIR:-}
HOOKS_DIR=
QEMU_D=
BUILD_DIR=
FORCE=0 UNINSTALL=0 RESTART=ask

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die $E_USAGE "$1 needs an argument (see --help)"; }
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) need_arg "$@"; PREFIX=$2; shift ;;
	--prefix=*) PREFIX=${1#*=} ;;
	--sysconfdir) need_arg "$@"; SYSCONFDIR=$2; shift ;;
	--sysconfdir=*) SYSCONFDIR=${1#*=} ;;
	--destdir) need_arg "$@"; DESTDIR=$2; shift ;;
	--destdir=*) DESTDIR=${1#*=} ;;
	--hooks-dir) need_arg "$@"; HOOKS_DIR=$2; shift ;;
	--hooks-dir=*) HOOKS_DIR=${1#*=} ;;
	--qemu-d)
		if [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ]; then QEMU_D=$2; shift
		else QEMU_D=vfio-handoff; fi ;;
	--qemu-d=*) QEMU_D=${1#*=} ;;
	--build-dir) need_arg "$@"; BUILD_DIR=$2; shift ;;
	--build-dir=*) BUILD_DIR=${1#*=} ;;
	--force) FORCE=1 ;;
	--restart) RESTART=yes ;;
	--no-restart) RESTART=no ;;
	--uninstall) UNINSTALL=1 ;;
	-h | --help) usage; exit $E_OK ;;
	*) die $E_USAGE "unknown argument '$1' (see --help)" ;;
	esac
	shift
done

for v in PREFIX SYSCONFDIR; do
	case ${!v} in
	/*) ;;
	*) die $E_USAGE "$v must be an absolute path, not '${!v}'" ;;
	esac
done
HOOKS_DIR=${HOOKS_DIR:-$SYSCONFDIR/libvirt/hooks}
case $HOOKS_DIR in /*) ;; *) die $E_USAGE "--hooks-dir must be an absolute path" ;; esac
if [ -n "$QEMU_D" ]; then
	case $QEMU_D in
	*/* | .* | *[[:space:]]*) die $E_USAGE "--qemu-d NAME must be a plain file name, not '$QEMU_D'" ;;
	esac
fi
for p in "$PREFIX" "$SYSCONFDIR" "$HOOKS_DIR"; do
	case $p in *[[:space:]]*) die $E_USAGE "paths with white space are not supported: '$p'" ;; esac
done
PREFIX=${PREFIX%/} SYSCONFDIR=${SYSCONFDIR%/} HOOKS_DIR=${HOOKS_DIR%/} DESTDIR=${DESTDIR%/}
[ -n "$PREFIX" ] || PREFIX=/usr
[ -n "$SYSCONFDIR" ] || SYSCONFDIR=/etc

BINDIR=$PREFIX/bin
MANDIR=$PREFIX/share/man
# The hook's engine: the hook (libc only) execs it for the calls it acts on, from beside
# itself. Under the hooks directory because libvirtd's AppArmor profile lets a hook exec
# only from there and from /bin, /sbin, /usr/bin, /usr/sbin.
ENGINE=$HOOKS_DIR/vfio-handoff/hook-engine
CONFDIR=$SYSCONFDIR/vfio-handoff
MANIFEST=/var/lib/vfio-handoff/install-manifest
if [ -n "$QEMU_D" ]; then
	HOOK=$HOOKS_DIR/qemu.d/$QEMU_D
	# A backup inside qemu.d/ would be run by libvirt: keep it beside qemu.d/ instead.
	HOOK_BACKUP=$HOOKS_DIR/qemu.d.$QEMU_D$BACKUP_SUFFIX
else
	HOOK=$HOOKS_DIR/qemu
	HOOK_BACKUP=$HOOK$BACKUP_SUFFIX
fi

case ${BASH_SOURCE[0]} in */*) SRC=${BASH_SOURCE[0]%/*} ;; *) SRC=. ;; esac
SRC=$(cd "$SRC" && pwd) || die $E_FAIL "cannot find the source tree"

if [ "$EUID" -ne 0 ] && [ -z "$DESTDIR" ]; then
	die $E_FAIL "must run as root to install into / (or stage with --destdir DIR)"
fi
OWNER=()
[ "$EUID" -eq 0 ] && OWNER=(-o root -g root)

# --- the manifest ----------------------------------------------------------------------
# One line per thing installed, paths without DESTDIR:
#   dir    -      PATH        a directory this script created
#   file   SHA256 PATH        a file this script wrote (examples, programs, man page)
#   config SHA256 PATH        a config file created because none existed
#   hook   SHA256 PATH        the hook program
#   backup ORIG   PATH        a foreign hook moved away from ORIG
declare -A M_KIND=() M_SUM=()
M_ORDER=()
m_set() { # m_set KIND SUM PATH
	[ -n "${M_KIND[$3]+x}" ] || M_ORDER+=("$3")
	M_KIND[$3]=$1 M_SUM[$3]=$2
}
m_del() { unset "M_KIND[$1]" "M_SUM[$1]"; }
m_load() {
	local kind sum path
	[ -f "$DESTDIR$MANIFEST" ] || return 1
	while read -r kind sum path; do
		case $kind in dir | file | config | hook | backup) m_set "$kind" "$sum" "$path" ;; esac
	done <"$DESTDIR$MANIFEST"
	return 0
}
m_write() {
	local d=$DESTDIR${MANIFEST%/*} tmp p
	mkdir_rec "${MANIFEST%/*}"
	tmp=$(mktemp "$d/.install-manifest.XXXXXX") || die $E_FAIL "cannot write in $d"
	{
		echo "# vfio-handoff: what install.sh installed (paths without DESTDIR)."
		echo "# './install.sh --uninstall' removes exactly these; files changed since stay."
		for p in "${M_ORDER[@]}"; do
			[ -n "${M_KIND[$p]+x}" ] && echo "${M_KIND[$p]} ${M_SUM[$p]} $p"
		done
	} >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$DESTDIR$MANIFEST" ||
		{ rm -f "$tmp"; die $E_FAIL "cannot write $DESTDIR$MANIFEST"; }
}

sum() { local s; s=$(sha256sum <"$1") && echo "${s%% *}"; }
is_ours() { # a regular file (not a link) that carries the hook's marker
	[ -f "$1" ] && [ ! -L "$1" ] && grep -qaF "$MARKER" "$1" 2>/dev/null
}

# --- the libvirt daemon ----------------------------------------------------------------
daemons_running() { # prints the names of running libvirt daemons that run qemu hooks
	local d
	for d in virtqemud libvirtd; do
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
			systemctl is-active --quiet "$d.service" 2>/dev/null && { echo "$d"; continue; }
		fi
		pidof "$d" >/dev/null 2>&1 && echo "$d"
	done
}

restart_daemons() { # returns non-zero if a restart failed
	local what=$1 ds d rc=0 ans
	if [ -n "$DESTDIR" ]; then
		say "libvirt reads its hooks when its daemon starts: once this tree is in place, restart"
		say "libvirtd (or virtqemud). Nothing restarted here (a DESTDIR install)."
		return 0
	fi
	ds=$(daemons_running)
	if [ -z "$ds" ]; then
		say "libvirt reads its hooks when its daemon starts (libvirtd, or virtqemud with the"
		say "modular daemons); none is running now, so the next start will see this $what."
		return 0
	fi
	ds=$(echo $ds)
	local how="systemctl restart ${ds%% *}"
	[ -d /run/systemd/system ] || how="restart ${ds%% *} (or send it SIGHUP: pkill -HUP -x ${ds%% *})"
	say "libvirt only sees a new or removed hook after its daemon restarts: $ds is running"
	say "with the old hook list. Running VMs keep running across the restart."
	case $RESTART in
	no) say "Not restarting (--no-restart): $how before the next VM start."
		return 0 ;;
	ask)
		if [ -t 0 ]; then
			read -r -p "Restart $ds now? [y/N] " ans || ans=
			case $ans in y | Y | yes | YES) ;; *)
				say "Not restarted: $how before the next VM start."
				return 0 ;;
			esac
		else
			say "Not restarted (stdin is not a terminal; use --restart):"
			say "$how before the next VM start."
			return 0
		fi ;;
	esac
	for d in $ds; do
		if [ -d /run/systemd/system ] && systemctl is-active --quiet "$d.service" 2>/dev/null; then
			if systemctl restart "$d.service"; then say "Restarted $d."
			else warn "'systemctl restart $d' failed"; rc=1; fi
		else
			# No service manager owns it: SIGHUP makes libvirt re-read its hooks.
			local pids
			read -r -a pids <<<"$(pidof "$d")"
			if kill -HUP "${pids[@]}"; then say "Sent SIGHUP to $d (it re-reads its hooks)."
			else warn "could not signal $d"; rc=1; fi
		fi
	done
	return $rc
}

# --- uninstall -------------------------------------------------------------------------
do_uninstall() {
	local p kind kept=0 removed=0 j busy=()
	m_load || die $E_NOTINSTALLED "nothing to uninstall: no manifest at $DESTDIR$MANIFEST"

	# A VM that holds devices needs the hook's release to give them back.
	for j in "$DESTDIR"/run/vfio-handoff/*.journal; do
		[ -e "$j" ] && busy+=("$(basename "$j" .journal)")
	done
	if [ ${#busy[@]} -gt 0 ] && [ $FORCE -ne 1 ]; then
		die $E_REFUSED "VM(s) ${busy[*]} hold devices handed over by the hook; stop them (or run 'vfio-handoff recover') first, or use --force"
	fi

	# Files first (the hook last of them), then the backed-up hook, then directories.
	for kind in file config hook; do
		for p in "${M_ORDER[@]}"; do
			[ "${M_KIND[$p]-}" = "$kind" ] || continue
			if [ ! -e "$DESTDIR$p" ] && [ ! -L "$DESTDIR$p" ]; then
				m_del "$p"
			elif [ -f "$DESTDIR$p" ] && [ ! -L "$DESTDIR$p" ] && [ "$(sum "$DESTDIR$p")" = "${M_SUM[$p]}" ]; then
				rm -f "$DESTDIR$p" && { m_del "$p"; removed=$((removed + 1)); }
			elif [ "$kind" = hook ] && is_ours "$DESTDIR$p"; then
				# Another build of ours: still ours to remove.
				rm -f "$DESTDIR$p" && { m_del "$p"; removed=$((removed + 1)); }
			else
				say "kept $DESTDIR$p: changed since it was installed"
				m_del "$p"; kept=$((kept + 1))
			fi
		done
	done
	for p in "${M_ORDER[@]}"; do
		[ "${M_KIND[$p]-}" = backup ] || continue
		local orig=${M_SUM[$p]}
		if [ ! -e "$DESTDIR$p" ] && [ ! -L "$DESTDIR$p" ]; then
			warn "the backup $DESTDIR$p of the previous hook is gone; nothing to restore"
		elif [ -e "$DESTDIR$orig" ] || [ -L "$DESTDIR$orig" ]; then
			warn "not restoring $DESTDIR$p: $DESTDIR$orig exists (restore it by hand)"
			kept=$((kept + 1))
		else
			mv "$DESTDIR$p" "$DESTDIR$orig" || die $E_FAIL "cannot restore $DESTDIR$orig"
			say "restored the previous hook $DESTDIR$orig"
		fi
		m_del "$p"
	done
	rm -f "$DESTDIR$MANIFEST"
	# Deepest directories first; a directory with anything left in it stays.
	local dirs=()
	for p in "${M_ORDER[@]}"; do [ "${M_KIND[$p]-}" = dir ] && dirs+=("$p"); done
	while IFS= read -r p; do
		[ -n "$p" ] || continue
		if [ -d "$DESTDIR$p" ] && ! rmdir "$DESTDIR$p" 2>/dev/null; then
			say "kept $DESTDIR$p: not empty"
		fi
		m_del "$p"
	done <<<"$(printf '%s\n' "${dirs[@]}" | awk '{ print gsub("/", "/") "\t" $0 }' | sort -rn | cut -f2-)"

	rmdir "$DESTDIR${MANIFEST%/*}" 2>/dev/null
	say "vfio-handoff uninstalled from ${DESTDIR:-/} ($removed files removed, $kept kept)."
	restart_daemons "hook removal" || exit $E_RESTART
	exit $E_OK
}

[ $UNINSTALL -eq 1 ] && do_uninstall

# --- checks before anything changes ----------------------------------------------------
m_load && say "Updating the installation recorded in $DESTDIR$MANIFEST."

# The Debian package's hook (qemu.d/vfio-handoff, a link into /usr/sbin): libvirt would
# run both copies, and dpkg owns that one.
PKG_HOOK=$HOOKS_DIR/qemu.d/vfio-handoff
if [ -L "$DESTDIR$PKG_HOOK" ] && [ "$(readlink "$DESTDIR$PKG_HOOK")" = /usr/sbin/vfio-handoff-hook ]; then
	die $E_REFUSED "the vfio-handoff Debian package is installed ($DESTDIR$PKG_HOOK); libvirt would run both hooks. Use the package, or remove it first (apt-get remove vfio-handoff)."
fi

# The hook at its place: ours, absent, or foreign (refused without --force).
FOREIGN=0
if [ -e "$DESTDIR$HOOK" ] || [ -L "$DESTDIR$HOOK" ]; then
	if ! is_ours "$DESTDIR$HOOK"; then
		FOREIGN=1
		if [ $FORCE -ne 1 ]; then
			die $E_REFUSED "$DESTDIR$HOOK exists and is not vfio-handoff's hook; libvirt runs only one qemu hook there. Not replacing it. Merge it by hand, install with --qemu-d to use qemu.d/ instead, or use --force to move it to $DESTDIR$HOOK_BACKUP (--uninstall puts it back)."
		fi
		if [ -e "$DESTDIR$HOOK_BACKUP" ] || [ -L "$DESTDIR$HOOK_BACKUP" ]; then
			die $E_REFUSED "cannot back up $DESTDIR$HOOK: $DESTDIR$HOOK_BACKUP already exists; move one of them away first"
		fi
	fi
fi
# Our hook anywhere else would make libvirt run it twice per event.
OTHER=()
for p in "$DESTDIR$HOOKS_DIR/qemu" "$DESTDIR$HOOKS_DIR"/qemu.d/*; do
	p=${p#"$DESTDIR"}
	[ "$p" = "$HOOK" ] && continue
	is_ours "$DESTDIR$p" && OTHER+=("$p")
done
for p in "${OTHER[@]}"; do
	if [ "${M_KIND[$p]-}" != hook ] && [ $FORCE -ne 1 ]; then
		die $E_REFUSED "vfio-handoff's hook is also at $DESTDIR$p (not installed by this script); libvirt would run it twice. Remove it, or use --force."
	fi
done
for p in "$CONFDIR" "$CONFDIR/vm.d" "$CONFDIR/examples" "$BINDIR" "${HOOK%/*}"; do
	[ -e "$DESTDIR$p" ] && [ ! -d "$DESTDIR$p" ] && die $E_REFUSED "$DESTDIR$p is in the way: it is not a directory"
done

# --- build -----------------------------------------------------------------------------
# Built when a program is missing or older than a source (make decides what to redo).
needs_build() {
	local bin f
	for bin in "$SRC/build/vfio-handoff-hook" "$SRC/build/vfio-handoff-hook-engine" \
		"$SRC/build/vfio-handoff"; do
		[ -x "$bin" ] || return 0
		for f in "$SRC"/hook/*.c "$SRC"/src/*/*.c "$SRC"/include/*/*.h; do
			[ "$f" -nt "$bin" ] && return 0
		done
	done
	return 1
}
if [ -z "$BUILD_DIR" ]; then
	BUILD_DIR=$SRC/build
	if [ -f "$SRC/Makefile" ] && needs_build; then
		command -v make >/dev/null || die $E_FAIL "the programs need building and there is no make"
		say "Building (make)..."
		make -C "$SRC" all >&2 || die $E_FAIL "the build failed (see above); nothing installed"
	fi
fi
HOOK_BIN=$BUILD_DIR/vfio-handoff-hook
ENGINE_BIN=$BUILD_DIR/vfio-handoff-hook-engine
CLI_BIN=$BUILD_DIR/vfio-handoff
for f in "$HOOK_BIN" "$ENGINE_BIN" "$CLI_BIN"; do
	[ -f "$f" ] && [ -x "$f" ] || die $E_FAIL "$f is missing: run 'make' first"
done
is_ours "$HOOK_BIN" || die $E_FAIL "$HOOK_BIN does not look like vfio-handoff's hook (no marker)"
if [ "$CONFDIR" != /etc/vfio-handoff ] && ! grep -qaF "$CONFDIR" "$HOOK_BIN"; then
	warn "the programs were built to read /etc/vfio-handoff, not $CONFDIR"
fi

# What goes where, and the checksums the manifest records (one sha256sum for all).
EXAMPLES=() MANS=()
for f in "$SRC"/config/*; do [ -f "$f" ] && EXAMPLES+=("$f"); done
for f in "$SRC"/vfio-handoff*.[1-8] "$SRC"/*/vfio-handoff*.[1-8]; do
	case $f in "$SRC"/build/* | "$SRC"/tests/*) continue ;; esac
	[ -f "$f" ] && MANS+=("$f")
done
declare -A SUM_OF=()
while read -r sumv f; do
	SUM_OF[$f]=$sumv
done <<<"$(sha256sum "$CLI_BIN" "$HOOK_BIN" "${EXAMPLES[@]}" "${MANS[@]}")"

# --- install ---------------------------------------------------------------------------
mkdir_rec() { # mkdir_rec DIR: create DIR and missing parents, recording those we create
	local p=$1 missing=() d
	while [ -n "$p" ] && [ ! -d "$DESTDIR$p" ]; do
		missing=("$p" "${missing[@]}")
		p=${p%/*}
	done
	for d in "${missing[@]}"; do
		install -d -m 0755 "${OWNER[@]}" "$DESTDIR$d" || die $E_FAIL "cannot create $DESTDIR$d"
		m_set dir - "$d"
	done
}
put() { # put MODE SRC DST KIND: install a file we own (replacing our previous copy)
	local mode=$1 src=$2 dst=$3 kind=$4 tmp
	mkdir_rec "${dst%/*}"
	if [ "$kind" = hook ]; then
		# Never a half-written hook where libvirt may run it: a new file, then a rename.
		tmp=$DESTDIR${dst%/*}/.${dst##*/}.vfio-handoff-new
		install -m "$mode" "${OWNER[@]}" "$src" "$tmp" && mv -f "$tmp" "$DESTDIR$dst" ||
			{ rm -f "$tmp"; die $E_FAIL "cannot install $DESTDIR$dst"; }
	else
		install -m "$mode" "${OWNER[@]}" "$src" "$DESTDIR$dst" ||
			die $E_FAIL "cannot install $DESTDIR$dst"
	fi
	m_set "$kind" "${SUM_OF[$src]:-$(sum "$DESTDIR$dst")}" "$dst"
}

# Our hook from a previous install at another place: remove it, restore what it replaced.
for p in "${OTHER[@]}"; do
	rm -f "$DESTDIR$p" || die $E_FAIL "cannot remove $DESTDIR$p"
	say "removed vfio-handoff's hook from its previous place $DESTDIR$p"
	m_del "$p"
	for b in "${M_ORDER[@]}"; do
		if [ "${M_KIND[$b]-}" = backup ] && [ "${M_SUM[$b]}" = "$p" ] && [ -e "$DESTDIR$b" ]; then
			mv "$DESTDIR$b" "$DESTDIR$p" && say "restored the previous hook $DESTDIR$p"
			m_del "$b"
		fi
	done
done

put 0755 "$CLI_BIN" "$BINDIR/vfio-handoff" file
put 0755 "$ENGINE_BIN" "$ENGINE" file

mkdir_rec "$CONFDIR/vm.d"
chmod 0755 "$DESTDIR$CONFDIR" "$DESTDIR$CONFDIR/vm.d"
mkdir_rec "$CONFDIR/examples"
for f in "${EXAMPLES[@]}"; do
	put 0644 "$f" "$CONFDIR/examples/${f##*/}" file
done
# The global configuration: created from the example when absent, never overwritten.
if [ -f "$SRC/config/vfio-handoff.conf" ]; then
	if [ -e "$DESTDIR$CONFDIR/vfio-handoff.conf" ]; then
		say "kept $DESTDIR$CONFDIR/vfio-handoff.conf as it is (never overwritten; the example is in examples/)"
	else
		put 0644 "$SRC/config/vfio-handoff.conf" "$CONFDIR/vfio-handoff.conf" config
	fi
fi

# The man page, when the tree has one.
for man in "${MANS[@]}"; do
	put 0644 "$man" "$MANDIR/man${man##*.}/${man##*/}" file
done

# The hook last: from here on libvirt (once restarted) runs it.
mkdir_rec "${HOOK%/*}"
if [ $FOREIGN -eq 1 ]; then
	mv "$DESTDIR$HOOK" "$DESTDIR$HOOK_BACKUP" || die $E_FAIL "cannot move $DESTDIR$HOOK away"
	m_set backup "$HOOK" "$HOOK_BACKUP"
	say "moved the previous hook to $DESTDIR$HOOK_BACKUP (--uninstall puts it back)"
fi
put 0755 "$HOOK_BIN" "$HOOK" hook

m_write

say "vfio-handoff installed into ${DESTDIR:-/}:"
say "  hook     $DESTDIR$HOOK"
say "  command  $DESTDIR$BINDIR/vfio-handoff"
say "  config   $DESTDIR$CONFDIR/ (${#EXAMPLES[@]} examples; opt a VM in with vm.d/<vm>.conf)"
say "  record   $DESTDIR$MANIFEST"
if [ -n "$QEMU_D" ] && [ -z "$DESTDIR" ] && command -v libvirtd >/dev/null; then
	v=$(libvirtd --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -1)
	if [ -n "$v" ] && { [ "${v%%.*}" -lt 6 ] || { [ "${v%%.*}" -eq 6 ] && [ "${v#*.}" -lt 5 ]; }; }; then
		warn "libvirt $v runs no hooks from qemu.d/ (6.5 and later do); install without --qemu-d"
	fi
fi
restart_daemons hook || exit $E_RESTART
exit $E_OK
