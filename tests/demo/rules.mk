# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`'s evidence parsing (tools/demo/timeline.py) on a recorded run,
# with negative controls. The demo itself runs a VM for a minute: not in
# make check (tests/vm/ and tests/ckpt/ cover its pieces).
CHECKS += tests/demo/check-timeline.sh
