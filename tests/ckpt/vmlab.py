# SPDX-License-Identifier: GPL-2.0-or-later
"""Two hosts on one machine for VM checkpoint tests and benchmarks.

  root namespace        host A (netns)                          host B (netns)
  ftmb-traffic  memif   ftmb-vhost <-vhost-user-> QEMU (guest)  ftmb-hostd (backup)
  (memif server) <----> ftmb-hostd (primary, launches QEMU)     replica on failover
                        relay ------------- hostd traffic ----->
                        ftmb-vhost -------- its log stream ---->

The primary hostd reaches the backup through a relay in host A's namespace
(so the backup still sees host A's address): it forwards every byte, and
when armed it cuts a checkpoint frame in half on the checkpoint stream. The
generator is the memif server, so that a replica on host B can take over
the external link. Every name carries the run's tag; stop() kills what the
lab started and removes what it created.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "qemu"))
from qmp import QMP  # noqa: E402

CLONE_NEWNET = 0x40000000
REPL_HDR = 12
CKPT_HDR = 48
CKPT_MAGIC = 0x4B435446
CKPT_CHECKPOINT = 2
ROLE_CHECKPOINT = 4
FRAME_BYTES = 90  # ftmb-traffic's default test frame, as the monitor counts it


def say(prefix, msg):
    print(f"{prefix}: {msg}", flush=True)


class Fail(Exception):
    pass


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else 0


def in_netns(ns):
    """Moves the calling thread into network namespace ns."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


class Relay:
    """A TCP relay inside host A's namespace: listen on (ip, port), forward
    each connection to target. On the connection whose HELLO has role
    CHECKPOINT it follows QEMU's frames; once armed it passes the header and
    half the body of the next checkpoint, then nothing more."""

    def __init__(self, ns, listen, target):
        self.ns, self.listen, self.target = ns, listen, target
        self.socks = []
        self.lock = threading.Lock()
        self.armed = False
        self.cut_seq = None
        self.cut_event = threading.Event()
        self.last_whole_seq = 0
        ready = threading.Event()
        threading.Thread(target=self._accept, args=(ready,), daemon=True).start()
        if not ready.wait(5):
            raise Fail("relay did not start")

    def _accept(self, ready):
        in_netns(self.ns)  # this thread's sockets live in host A
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(self.listen)
        srv.listen(16)
        self.socks.append(srv)
        ready.set()
        while True:
            try:
                a, _ = srv.accept()
                b = socket.create_connection(self.target)
            except OSError:
                return
            for s in (a, b):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.socks += [a, b]
            threading.Thread(target=self._forward, args=(a, b, True), daemon=True).start()
            threading.Thread(target=self._forward, args=(b, a, False), daemon=True).start()

    def _forward(self, src, dst, upstream):
        buf = bytearray()
        mode = "hello" if upstream else "raw"
        remaining = 0
        cutting_at = None
        while True:
            try:
                data = src.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                break
            if mode == "raw" or mode == "bytes":
                dst.sendall(data)
                continue
            buf += data
            out = bytearray()
            while buf:
                if mode == "hello":
                    if len(buf) < REPL_HDR:
                        break
                    n = REPL_HDR + struct.unpack_from("<I", buf)[0]
                    if len(buf) < n:
                        break
                    role = buf[REPL_HDR + 6]
                    out += buf[:n]
                    del buf[:n]
                    mode = "ckpt" if role == ROLE_CHECKPOINT else "bytes"
                    if mode == "bytes":
                        out += buf
                        buf.clear()
                    continue
                if remaining == 0:
                    if len(buf) < CKPT_HDR:
                        break
                    magic, _, ftype, _, _, seq, ram, dev = struct.unpack_from("<IHHIIQQQ", buf)
                    if magic != CKPT_MAGIC:
                        raise Fail("relay lost the checkpoint stream's frame sync")
                    remaining = ram + dev
                    if ftype == CKPT_CHECKPOINT and self.armed and cutting_at is None:
                        cutting_at = remaining // 2
                        self.cut_seq = seq
                    self.seq_now = seq
                    out += buf[:CKPT_HDR]
                    del buf[:CKPT_HDR]
                take = min(remaining, len(buf))
                if cutting_at is not None:
                    part = min(take, cutting_at)
                    out += buf[:part]
                    cutting_at -= part
                    if cutting_at == 0:
                        dst.sendall(out)
                        self.cut_event.set()
                        return  # what follows never reaches the backup
                else:
                    out += buf[:take]
                del buf[:take]
                remaining -= take
                if remaining == 0 and cutting_at is None and mode == "ckpt":
                    self.last_whole_seq = self.seq_now
            if mode == "bytes" and buf:
                out += buf
                buf.clear()
            if out:
                dst.sendall(out)

    def close(self):
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


