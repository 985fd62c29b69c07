#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Records check-timeline.sh's sample from a demo run kept with KEEP=1.

  make_sample.py WORK_DIR [--build build] [--out tests/demo/sample]

Copies the evidence timeline.py reads, with the sink's records trimmed to
the failure (300 ms before the kill to 700 ms after the replica's first
output, and every 25th record elsewhere) and the replica's trace to its
first 20 releases. The negative control's verdict, verify-violation.json, is
the real ftmb-verify's on a copy of the run's records in which the
replica's first output carries the port of another flow (a remapped flow).
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tools", "demo"))
from timeline import Evidence, Timeline  # noqa: E402

REC_HDR, REC_SIZE, PORT_OFF = 16, 56, 8  # tools/include/ftmb/testpkt.h


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="tests/demo/sample")
    a = ap.parse_args()
    tl = Timeline(Evidence(a.work))
    os.makedirs(a.out, exist_ok=True)
    for f in ("kill", "status-b.json", "vhost-b.json", "verify.json", "verify.rc",
              "traffic.json", "download"):
        if os.path.exists(os.path.join(a.work, f)):
            shutil.copy(os.path.join(a.work, f), os.path.join(a.out, f))
    with open(os.path.join(a.work, "records.txt")) as f:
        lines = f.read().splitlines()
    head, recs = lines[0], lines[1:]
    keep = [l for i, l in enumerate(recs)
            if -300 <= float(l.split()[0]) <= tl.first_output + 700 or i % 25 == 0]
    with open(os.path.join(a.out, "records.txt"), "w") as f:
        f.write("\n".join([head] + keep) + "\n")
    with open(os.path.join(a.work, "replica.trace")) as f:
        trace = f.read().splitlines()
    trace = trace[:[l.startswith("rel ") for l in trace].index(True) + 20]
    with open(os.path.join(a.out, "replica.trace"), "w") as f:
        f.write("\n".join(trace) + "\n")

    first = next(i for i, l in enumerate(recs) if float(l.split()[0]) == tl.first_output)
    with open(os.path.join(a.work, "sink.rec"), "rb") as f:
        data = bytearray(f.read())
    flow_of = lambda i: struct.unpack_from("<I", data, REC_HDR + REC_SIZE * i)[0]  # noqa: E731
    other = next(i for i in range(first) if flow_of(i) != flow_of(first))
    at, src = (REC_HDR + REC_SIZE * i + PORT_OFF for i in (first, other))
    data[at:at + 2] = data[src:src + 2]
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "sink.rec")
        with open(bad, "wb") as f:
            f.write(data)
        out = subprocess.run([os.path.join(a.build, "ftmb-verify"), "--mb", "nat",
                              "--nat-idle-ms", "600000", "--json", bad],
                             capture_output=True, text=True)
    if out.returncode != 1:
        raise SystemExit(f"ftmb-verify did not catch the remapped flow: {out.stdout}")
    with open(os.path.join(a.out, "verify-violation.json"), "w") as f:
        f.write(out.stdout.replace(bad, "sink.rec"))
    print(f"sample written to {a.out}: {len(keep)} of {len(recs)} records, first output "
          f"{tl.first_output} ms (record {first}), its port replaced by record {other}'s")


if __name__ == "__main__":
    main()
