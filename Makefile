# vfio-handoff — build, test and install.
#   make            build the hook and the command
#   make check      unit tests, then the real-kernel and real-libvirt tiers
#   make install    PREFIX=/usr/local DESTDIR= SYSCONFDIR=/etc
#   make demo       hand an emulated GPU to vfio-pci inside a QEMU guest, and back

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR ?=
PKG_CONFIG ?= pkg-config

CC ?= cc
CFLAGS ?= -O2 -g
# SAN=1: AddressSanitizer + UndefinedBehaviorSanitizer. WERROR=1: warnings are errors.
# CI sets both.
ifeq ($(CI),true)
SAN ?= 1
WERROR ?= 1
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
# Hardened by default (HARDEN=0 leaves it out), appended to the user's flags, even to
# CFLAGS given on the command line: fortified libc calls, stack protector and clash
# protection, CET (x86), PIE, full RELRO with BIND_NOW, no executable stack
# (tests/unit/test_elf_hardening.sh reads the installed programs). -U first: Debian's
# CPPFLAGS already define _FORTIFY_SOURCE=2. Fortify works only when optimizing, so a
# build with no -O (or -O0) goes without it rather than warn (an error with -Werror).
HARDEN ?= 1
ifeq ($(HARDEN),1)
ifneq ($(filter-out -O0,$(lastword $(filter -O%,$(CFLAGS)))),)
override CFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
endif
override CFLAGS += -fstack-protector-strong -fstack-clash-protection -fPIE
ifneq ($(filter x86_64-% i386-% i486-% i586-% i686-%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
override CFLAGS += -fcf-protection
endif
override LDFLAGS += -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack
endif
# VH_FAULTS=1: the fault switch (VFIO_HANDOFF_FAULT) the real-kernel tier's crash and
# stuck-module scenarios use; release builds have none (tests/unit/test_release_seams.sh).
ifeq ($(VH_FAULTS),1)
override CFLAGS += -DVH_FAULTS
endif

ENGINE_PKGS := libxml-2.0 libpci libkmod
# Quiet when pkg-config or a package is missing: tests/deps.sh (run first by every target
# that builds) says in one line what is missing and installs it or tells how.
pkgconf = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
# -Wmissing-prototypes -Wmissing-declarations: a function used across files is declared in
# a header, and one that is not is static.
VH_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
	-Wmissing-prototypes -Wmissing-declarations \
	-D_GNU_SOURCE -Iinclude $(call pkgconf,--cflags,$(ENGINE_PKGS))
ENGINE_LIBS := $(call pkgconf,--libs,$(ENGINE_PKGS))
VIRT_CFLAGS := $(call pkgconf,--cflags,libvirt)
VIRT_LIBS := $(call pkgconf,--libs,libvirt)
CMOCKA_CFLAGS := $(call pkgconf,--cflags,cmocka)
CMOCKA_LIBS := $(call pkgconf,--libs,cmocka)

B := build
# src/ in layers (README, "Layout"): front, plan, steps, facts, input, kernel, base.
# src/front/cli.c is the command's main; everything else is the engine library.
ENGINE_SRCS := $(filter-out src/front/cli.c,$(wildcard src/*/*.c))
ENGINE_OBJS := $(patsubst src/%.c,$(B)/src/%.o,$(ENGINE_SRCS))
# The unit tests link the same sources built with VH_TEST_SEAMS, which adds the setters
# that put a fake kernel, fake signals and the fixture's programs behind the seams; the
# installed objects have none (tests/unit/test_release_seams.sh checks).
TEST_ENGINE_OBJS := $(patsubst src/%.c,$(B)/test-src/%.o,$(ENGINE_SRCS))
SUPPORT_SRCS := $(wildcard tests/unit/support/*.c)
SUPPORT_OBJS := $(patsubst tests/unit/support/%.c,$(B)/tests/support/%.o,$(SUPPORT_SRCS))
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRCS))
FAKE_SYSTEMCTL := $(B)/tests/fake-systemctl

HOOK := $(B)/vfio-handoff-hook
HOOK_ENGINE := $(B)/vfio-handoff-hook-engine
CLI := $(B)/vfio-handoff

# The first goal checks the build packages (tests/deps.sh --build: it installs nothing, it
# names what is missing) and builds in a second make, whose pkg-config calls then find them.
all:
	@tests/deps.sh --build
	@$(MAKE) --no-print-directory binaries

binaries: $(HOOK) $(HOOK_ENGINE) $(CLI)

# Objects are rebuilt when the flags change (a SAN=1 build after a plain one, say).
FLAGS_STAMP := $(B)/flags.$(shell echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cksum | cut -d' ' -f1)
$(FLAGS_STAMP): | $(B)/src
	rm -f $(B)/flags.* && touch $@

HEADERS := $(wildcard include/*/*.h)
$(B)/src/%.o: src/%.c $(HEADERS) $(FLAGS_STAMP) | $(B)/src
	@mkdir -p $(@D)
	$(CC) $(VH_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libengine.a: $(ENGINE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/test-src/%.o: src/%.c $(HEADERS) $(FLAGS_STAMP) | $(B)/test-src
	@mkdir -p $(@D)
	$(CC) $(VH_CFLAGS) -DVH_TEST_SEAMS $(CFLAGS) -c -o $@ $<

$(B)/libengine-test.a: $(TEST_ENGINE_OBJS)
	rm -f $@ && ar rcs $@ $^

# The hook: libc only (--as-needed drops the engine's libraries, which its objects do not
# use), so calls it does not act on cost little; it execs the engine for the rest. Neither
# links libvirt (tests/unit/test_hook_links.sh checks).
$(HOOK): hook/qemu.c $(B)/libengine.a $(FLAGS_STAMP)
	$(CC) $(VH_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libengine.a \
		-Wl,--as-needed $(ENGINE_LIBS) $(LDFLAGS)

$(HOOK_ENGINE): hook/engine.c $(B)/libengine.a
	$(CC) $(VH_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libengine.a $(ENGINE_LIBS) $(LDFLAGS)

$(CLI): src/front/cli.c $(B)/libengine.a
	$(CC) $(VH_CFLAGS) $(VIRT_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libengine.a \
		$(ENGINE_LIBS) $(VIRT_LIBS) $(LDFLAGS)

$(B)/tests/support/%.o: tests/unit/support/%.c $(wildcard tests/unit/support/*.h) $(HEADERS) $(FLAGS_STAMP) | $(B)/tests/support
	$(CC) $(VH_CFLAGS) -DVH_TEST_SEAMS $(CMOCKA_CFLAGS) $(CFLAGS) -Itests/unit/support \
		-DVH_FAKE_SYSTEMCTL_BIN='"$(abspath $(FAKE_SYSTEMCTL))"' -c -o $@ $<

# The fixtures' systemctl: no sanitizers (it is a test double the engine execs often).
$(FAKE_SYSTEMCTL): tests/fixtures/fake-systemctl.c | $(B)/tests/support
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(SUPPORT_OBJS) $(B)/libengine-test.a $(FAKE_SYSTEMCTL) | $(B)/tests/support
	$(CC) $(VH_CFLAGS) -DVH_TEST_SEAMS $(CMOCKA_CFLAGS) $(CFLAGS) -Itests/unit/support -o $@ $< \
		$(SUPPORT_OBJS) $(B)/libengine-test.a $(ENGINE_LIBS) $(CMOCKA_LIBS) $(LDFLAGS)

$(B)/src $(B)/test-src $(B)/tests/support:
	mkdir -p $@

# The Debian package's paths (its rules are below, with `make deb`).
DEB_DIR := $(B)/deb
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE := $(DEB_DIR)/vfio-handoff_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRCS := Makefile README.md $(shell find src include hook config debian -type f 2>/dev/null)

# Fuzzing (tests/fuzz/): libFuzzer targets for the parsers, built with clang, ASan and
# UBSan into $(FUZZ_B) from the engine's sources (no test seams). `make fuzz` runs each for
# FUZZ_TIME seconds (new inputs and findings in $(FUZZ_B)/<target>/); make check runs the
# same for 30 s each (tests/fuzz/run.sh; README, Tests). Defined before check-all, whose
# prerequisites make expands as it reads them.
FUZZ_CC ?= clang
FUZZ_TIME ?= 300
FUZZ_B := $(B)/fuzz
FUZZ_TARGETS := domxml config journal bdf names
FUZZ_BINS := $(patsubst %,$(FUZZ_B)/fuzz-%,$(FUZZ_TARGETS))
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
	-fsanitize=fuzzer-no-link,address,undefined $(if $(filter 1,$(WERROR)),-Werror)
FUZZ_OBJS := $(patsubst src/%.c,$(FUZZ_B)/src/%.o,$(ENGINE_SRCS))

# Every tier, one closing summary line. Installs what is missing first (tests/deps.sh), so
# this works on a fresh machine; builds on every core.
NPROC := $(shell nproc 2>/dev/null || echo 2)
check:
	@tests/deps.sh --test
	@$(MAKE) --no-print-directory -j$(NPROC) check-all

# The guests run the programs as they are installed: built without sanitizers, in their
# own tree (GUEST_B). Under emulation a sanitized process costs tens of milliseconds per
# fork, and every kernel call forks a child with a deadline. The unit tier keeps $(B).
GUEST_B := $(B)/guest
guest-binaries:
	@$(MAKE) --no-print-directory B=$(GUEST_B) SAN=0 binaries

# The same with the fault switch, for the scenarios that say "# vm-build: faults".
GUEST_FAULTS_B := $(B)/guest-faults
guest-faults-binaries:
	@$(MAKE) --no-print-directory B=$(GUEST_FAULTS_B) SAN=0 VH_FAULTS=1 binaries

check-all: binaries guest-binaries guest-faults-binaries $(TEST_BINS) $(DEB_FILE) $(FUZZ_BINS)
	@B=$(B) VH_GUEST_BUILD=$(GUEST_B) VH_GUEST_FAULTS_BUILD=$(GUEST_FAULTS_B) \
		VH_DEB=$(DEB_FILE) tests/check.sh $(TEST_BINS)

check-unit: binaries $(TEST_BINS)
	@tests/unit/run.sh $(B) $(TEST_BINS)

check-vm: guest-binaries guest-faults-binaries
	@VH_GUEST_BUILD=$(GUEST_B) VH_GUEST_FAULTS_BUILD=$(GUEST_FAULTS_B) tests/vm/run.sh

check-libvirt: guest-binaries $(DEB_FILE)
	@VH_GUEST_BUILD=$(GUEST_B) VH_DEB=$(DEB_FILE) tests/libvirt/run.sh

# Hand-off times in the real-kernel guest against the floor (the same kernel operations with
# no checks) and a peer-style bash hook; the table goes to build/bench/result.txt. Not part
# of make check (tests/bench/run.sh: one guest boot; README, Benchmark).
bench:
	@tests/deps.sh --bench
	@$(MAKE) --no-print-directory guest-binaries
	@VH_GUEST_BUILD=$(GUEST_B) tests/bench/run.sh

$(FUZZ_B)/src/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(VH_CFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/libengine.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_B)/fuzz-%: tests/fuzz/%.c tests/fuzz/support.c tests/fuzz/fuzz.h $(FUZZ_B)/libengine.a
	$(FUZZ_CC) $(VH_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
		tests/fuzz/support.c $(FUZZ_B)/libengine.a $(ENGINE_LIBS)

fuzz-binaries: $(FUZZ_BINS)

# The journal target's seeds, written by the program's own journal writer.
$(FUZZ_B)/seed-journals: tests/fuzz/seed_journals.c tests/fuzz/support.c $(FUZZ_B)/libengine.a
	$(FUZZ_CC) $(VH_CFLAGS) $(FUZZ_CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/support.c \
		$(FUZZ_B)/libengine.a $(ENGINE_LIBS)

fuzz-seeds: $(FUZZ_B)/seed-journals
	$(FUZZ_B)/seed-journals tests/fuzz/corpus/journal

fuzz:
	@tests/deps.sh --fuzz
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-binaries
	@tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_TIME)

demo:
	@tests/deps.sh --test
	@$(MAKE) --no-print-directory binaries
	@tests/vm/demo.sh

# install.sh does the work: the hook as SYSCONFDIR/libvirt/hooks/qemu (never over a
# foreign hook), the command, examples, the man page, and a manifest for uninstall. It
# restarts nothing from here.
install: binaries
	DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) SYSCONFDIR=$(SYSCONFDIR) ./install.sh --build-dir $(B) --no-restart

uninstall:
	DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) SYSCONFDIR=$(SYSCONFDIR) ./install.sh --uninstall --no-restart

# The Debian package (debian/), with Debian's own tools: dpkg-buildpackage builds it from a
# copy of the tree in $(DEB_DIR)/src (the files git tracks or would track), so the .deb
# lands in $(DEB_DIR)/ (its log in build.log); `make deb` then has lintian check it at its
# default level (errors and warnings fail). The real-libvirt tier installs $(DEB_FILE).
$(DEB_FILE): $(DEB_SRCS)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			tar --null -T - -cf - | tar -C $(DEB_DIR)/src -xf -; \
	else \
		tar --exclude=./build --exclude=./tests/vm/cache --exclude=./tests/vm/out \
			--exclude=./tests/libvirt/out -cf - . | tar -C $(DEB_DIR)/src -xf -; \
	fi
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; echo "dpkg-buildpackage failed: $(DEB_DIR)/build.log"; exit 1; }

deb-package: $(DEB_FILE)

deb:
	@tests/deps.sh --deb
	@$(MAKE) --no-print-directory deb-package
	lintian --fail-on error,warning $(DEB_DIR)/*.changes
	@echo "deb: $(DEB_FILE)"

format-check:
	@tests/deps.sh --format
	clang-format --dry-run --Werror $(wildcard src/*/*.c include/*/*.h hook/*.c)

clean:
	rm -rf $(B)

.SECONDARY: $(SUPPORT_OBJS) $(TEST_ENGINE_OBJS)

.PHONY: all binaries guest-binaries guest-faults-binaries bench fuzz fuzz-binaries fuzz-seeds check check-all check-unit check-vm check-libvirt demo install uninstall deb deb-package format-check clean
