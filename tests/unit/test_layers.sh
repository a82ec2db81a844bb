#!/bin/bash
# The shape of src/: its layers, top to bottom
#   front   the hook protocol, the command's arguments, the engine's transaction
#   plan    the planner: the plan from facts, with the safety checks
#   steps   step kinds (typed records, apply and undo), the journal
#   facts   read-only discovery: devices, groups, modules, consoles, framebuffers, holders
#   input   the configuration and domain XML readers
#   kernel  the boundary: every sysfs write, module call and program run, with deadlines
#   base    names, logging and the reason, PCI addresses, the root prefix
# A file includes headers of its own layer or of layers below it, never above; inside a
# layer, files do not include each other in a circle; no .c file declares a function of
# another file itself (the header does); no source file passes about 400 lines without
# saying why at its top ("Longer than 400 lines: ..."). TAP-style.
cd "$(dirname "$0")/../.." || exit 2
layers=(base kernel input facts steps plan front)
rank() {
	local i
	for i in "${!layers[@]}"; do
		[ "${layers[$i]}" = "$1" ] && echo "$i" && return
	done
	echo -1
}
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)) bad=$((bad + 1)); echo "not ok $n - $1"; }

# Every source file sits in a layer.
stray=$(find src include -name '*.[ch]' | grep -vE "^(src|include)/($(
	IFS='|'
	echo "${layers[*]}"
))/[^/]+\.[ch]$")
if [ -z "$stray" ]; then ok "every file of src/ and include/ is in a layer"; else
	notok "files outside the layers: $stray"; fi

# Includes point down (or sideways inside the layer).
up=""
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in src/*/*.c include/*/*.h; do
	l=${f#*/}
	l=${l%%/*}
	r=$(rank "$l")
	while read -r inc; do
		il=${inc%%/*}
		ir=$(rank "$il")
		if [ "$ir" -lt 0 ] || [ "$ir" -gt "$r" ]; then
			up+=" $f->$inc"
		elif [ "$il" = "$l" ]; then
			# inside a layer: the file's unit (foo.c and foo.h are one) -> the header's
			unit=$(basename "${f%.*}") to=$(basename "${inc%.h}")
			[ "$unit" != "$to" ] && echo "$l/$unit $l/$to" >>"$edges"
		fi
	done < <(sed -n 's/^#include "\([a-z]*\/[a-z_]*\.h\)".*/\1/p' "$f")
done
if [ -z "$up" ]; then ok "no file includes a header of a layer above its own"; else
	notok "includes pointing up:$up"; fi
if cycle=$(tsort "$edges" 2>&1 >/dev/null) && [ -z "$cycle" ]; then
	ok "no circle of includes inside a layer ($(wc -l <"$edges") edges)"
else
	notok "a circle inside a layer: $(tr '\n' ' ' <<<"$cycle")"
fi
# Only the layered form: a flat include ("plan.h") would hide where a header lives.
flat=$(grep -l '^#include "[a-z_]*\.h"' src/*/*.c include/*/*.h hook/*.c)
if [ -z "$flat" ]; then ok "every project header is included by its layer's path"; else
	notok "flat includes in: $flat"; fi

# A function of another file is declared in its header, never ad hoc in a .c file.
adhoc=$(grep -nE '^(extern[^(]*\(|[a-z].*\);$)' src/*/*.c hook/*.c | grep -v '^[^:]*:[0-9]*:static ' |
	grep -vE ':[0-9]+:(return|if|for|while|switch|case|else|goto|typedef)\b' | grep -E '^[^:]*:[0-9]+:extern ')
if [ -z "$adhoc" ]; then ok "no .c file declares another file's function (extern)"; else
	notok "ad hoc declarations: $adhoc"; fi

# Length: about 400 lines, or a reason at the top.
long=""
for f in src/*/*.c include/*/*.h hook/*.c; do
	lines=$(wc -l <"$f")
	if [ "$lines" -gt 420 ] && ! head -8 "$f" | grep -q 'Longer than 400 lines:'; then
		long+=" $f($lines)"
	fi
done
if [ -z "$long" ]; then ok "no file passes about 400 lines without saying why"; else
	notok "long files without a reason:$long"; fi

# The check itself can fail: an include pointing up is seen.
probe=$(mktemp -d)
mkdir -p "$probe/base"
printf '#include "plan/plan.h"\n' >"$probe/base/probe.c"
seen=$(sed -n 's/^#include "\([a-z]*\/[a-z_]*\.h\)".*/\1/p' "$probe/base/probe.c")
rm -rf "$probe"
if [ "$(rank "${seen%%/*}")" -gt "$(rank base)" ]; then ok "an include pointing up would be caught"; else
	notok "the probe include was not ranked above base"; fi
[ "$bad" -eq 0 ]
