#!/usr/bin/python3
"""Helper of replay.sh (run with /usr/bin/python3; standard library only).

  replay_tool.py gen-pcap OUT FRAMES
      Writes FRAMES 64-byte Ethernet/IPv4/UDP frames (60 bytes captured, the
      FCS is not stored) with varying MAC/IP addresses and UDP ports.
  replay_tool.py measure SOCKET PID PORT WARMUP INTERVAL
      Waits for the DPDK telemetry SOCKET of process PID, for traffic on
      PORT, then WARMUP seconds; reads /ethdev/stats,PORT twice INTERVAL
      seconds apart and prints "mpps=<tx Mpps> rx_mpps=<rx Mpps> ...".
  replay_tool.py stages STATS_JSON...
      Prints the median cycles_per_packet of every stage over dpdk-app
      --stats-json files.
  replay_tool.py micro MICRO_BENCH_JSON
      Prints the ring hop and stage figures of a micro_bench
      --benchmark_out=FILE --benchmark_out_format=json run.
  replay_tool.py median VALUES...
      Prints the median.
"""
import json
import os
import socket
import statistics
import struct
import sys
import time


def ip_checksum(header):
    s = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def gen_pcap(path, frames):
    with open(path, "wb") as out:
        # pcap global header: magic, v2.4, UTC, accuracy, snaplen, Ethernet
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(frames):
            hi, lo = (i >> 8) & 0xFF, i & 0xFF
            dst = bytes([0x02, 0, 0, 0, hi, lo])
            src = bytes([0x02, 0, 0, 1, hi, lo])
            payload = bytes(18)
            udp = struct.pack("!HHHH", 1024 + i % 512, 5000 + i % 97, 8 + len(payload), 0)
            udp += payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             bytes([10, 0, hi, lo]), bytes([10, 1, hi, (i * 7) & 0xFF]))
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            frame = dst + src + b"\x08\x00" + ip + udp
            assert len(frame) == 60
            out.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


class Telemetry:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(5)
        self.sock.connect(path)
        info = json.loads(self.sock.recv(4096).decode())
        self.max_len = int(info.get("max_output_len", 16384))

    def query(self, cmd):
        self.sock.send(cmd.encode())
        return json.loads(self.sock.recv(self.max_len).decode())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive either.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def fail(msg):
    print("error=" + msg.replace(" ", "_"))
    sys.exit(1)


def measure(path, pid, port, warmup, interval):
    deadline = time.monotonic() + 30
    tel = None
    while tel is None:
        if not alive(pid):
            fail("process exited before its telemetry socket appeared")
        if time.monotonic() > deadline:
            fail("no telemetry socket at " + path)
        if os.path.exists(path):
            try:
                tel = Telemetry(path)
                break
            except OSError:
                pass
        time.sleep(0.1)
    cmd = "/ethdev/stats,%d" % port

    def sample():
        stats = tel.query(cmd).get("/ethdev/stats")
        if not isinstance(stats, dict):
            fail("no /ethdev/stats for port %d" % port)
        return time.monotonic(), stats

    while True:
        if not alive(pid):
            fail("process exited before forwarding")
        if time.monotonic() > deadline:
            fail("no packets forwarded on port %d" % port)
        _, s = sample()
        if s.get("opackets", 0) > 0:
            break
        time.sleep(0.1)
    time.sleep(warmup)
    t0, s0 = sample()
    time.sleep(interval)
    t1, s1 = sample()
    dt = t1 - t0
    tx = s1["opackets"] - s0["opackets"]
    rx = s1["ipackets"] - s0["ipackets"]
    print("mpps=%.4f rx_mpps=%.4f seconds=%.3f tx_packets=%d rx_nombuf=%d oerrors=%d" %
          (tx / dt / 1e6, rx / dt / 1e6, dt, tx, s1.get("rx_nombuf", 0), s1.get("oerrors", 0)))


def stages(files):
    per_stage = {}
    for path in files:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        for st in doc.get("stages", []):
            key = "%s@lcore%s" % (st.get("name"), st.get("lcore"))
            per_stage.setdefault(key, []).append(float(st.get("cycles_per_packet", 0.0)))
    for key, values in per_stage.items():
        print("%s %.2f %d" % (key, statistics.median(values), len(values)))


def micro(path):
    with open(path) as f:
        doc = json.load(f)
    runs = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        runs[b["name"].replace("/real_time", "")] = b
    hz = doc.get("context", {}).get("tsc_hz", "?")
    print("micro_bench cycles are TSC cycles (tsc_hz %s)" % hz)

    def line(name, label, key, extra=None):
        b = runs.get(name)
        if b is None:
            return
        text = "%-34s %8.1f %s" % (label, b[key], key)
        if extra:
            text += "  " + extra(b)
        print(text)

    line("BM_ring_sp_sc_same_core/32", "ring SP/SC enq+deq, one core", "cyc_per_item")
    line("BM_ring_hop_cross_core/32", "ring hop across lcores", "cyc_per_item",
         lambda b: "(%.1f Mitems/s; busy: consumer %.1f, producer %.1f)" % (
             b.get("items_per_second", 0) / 1e6, b.get("cons_busy_cyc_per_item", 0),
             b.get("prod_busy_cyc_per_item", 0)))
    line("BM_ring_hop_ping_pong/32", "ring hop latency, burst of 32", "cyc_one_way")
    line("BM_mbuf_pipeline_same_core/32", "mbuf alloc>ring>free, one core", "cyc_per_item")
    line("BM_mbuf_pipeline_cross_core/32", "mbuf alloc>ring>free, 2 lcores", "cyc_per_item",
         lambda b: "(busy: consumer %.1f, producer %.1f)" % (
             b.get("cons_busy_cyc_per_item", 0), b.get("prod_busy_cyc_per_item", 0)))
    line("BM_stage_noop/32", "stage call, no-op stage, burst 32", "cyc_per_pkt")
    line("BM_stage_bridge/32", "stage call, bridge, burst 32", "cyc_per_pkt")
    line("BM_stage_bridge_accounted/32", "bridge + per-stage accounting", "cyc_per_pkt")
    line("BM_stage_bridge_page_layout/32", "bridge, mbuf per 4K page (no-huge)", "cyc_per_pkt")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "gen-pcap" and len(argv) == 4:
        gen_pcap(argv[2], int(argv[3]))
    elif cmd == "measure" and len(argv) == 7:
        measure(argv[2], int(argv[3]), int(argv[4]), float(argv[5]), float(argv[6]))
    elif cmd == "stages":
        stages(argv[2:])
    elif cmd == "micro" and len(argv) == 3:
        micro(argv[2])
    elif cmd == "median" and len(argv) > 2:
        print("%.3f" % statistics.median(float(v) for v in argv[2:]))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
