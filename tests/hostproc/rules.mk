# SPDX-License-Identifier: GPL-2.0-or-later
# Host-process mode end to end: generator, ftmb-vhost, the real middleboxes,
# hostd primary and backup on two network-namespace hosts.

CHECKS += tests/hostproc/test-path.sh
