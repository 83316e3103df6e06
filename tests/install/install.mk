# tests/install: installing like a system library (issue 15).
#
#   make test-install     tests/install/run.sh
#
# make install into a scratch prefix and DESTDIR (launcher, pkg-config,
# uninstall), the man pages against config.c and the launcher, and make deb
# installed into a throwaway root: an overlay of / in a private mount
# namespace, so the machine is left as it was.
HOST_SUITES += test-install

.PHONY: test-install
test-install: all $(B)/tools/options_doc
	tests/install/run.sh $(B)
