#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks the packet path from recorded evidence.

  check_path.py TRACE ACKS RECORDS VHOST_STATS SIZE [--shift-acks-ms MS]

TRACE    ftmb-vhost trace=FILE: "rel MONO_NS THREAD OUT_SEQ IN[n] PAL[n] HEAD"
         (a replica's "sup" lines, outputs it suppressed, are skipped)
ACKS     ftmb-hostd --ack-log: "ack INSTANCE MONO_NS IN[n] PAL[n]"
RECORDS  ftmb-traffic --record: every frame that arrived outside
VHOST_STATS  ftmb-vhost --stats (JSON)
SIZE     the size of every frame the generator sent

Holds when:
  - every output was released: each frame the middlebox sent was released
    by the output logger, and each released frame arrived outside, once
    (input a full guest RX ring refused waits in ftmb-vhost: reported);
  - none left before an ACK covering its dependency vector was sent
    (release time in the trace; ACK time taken before the backup sent it);
  - each frame that arrived had been released by the output logger, before
    it arrived;
  - no tag left: every frame arrived with the size it was sent with;
  - per-flow order held: each flow's frames arrived in sequence order.
--shift-acks-ms pretends every ACK was sent MS later: the negative control,
under which the checker must find violations.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from evidence import first_covering, load_acks  # noqa: E402

SINK_HDR = struct.Struct("<IIII")
SINK_REC = struct.Struct("<IIHHIQQQQQ")
TESTPKT_MAGIC = 0x544B5054


def load_releases(path, other_frames=False):
    """The trace's releases by (flow, seq): (time, thread, out_seq, dep in,
    dep pal). A frame that is not test traffic is an error, or, with
    other_frames (a middlebox on a shared segment answers ARP), kept under
    ("other", n)."""
    rels = {}
    for line in open(path):
        f = line.split()
        if f[0] != "rel":
            continue
        vals = list(map(int, f[4:-1]))
        n = len(vals) // 2
        head = bytes.fromhex(f[-1])
        magic, flow, seq = struct.unpack("<IIQ", head)
        if magic != TESTPKT_MAGIC:
            if not other_frames:
                raise SystemExit(f"check_path: a released frame is not test traffic: {line}")
            flow, seq = "other", len(rels)
        rels[(flow, seq)] = (int(f[1]), int(f[2]), int(f[3]), vals[:n], vals[n:])
    return rels


def load_records(path):
    data = open(path, "rb").read()
    magic, version, size, _ = SINK_HDR.unpack_from(data)
    if magic != 0x4B4E4953 or size != SINK_REC.size:
        raise SystemExit(f"check_path: {path} is not a sink record file")
    return [SINK_REC.unpack_from(data, off)
            for off in range(SINK_HDR.size, len(data), SINK_REC.size)]


def main():
    args = sys.argv[1:]
    shift_ms = 0.0
    if "--shift-acks-ms" in args:
        i = args.index("--shift-acks-ms")
        shift_ms = float(args[i + 1])
        del args[i:i + 2]
    trace, ackf, recf, statsf, size = args
    acks = load_acks(ackf, int(shift_ms * 1e6))
    rels = load_releases(trace)
    recs = load_records(recf)
    queues = json.load(open(statsf))["instances"][0]["queues"]
    errors = []

    early = 0
    for (flow, seq), (t, thread, out_seq, dep_in, dep_pal) in rels.items():
        ack = first_covering(acks, dep_in, dep_pal)
        if ack is None or ack[0] > t:
            early += 1
            if early == 1:
                errors.append(f"flow {flow} seq {seq} (thread {thread} output {out_seq}, "
                              f"dep in={dep_in} pal={dep_pal}) released at {t} before any "
                              f"covering ACK" + (f" (first at {ack[0]})" if ack else ""))

    seen, last_seq, unreleased, late, oversize, reordered = set(), {}, 0, 0, 0, 0
    for flow, _ip, _port, _r, frame_len, seq, _tx, rx, _g, _f in recs:
        rel = rels.get((flow, seq))
        if rel is None:
            unreleased += 1
        elif rel[0] > rx:
            late += 1
        if frame_len != int(size):
            oversize += 1
        if seq <= last_seq.get(flow, 0):
            reordered += 1
        last_seq[flow] = seq
        seen.add((flow, seq))
    outputs = sum(q["outputs"] for q in queues)
    held = sum(q["held_now"] for q in queues)
    waits = sum(q["input_waits"] for q in queues)
    if outputs != len(rels) or held:
        errors.append(f"the middlebox sent {outputs} frames, {len(rels)} were released, "
                      f"{held} still held")
    if len(seen) != len(rels) or len(recs) != len(rels):
        errors.append(f"{len(rels)} frames released, {len(recs)} arrived ({len(seen)} distinct)")
    for what, n in (("arrived without a release by the output logger", unreleased),
                    ("arrived before the output logger released them", late),
                    ("arrived with a size other than sent (a tag left?)", oversize),
                    ("arrived out of their flow's order", reordered)):
        if n:
            errors.append(f"{n} frames {what}")
    if early:
        errors.append(f"{early} outputs released before an ACK covering them")
    print(f"check_path: {len(rels)} releases, {len(acks)} ACKs, {len(recs)} frames outside, "
          f"input waited {waits} times for a full guest RX ring: "
          + ("; ".join(errors) if errors else "all released, none before its ACK, "
             "no tag outside, per-flow order kept"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
