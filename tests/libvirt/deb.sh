# The Debian package for the real-libvirt tier, sourced by run.sh before the guest boots:
# the .deb (VH_DEB, which make check builds; else the newest in build/deb/) is copied to the
# guest's output directory, and the host's dpkg database is shared read-only (tag dpkg), so
# the guest's deb.sh installs the package with dpkg -i against what the host's /usr holds.
# VH_DEB_ARGS: the QEMU arguments for that share; empty when there is no .deb.
# Only on the host's userland: the guest installs the package against the host's dpkg
# database, which describes the host's /usr, not Debian 13's (VH_LIBVIRT_USERLAND=trixie).
VH_DEB_ARGS=()
vh_deb=${VH_DEB:-$(ls -t "$REPO"/build/deb/vfio-handoff_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)}
case $vh_deb in '' | /*) ;; *) vh_deb=$REPO/$vh_deb ;; esac
[ "${USERLAND:-host}" = host ] || vh_deb=
if [ -n "$vh_deb" ]; then
	[ -f "$vh_deb" ] || abort "$vh_deb is missing: run 'make deb-package'"
	mkdir -p "$LV_OUT/guest/pkg" && cp "$vh_deb" "$LV_OUT/guest/pkg/" ||
		abort "cannot copy $vh_deb for the guest"
	VH_DEB_ARGS=(-virtfs "local,path=/var/lib/dpkg,mount_tag=dpkg,security_model=passthrough,readonly=on")
fi