class Lab:
    def __init__(self, prefix, build, qemu, kernel, initrd, append, mode="ftmb",
                 interval_ms=50, memory_mb=256, rate=1000, accel="tcg", accel_probe=None):
        self.prefix, self.build = prefix, build
        self.tag = f"ckpt{os.getpid()}"
        self.work = tempfile.mkdtemp(prefix=f"ftmb-{self.tag}.")
        self.ns_a, self.ns_b = f"ftmb-{self.tag}-a", f"ftmb-{self.tag}-b"
        pid = os.getpid()
        net = f"10.{100 + pid % 100}.{pid // 100 % 250}"
        self.ip_a, self.ip_b = f"{net}.1", f"{net}.2"
        self.repl_port, self.relay_port = 7400, 7401
        self.ram = f"/dev/shm/ftmb-{self.tag}-ram"
        self.region = f"/dev/shm/ftmb-{self.tag}-region"
        self.vhost_sock = f"{self.work}/vm1.vhost"
        self.ext_sock = f"{self.work}/ext.sock"
        self.procs = {}
        self.qemu, self.kernel, self.initrd, self.append = qemu, kernel, initrd, append
        self.mode, self.interval_ms, self.memory_mb, self.rate = mode, interval_ms, memory_mb, rate
        self.relay = None
        self.accel, self.accel_probe = accel, accel_probe

    # --- set-up ---

    def sh(self, *cmd):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def netns(self):
        self.sh("ip", "netns", "add", self.ns_a)
        self.sh("ip", "netns", "add", self.ns_b)
        va, vb = f"v{self.tag}a"[:15], f"v{self.tag}b"[:15]
        self.sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        self.sh("ip", "link", "set", va, "netns", self.ns_a)
        self.sh("ip", "link", "set", vb, "netns", self.ns_b)
        for ns, dev, ip in ((self.ns_a, va, self.ip_a), (self.ns_b, vb, self.ip_b)):
            self.sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            self.sh("ip", "-n", ns, "link", "set", dev, "up")
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")

    def eal(self, name, mem=512):
        return ["--lcores=0@(0-1)", "--no-huge", "--no-pci", f"-m{mem}",
                f"--file-prefix={self.tag}-{name}", "--log-level=lib.vhost.*:warning",
                "--log-level=lib.eal:warning"]

    def vhost_spec(self, extra):
        return (f"name=vm1,socket={self.vhost_sock},region={self.region},queues=1,"
                f"port=[net_memif0,role=client,socket={self.ext_sock},socket-abstract=no],{extra}")

    def config(self, backup_addr):
        replica = " ".join([f"{self.build}/ftmb-vhost", *self.eal("rvh"), "--", "--instance",
                            self.vhost_spec("mode=ftmb,cut=pause,replay=%LOG%"),
                            "--stats", f"{self.work}/replica-stats.json"])
        probe = f"accel_probe = {self.accel_probe}\n" if self.accel_probe else ""
        return f"""[hostd]
heartbeat_interval_ms = 20
failure_timeout_ms = 3000
{probe}[peers]
hostA = {self.ip_a}:{self.repl_port}
hostB = {backup_addr}
[instance vm1]
primary = hostA
backup = hostB
replica_vhost = {replica}
kernel = {self.kernel}
initrd = {self.initrd}
append = {self.append}
qemu = {self.qemu}
accel = {self.accel}
memory_mb = {self.memory_mb}
ram_file = {self.ram}
vhost_socket = {self.vhost_sock}
region = {self.region}
region_size = 512K
checkpoint_interval_ms = {self.interval_ms}
"""

    def start(self, name, cmd, ns=None):
        log = open(f"{self.work}/{name}.log", "w")
        argv = (["ip", "netns", "exec", ns] if ns else []) + cmd
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        return self.procs[name]

    def hostd(self, name, ns, ip, conf):
        path = f"{self.work}/{name}.conf"
        with open(path, "w") as f:
            f.write(conf)
        # at real-time priority, as its systemd unit runs it: a TCG guest
        # booting on two overloaded cores can starve heartbeats for seconds
        return self.start(name, ["chrt", "-f", "10", f"{self.build}/ftmb-hostd", "-c", path,
                                 "--name", name,
                                 "--listen", f"{ip}:{self.repl_port}",
                                 "--control", f"{self.work}/{name}.ctl",
                                 "--state-dir", f"{self.work}/{name}"], ns)

    def up(self):
        """Backup, generator, ftmb-vhost and the primary hostd, which then
        launches the VM; returns once the guest's middlebox runs."""
        self.netns()
        self.hostd("hostB", self.ns_b, self.ip_b,
                   self.config(f"{self.ip_b}:{self.repl_port}"))
        self.wait_log("hostB", "listening for replication streams", 10)
        self.generator("gen")
        extra = {"ftmb": "mode=ftmb", "checkpoint": "mode=checkpoint"}[self.mode]
        self.start("vhostA", [f"{self.build}/ftmb-vhost", *self.eal("vh"), "--", "--instance",
                              self.vhost_spec(f"{extra},cut=pause,backup={self.ip_b}:"
                                              f"{self.repl_port}"),
                              "--stats", f"{self.work}/vhostA-stats.json"], self.ns_a)
        self.wait_log("vhostA", "connected to backup", 20)
        self.relay = Relay(self.ns_a, (self.ip_a, self.relay_port), (self.ip_b, self.repl_port))
        self.hostd("hostA", self.ns_a, self.ip_a, self.config(f"{self.ip_a}:{self.relay_port}"))
        t0 = time.monotonic()
        self.wait_for(lambda: "ftmb-monitor: running" in self.serial("hostA"), 120,
                      "the guest's monitor")
        self.boot_s = time.monotonic() - t0
        self.wait_for(lambda: self.ticks("hostA"), 30, "the guest's TICKs")

    def generator(self, name):
        """ftmb-traffic as the memif server of the external link, sending once
        go(name) is called, recording what comes back in NAME.rec."""
        if os.path.exists(self.ext_sock):
            os.unlink(self.ext_sock)
        self.start(name, [f"{self.build}/ftmb-traffic", f"--file-prefix={self.tag}-{name}", "--",
                          "--dev", f"net_memif0,role=server,socket={self.ext_sock},"
                          "socket-abstract=no", "--go-file", f"{self.work}/go-{name}",
                          "--flows", "8", "--rate", str(self.rate), "--duration", "3600",
                          "--link-timeout", "300", "--record", f"{self.work}/{name}.rec",
                          "--json", "-q"])
        self.wait_for(lambda: os.path.exists(self.ext_sock), 10, "the generator's socket")

    def go(self, name="gen"):
        """Starts the traffic of generator name."""
        open(f"{self.work}/go-{name}", "w").close()

    # --- observation ---

    def ctl(self, host, cmd):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(f"{self.work}/{host}.ctl")
        s.sendall((json.dumps({"cmd": cmd}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)

    def instance(self, host, cmd="status"):
        return self.ctl(host, cmd)["instances"][0]

    def vhost_stats(self, name="vhostA", path=None):
        path = path or f"{self.work}/{name}-stats.json"
        if os.path.exists(path):  # file times are too coarse to tell writes apart
            os.unlink(path)
        self.procs[name].send_signal(signal.SIGUSR1)
        self.wait_for(lambda: os.path.exists(path), 5, f"{name}'s statistics")
        with open(path) as f:
            return json.load(f)["instances"][0]

    def serial(self, host):
        try:
            with open(f"{self.work}/{host}/vm1.serial", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ticks(self, host):
        return [int(t) for t in re.findall(r"TICK (\d+)", self.serial(host))]

    def read_log(self, name):
        try:
            with open(f"{self.work}/{name}.log", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, name, text, timeout):
        self.wait_for(lambda: text in self.read_log(name), timeout, f"'{text}' in {name}.log")

    def wait_for(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise Fail(f"no {what} within {timeout} s")
            time.sleep(0.05)

    def qmp(self, host, which="monitor"):
        return QMP(f"{self.work}/{host}/vm1.{which}")

    def stop_traffic(self, name="gen"):
        p = self.procs[name]
        p.send_signal(signal.SIGINT)
        p.wait(30)
        with open(f"{self.work}/{name}.log") as f:
            text = f.read()
        return json.loads(text[text.index("{"):])

    def records(self, name="gen"):
        with open(f"{self.work}/{name}.rec", "rb") as f:
            data = f.read()
        return [struct.unpack_from("<IIHHIQQQQQ", data, off) for off in range(16, len(data), 56)]

    # --- the end ---

    def kill(self, name):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.kill()
            p.wait()

    def stop(self, keep=False):
        if self.relay:
            self.relay.close()
        for name, p in self.procs.items():
            if p.poll() is None:
                p.terminate()
        for ns in (self.ns_a, self.ns_b):
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in out.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        for f in (self.ram, self.region):
            if os.path.exists(f):
                os.unlink(f)
        for name in ("vh", "rvh", "gen", "gen2"):
            shutil.rmtree(f"/var/run/dpdk/{self.tag}-{name}", ignore_errors=True)
        if keep:
            say(self.prefix, f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def dump_logs(self):
        for name in list(self.procs) + ["hostA/vm1.qemu", "hostB/vm1.qemu", "hostB/vm1.vhost"]:
            text = self.read_log(name)
            lines = [l for l in text.splitlines() if not l.startswith(("EAL:", "TELEMETRY"))]
            print(f"--- {name}.log", flush=True)
            for l in lines[-15:]:
                print(f"    {l}", flush=True)


# The guest of these tests: a TICK on the console every 200 ms (to see a
# restored guest go on from its checkpoint) and ftmb-monitor on eth0.
MONITOR_APPEND = ("console=ttyS0 quiet panic=-1 ipv6.disable=1 ftmb.run=sh,-c," +
                  ("i=0; while :; do i=$((i+1)); echo TICK $i; sleep 0.2; done & "
                   "exec ftmb-monitor --threads 1 --io afpacket:eth0").replace(" ", "%20"))


def lab_main(name, doc, run, options=(), accel_probe=False):
    """The command line of a test on a Lab (--build, --qemu, --kernel,
    --initrd, --keep, with accel_probe --accel-probe, and options: (flag,
    default) pairs whose values are passed to run(lab, ...) in order); exits
    0 when run returns, 1 when it raises, with the logs."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--keep", action="store_true")
    if accel_probe:
        ap.add_argument("--accel-probe", required=True)
    for flag, default in options:
        ap.add_argument(flag, default=default, type=type(default))
    a = ap.parse_args()
    accel = {"accel": "auto", "accel_probe": a.accel_probe} if accel_probe else {}
    lab = Lab(name, os.path.abspath(a.build), a.qemu, a.kernel, a.initrd, MONITOR_APPEND,
              **accel)
    ok = False
    try:
        run(lab, *[getattr(a, flag.lstrip("-").replace("-", "_")) for flag, _ in options])
        ok = True
    except Exception as e:  # noqa: BLE001 - any failure gets the logs
        say(name, f"FAIL: {e}")
        lab.dump_logs()
    finally:
        lab.stop(keep=a.keep or not ok and bool(os.environ.get("KEEP")))
    sys.exit(0 if ok else 1)
