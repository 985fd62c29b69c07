# SPDX-License-Identifier: GPL-2.0-or-later
# Host-process mode end to end: generator, ftmb-vhost, the real middleboxes,
# hostd primary and backup on two network-namespace hosts.
#
#   make test-failover-proc [ROUNDS=20]     recovery by replay, round after round
#   make test-negative-control [ROUNDS=6]   the same replaying without the order:
#                                           passes only if the verifier objects

HOSTPROC_DEPS = $(BUILD)/ftmb-vhost $(BUILD)/ftmb-hostd $(BUILD)/ftmb-monitor $(BUILD)/ftmb-nat \
	$(BUILD)/ftmb-traffic $(BUILD)/ftmb-verify $(BUILD)/ftmbctl
CHECK_DEPS += $(HOSTPROC_DEPS)
# make check: 20 failover rounds and 6 negative-control rounds (each round
# about 10 s on two cores: the two run in about 4 to 5 minutes).
CHECKS += tests/hostproc/test-path.sh tests/hostproc/failover-proc.sh \
	tests/hostproc/negative-control.sh

test-failover-proc: $(HOSTPROC_DEPS)
	tests/hostproc/failover-proc.sh $(or $(ROUNDS),20)

test-negative-control: $(HOSTPROC_DEPS)
	tests/hostproc/negative-control.sh $(or $(ROUNDS),6)

.PHONY: test-failover-proc test-negative-control

# Benchmarks (not part of make check): they need the machine to themselves.
bench-path: build-all
	tests/hostproc/bench-path.sh
.PHONY: bench-path
