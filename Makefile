# SPDX-License-Identifier: GPL-2.0-or-later
#
# ftmb: one non-recursive build. Each folder contributes a rules.mk fragment
# that appends to the variables below; objects land under $(BUILD), and the
# sanitizer build of the same sources under $(BUILD)/san.
#
#   make            build everything
#   make check      install what is missing, build, run every test
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
SAN := $(BUILD)/san
CC ?= gcc

VERSION := 0.1.0
OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 -fPIC -D_GNU_SOURCE $(OPT) $(WARN) -MMD -MP \
	-Iguest-shim/include -Ihostd/include -Itools/include
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Archives are rebuilt from scratch, so that a renamed or removed source does
# not leave a stale member behind.
define ARCHIVE
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
endef

# `make V=1` shows whole command lines.
V ?= 0
ifeq ($(V),0)
Q = @echo "  CC      $@";
endif

# pkg-config is only consulted when a target needs the package, so that
# `make check` can install the packages before the first compile.
pc = $(shell pkg-config $(1) 2>/dev/null)

# Extra compile flags come from CFLAGS_<folder>/ and CFLAGS_<file.c>, set by
# the fragments. Filled in by the fragments:
BINS :=
LIBS :=
UNIT_TESTS :=
CHECKS :=
CHECK_DEPS :=
DOCS := README.md LICENSE
CLEAN :=

all: build-all

include guest-shim/rules.mk
include hostd/rules.mk
include vhost-backend/rules.mk
include tools/rules.mk
include tests/rules.mk

build-all: $(LIBS) $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS_$(dir $<)) $(CFLAGS_$<) $(CFLAGS) -c $< -o $@

$(SAN)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(CFLAGS_$(dir $<)) $(CFLAGS_$<) $(CFLAGS) -c $< -o $@

deps:
	@tools/setup-deps.sh

check: deps
	@$(MAKE) --no-print-directory build-all $(UNIT_TESTS) $(UNIT_TESTS:$(BUILD)/%=$(SAN)/%) \
		$(CHECK_DEPS)
	@tests/run-tests.sh $(UNIT_TESTS) $(UNIT_TESTS:$(BUILD)/%=$(SAN)/%) $(CHECKS)

install: build-all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/ftmb
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/)
	install -m 644 $(LIBFTMB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBFTMB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(LIBFTMB_HEADERS) $(DESTDIR)$(PREFIX)/include/ftmb/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' guest-shim/ftmb.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/ftmb.pc
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/ftmb
	sed -e 's|/usr/local|$(PREFIX)|g' hostd/ftmb-hostd.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/ftmb-hostd.service
	install -m 644 $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/ftmb/

clean:
	rm -rf $(BUILD) $(CLEAN)

.PHONY: all build-all deps check install clean
.DELETE_ON_ERROR:
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
