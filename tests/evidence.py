# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared by the evidence checkers: the backup's ACK log and the question
"which ACK first covered this dependency vector?".

An ACK log line (ftmb-hostd --ack-log, or the vhost tests' fake backup) is
  ack INSTANCE MONO_NS IN[0..n-1] PAL[0..n-1]
"""


def load_acks(path, shift_ns=0):
    """[(mono_ns + shift_ns, in[], pal[])] in log order; shift_ns makes a
    negative control (every ACK pretended later)."""
    acks = []
    for line in open(path):
        f = line.split()
        vals = list(map(int, f[3:]))
        n = len(vals) // 2
        acks.append((int(f[2]) + shift_ns, vals[:n], vals[n:]))
    return acks


def covers(ack, dep_in, dep_pal):
    return all(a >= d for a, d in zip(ack[1], dep_in)) and \
        all(a >= d for a, d in zip(ack[2], dep_pal))


def first_covering(acks, dep_in, dep_pal):
    """The first ACK covering the vector, or None. ACKs are cumulative, so
    coverage is monotone in log order: a binary search finds it."""
    lo, hi = 0, len(acks)
    while lo < hi:
        mid = (lo + hi) // 2
        if covers(acks[mid], dep_in, dep_pal):
            hi = mid
        else:
            lo = mid + 1
    return acks[lo] if lo < len(acks) else None
