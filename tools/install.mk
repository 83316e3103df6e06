# Installing like a system library: the launcher (tools/launcher/), man pages
# generated from the options table (tools/man/), a pkg-config file, and
#   make install [PREFIX=/usr/local] [LIBDIR=...] [DESTDIR=...]
#   make uninstall (same variables)
#   make deb          Debian packages built by dpkg-buildpackage (debian/)
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
TM_SONAME  := libtiermalloc.so.$(TM_SOVERSION)
TM_PRELOAD := $(LIBDIR)/$(TM_SONAME)
INST       := $(B)/install
LDCONFIG   ?= ldconfig

# The launcher links the options table and its parsers (config.o, and the
# log and OS layer under it) to check values exactly as the library will.
LAUNCHER_SRC := tools/launcher/launcher.c tools/launcher/flags.c
LAUNCHER_OBJ := $(addprefix $(B)/obj/allocator/,config.o log.o prim/fd.o prim/file.o \
                prim/os.o)
LAUNCHER_DEP := $(LAUNCHER_SRC) tools/launcher/flags.h include/tiermalloc.h \
                $(LAUNCHER_OBJ)
LAUNCHER_CC   = $(CC) $(CFLAGS) $(CPPFLAGS) -std=gnu11 $(WARN) -I. \
                $(LAUNCHER_SRC) $(LAUNCHER_OBJ) \
                $(LDFLAGS)

# In the tree, build/tiermalloc preloads build/libtiermalloc.so.
all: $(B)/tiermalloc
$(B)/tiermalloc: $(LAUNCHER_DEP)
	$(LAUNCHER_CC) -DTM_PRELOAD_PATH='"$(abspath $(B))/libtiermalloc.so"' -o $@

# What is installed names installed paths; this file changes when they do,
# so the launcher, man pages and .pc are rebuilt for another PREFIX/LIBDIR.
$(INST)/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(TM_VERSION)' | cmp -s - $@ || \
	  echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(TM_VERSION)' > $@
.PHONY: FORCE
FORCE:

$(INST)/tiermalloc: $(LAUNCHER_DEP) $(INST)/paths
	$(LAUNCHER_CC) -DTM_PRELOAD_PATH='"$(TM_PRELOAD)"' -o $@

$(INST)/tiermalloc.pc: tools/tiermalloc.pc.in $(INST)/paths
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@SOVERSION@|$(TM_SOVERSION)|' \
	    -e 's|@VERSION@|$(TM_VERSION)|' $< > $@

# Man pages: tools/man/*.in with @VERSION@ and @PRELOAD@ filled in; in
# tiermalloc.1 and .7, @OPTIONS@ becomes options_doc's list (--man1: the
# launcher's options, --man7: the variables).
MAN_PAGES := $(INST)/man/tiermalloc.1 $(INST)/man/tierstat.1 $(INST)/man/tiermalloc.7
MAN_SUBST  = sed -e 's|@VERSION@|$(TM_VERSION)|' -e 's|@PRELOAD@|$(TM_PRELOAD)|'
$(INST)/man/tiermalloc.%: tools/man/tiermalloc.%.in $(B)/tools/options_doc $(INST)/paths
	@mkdir -p $(@D)
	{ sed '/^@OPTIONS@$$/,$$d' $<; $(B)/tools/options_doc --man$*; \
	  sed '1,/^@OPTIONS@$$/d' $<; } | $(MAN_SUBST) > $@
$(INST)/man/tierstat.1: tools/man/tierstat.1.in $(INST)/paths
	@mkdir -p $(@D)
	$(MAN_SUBST) $< > $@
.PHONY: man
man: $(MAN_PAGES)

.PHONY: install uninstall
install: all $(INST)/tiermalloc $(INST)/tiermalloc.pc $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	           $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(B)/libtiermalloc.so $(DESTDIR)$(TM_PRELOAD)
	ln -sf $(TM_SONAME) $(DESTDIR)$(LIBDIR)/libtiermalloc.so
	install -m 644 $(INST)/tiermalloc.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 include/tiermalloc.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(INST)/tiermalloc $(B)/tierstat $(DESTDIR)$(BINDIR)/
	install -m 644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.7,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man7/
	@# Programs linked with -ltiermalloc find it through ld.so's cache.
	$(if $(DESTDIR),,-$(LDCONFIG))

uninstall:
	rm -f $(DESTDIR)$(TM_PRELOAD) $(DESTDIR)$(LIBDIR)/libtiermalloc.so \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/tiermalloc.pc \
	      $(DESTDIR)$(INCLUDEDIR)/tiermalloc.h \
	      $(DESTDIR)$(BINDIR)/tiermalloc $(DESTDIR)$(BINDIR)/tierstat \
	      $(DESTDIR)$(MANDIR)/man1/tiermalloc.1 $(DESTDIR)$(MANDIR)/man1/tierstat.1 \
	      $(DESTDIR)$(MANDIR)/man7/tiermalloc.7
	$(if $(DESTDIR),,-$(LDCONFIG))

# make deb: the tree's files (tracked and new, not ignored ones) copied to
# $(B)/deb/ and built there, so dh_auto_clean never touches this build/.
DEB_SRC := $(B)/deb/tiermalloc-$(TM_VERSION)
.PHONY: deb
deb:
	rm -rf $(B)/deb && mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard | \
	  tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_SRC)
	@# Variables given to this make (B=...) must not reach the package build.
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning --info --display-info --display-experimental \
	  $(B)/deb/*.changes
