# SPDX-License-Identifier: GPL-2.0-or-later
# Host-process mode end to end: generator, ftmb-vhost, the real middleboxes,
# hostd primary and backup on two network-namespace hosts.

CHECKS += tests/hostproc/test-path.sh

# Benchmarks (not part of make check): they need the machine to themselves.
bench-path: build-all
	tests/hostproc/bench-path.sh
.PHONY: bench-path
