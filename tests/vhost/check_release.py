#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks from recorded evidence that ftmb-vhost released no output before
the backup had acknowledged everything the output depends on.

  check_release.py GUEST_TRACE EXT_RECORDS ACK_LOG [--shift-acks-ms MS]

GUEST_TRACE  test-guest --log: "out T OUT_SEQ IN[n] PAL[n]" (each output's dep)
EXT_RECORDS  test-ext --records: "rx PORT FLOW SEQ LEN RX_NS OUT_SEQ THREAD LEAK"
ACK_LOG      fake-backup --ack-log: "ack NAME MONO_NS IN[n] PAL[n]"
--shift-acks-ms pretends every ACK was sent MS later: a negative control
(the checker must then find violations).
Prints one summary line; exits 1 on any violation.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from evidence import first_covering, load_acks  # noqa: E402


def load_deps(path):
    deps = {}
    for line in open(path):
        f = line.split()
        if f[0] == "out":
            vals = list(map(int, f[3:]))
            n = len(vals) // 2
            deps[(int(f[1]), int(f[2]))] = (vals[:n], vals[n:])
    return deps


def main():
    args = sys.argv[1:]
    shift = 0
    if "--shift-acks-ms" in args:
        i = args.index("--shift-acks-ms")
        shift = int(float(args[i + 1]) * 1e6)
        del args[i:i + 2]
    deps = load_deps(args[0])
    acks = load_acks(args[2], shift)
    checked = early = unknown = 0
    slack = []
    for line in open(args[1]):
        f = line.split()
        rx_ns, out_seq, thread = int(f[5]), int(f[6]), int(f[7])
        dep = deps.get((thread, out_seq))
        if dep is None:
            unknown += 1
            continue
        checked += 1
        # ACKs are cumulative: the first one covering dep is when it became durable.
        first = first_covering(acks, dep[0], dep[1])
        if first is None or first[0] > rx_ns:
            early += 1
            continue
        slack.append(rx_ns - first[0])
    slack.sort()
    med = slack[len(slack) // 2] / 1e3 if slack else 0
    print(f"check_release: {checked} outputs checked, {early} released before their ACK, "
          f"{unknown} unknown; release after covering ACK: median {med:.1f} us"
          + (f" (ACKs shifted {shift / 1e6:g} ms)" if shift else ""))
    return 1 if early or unknown or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
