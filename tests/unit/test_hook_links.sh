#!/bin/bash
# The hook (what libvirt runs) and its engine must not link libvirt at all: they run inside
# libvirt's own calls. The hook itself links only libc, so the calls it does not act on
# stay cheap; the command may link libvirt. Reads the ELF dynamic sections. TAP-style.
B=${B:-build}
hook=$B/vfio-handoff-hook engine=$B/vfio-handoff-hook-engine cli=$B/vfio-handoff
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
check() { if eval "$2"; then echo "ok $1"; else echo "not ok $1"; fi; }
h=$(needed "$hook") e=$(needed "$engine") c=$(needed "$cli")
check "hook has NEEDED entries" '[ -n "$h" ]'
check "hook links no libvirt" '! grep -q libvirt <<<"$h"'
# Sanitizer builds add their runtimes; anything else beyond libc is a regression.
check "hook links nothing but libc: $(tr '\n' ' ' <<<"$h")" \
	'! grep -vE "^(libc\.so|ld-linux|libasan|libubsan|libstdc\+\+|libm\.so|libgcc_s|libdl|libpthread|librt)" <<<"$h" | grep -q .'
check "engine links no libvirt" '[ -n "$e" ] && ! grep -q libvirt <<<"$e"'
for lib in libxml2 libpci libkmod; do
	check "engine links $lib" 'grep -q "$lib" <<<"$e"'
done
check "hook and engine import no vir* symbol" \
	'! nm -D "$hook" "$engine" | grep -q " U vir"'
check "command links libvirt (the check can see it)" 'grep -q libvirt <<<"$c"'
