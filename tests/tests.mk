# Host test suites. Each suite owns a fragment that adds its goal to
# HOST_SUITES; `make test-host` runs them all and fails if any fails.
HOST_SUITES :=
-include tests/unit/unit.mk
-include tests/preload/preload.mk
-include tests/stats/stats.mk
-include tests/policy/policy.mk
-include tests/install/install.mk

# Includes go the way the layout allows (README, "How the code is laid out").
.PHONY: check-layers
check-layers:
	@tools/check-layers.sh
HOST_SUITES := check-layers $(HOST_SUITES)

.PHONY: test-host
test-host: all
	@failed=; for s in $(HOST_SUITES); do \
	  echo "=== $$s"; $(MAKE) --no-print-directory $$s || failed="$$failed $$s"; \
	done; \
	if [ -n "$$failed" ]; then echo "host suites failed:$$failed"; exit 1; fi

# The host suites with two CPU hogs beside them: tests must hold on a busy
# machine (outcomes, not timings). The hogs end with the suites.
.PHONY: test-host-loaded
test-host-loaded: all
	@hogs=; for i in 1 2; do (while :; do :; done) & hogs="$$hogs $$!"; done; \
	trap 'kill $$hogs 2>/dev/null' EXIT; \
	$(MAKE) --no-print-directory test-host
