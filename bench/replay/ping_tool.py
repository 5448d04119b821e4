#!/usr/bin/python3
"""Helper of ping_replay.sh (run with /usr/bin/python3; standard library only).

  ping_tool.py gen-pcap OUT FRAMES DST_MAC SRC_MAC SRC_IP DST_IP
      Writes FRAMES 64-byte ICMP echo requests (60 bytes captured, the FCS
      is not stored): Ethernet DST_MAC <- SRC_MAC, IPv4 SRC_IP -> DST_IP,
      TTL 64, IP id, ICMP identifier and sequence number varying per frame,
      18 bytes of payload, valid IPv4 and ICMP checksums.
  ping_tool.py measure SOCKET PID PORT WARMUP INTERVAL
      Waits for the DPDK telemetry SOCKET of process PID and for packets
      received on PORT, then WARMUP seconds; reads /ethdev/stats,PORT and
      /dpdk_app/stats twice INTERVAL seconds apart and prints one line of
      key=value: tx_mpps, rx_mpps (ethdev), gen_mpps, fwd_mpps, cons_mpps,
      drop_mpps (dpdk-app counters over the window), drops (by reason over
      the window, or "none"), and the totals after the window (tot_rx,
      tot_forwarded, tot_generated, tot_dropped, tot_drops).
  ping_tool.py check-replies REQUESTS REPLIES DEV_MAC DEV_IP
      Checks a tx_pcap capture (REPLIES) of dpdk-app answering the capture
      REQUESTS: every request must have exactly one echo reply (Ethernet
      DEV_MAC -> the requester, IPv4 DEV_IP -> the requester, ICMP type 0
      code 0, the request's identifier, sequence and payload, valid
      checksums). Gratuitous ARP for DEV_IP from DEV_MAC and other frames
      are counted, not errors. Prints a summary line; exits 1 otherwise.
  ping_tool.py stages STATS_JSON...
      Prints the median cycles_per_packet of every stage over dpdk-app
      --stats-json files (replay_tool.py stages).
  ping_tool.py median VALUES...
      Prints the median.
"""
import os
import statistics
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_tool import Telemetry, alive, ip_checksum, stages  # noqa: E402


def fail(msg):
    print("error=" + msg.replace(" ", "_"))
    sys.exit(1)


def parse_mac(text):
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC " + text)
    return b


def parse_ip(text):
    b = bytes(int(x) for x in text.split("."))
    if len(b) != 4:
        raise ValueError("bad IPv4 address " + text)
    return b


def fmt_mac(b):
    return ":".join("%02x" % x for x in b)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    return ip_checksum(data)


def echo_request(i, dst_mac, src_mac, src_ip, dst_ip):
    ident = 0x1000 + (i >> 16)
    seq = i & 0xFFFF
    payload = bytes((i + k * 7) & 0xFF for k in range(18))
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), i & 0xFFFF, 0, 64, 1, 0,
                     src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    frame = dst_mac + src_mac + b"\x08\x00" + ip + icmp
    assert len(frame) == 60
    return frame


def gen_pcap(path, frames, dst_mac, src_mac, src_ip, dst_ip):
    dst_mac, src_mac = parse_mac(dst_mac), parse_mac(src_mac)
    src_ip, dst_ip = parse_ip(src_ip), parse_ip(dst_ip)
    with open(path, "wb") as out:
        # pcap global header: magic, v2.4, UTC, accuracy, snaplen, Ethernet
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(frames):
            frame = echo_request(i, dst_mac, src_mac, src_ip, dst_ip)
            out.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: not a pcap file (%d bytes)" % (path, len(data)))
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError("%s: not a pcap file (magic %08x)" % (path, magic))
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def telemetry_connect(path, pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if not alive(pid):
            fail("process exited before its telemetry socket appeared")
        if time.monotonic() > deadline:
            fail("no telemetry socket at " + path)
        if os.path.exists(path):
            try:
                return Telemetry(path)
            except OSError:
                pass
        time.sleep(0.1)


def measure(path, pid, port, warmup, interval):
    tel = telemetry_connect(path, pid, 30)
    cmd = "/ethdev/stats,%d" % port

    def sample():
        e = tel.query(cmd).get("/ethdev/stats")
        if not isinstance(e, dict):
            fail("no /ethdev/stats for port %d" % port)
        # null until the pipeline runs (and for a process that is not dpdk-app)
        a = tel.query("/dpdk_app/stats").get("/dpdk_app/stats") or {}
        return time.monotonic(), e, a

    # Wait for the pipeline ({} until it runs) and for traffic in: in the ping
    # run nothing may go out (no responder, or every request dropped), and
    # that must be reported, not waited for.
    deadline = time.monotonic() + 30
    while True:
        if not alive(pid):
            fail("process exited before receiving")
        if time.monotonic() > deadline:
            fail("nothing received on port %d, or no /dpdk_app/stats, within 30 s" % port)
        _, e, a = sample()
        if e.get("ipackets", 0) > 0 and "rx" in a:
            break
        time.sleep(0.1)
    time.sleep(warmup)
    t0, e0, a0 = sample()
    time.sleep(interval)
    t1, e1, a1 = sample()
    if not alive(pid) or "rx" not in a1:
        fail("process exited while measured")
    dt = t1 - t0

    def rate(d1, d0, key):
        return (int(d1.get(key, 0)) - int(d0.get(key, 0))) / dt / 1e6

    def drops(d1, d0):
        out = []
        for k in sorted(d1):
            if k.startswith("drop_"):
                n = int(d1[k]) - (int(d0.get(k, 0)) if d0 is not None else 0)
                if n > 0:
                    out.append("%s:%d" % (k[5:], n))
        return ",".join(out) or "none"

    print(" ".join([
        "tx_mpps=%.4f" % rate(e1, e0, "opackets"),
        "rx_mpps=%.4f" % rate(e1, e0, "ipackets"),
        "gen_mpps=%.4f" % rate(a1, a0, "generated"),
        "fwd_mpps=%.4f" % rate(a1, a0, "forwarded"),
        "cons_mpps=%.4f" % rate(a1, a0, "consumed"),
        "drop_mpps=%.4f" % rate(a1, a0, "dropped"),
        "seconds=%.3f" % dt,
        "oerrors=%d" % (int(e1.get("oerrors", 0)) - int(e0.get("oerrors", 0))),
        "rx_nombuf=%d" % (int(e1.get("rx_nombuf", 0)) - int(e0.get("rx_nombuf", 0))),
        "drops=" + drops(a1, a0),
        "tot_rx=%d" % int(a1.get("rx", 0)),
        "tot_forwarded=%d" % int(a1.get("forwarded", 0)),
        "tot_generated=%d" % int(a1.get("generated", 0)),
        "tot_dropped=%d" % int(a1.get("dropped", 0)),
        "tot_drops=" + drops(a1, None),
    ]))


def check_replies(req_path, rep_path, dev_mac, dev_ip):
    dev_mac, dev_ip = parse_mac(dev_mac), parse_ip(dev_ip)
    requests = {}
    request_frames = set()
    for f in read_pcap(req_path):
        request_frames.add(f)
        ident, seq = struct.unpack("!HH", f[38:42])
        requests[(ident, seq)] = f
    answered = {}
    bad, bridged, announce, other = [], 0, 0, []
    for n, f in enumerate(read_pcap(rep_path)):
        if f in request_frames:
            bridged += 1  # the request itself went out: not answered, forwarded
            continue
        if (len(f) >= 42 and f[12:14] == b"\x08\x06" and f[6:12] == dev_mac
                and f[28:32] == dev_ip and f[38:42] == dev_ip):
            announce += 1  # gratuitous ARP for the appliance's address
            continue
        if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 1:
            other.append(n)
            continue
        ihl = (f[14] & 0x0F) * 4
        icmp = f[14 + ihl:14 + struct.unpack("!H", f[16:18])[0]]
        if len(icmp) < 8 or icmp[0] != 0:
            other.append(n)
            continue
        ident, seq = struct.unpack("!HH", icmp[4:8])
        req = requests.get((ident, seq))
        why = []
        if req is None:
            why.append("no request with id %d seq %d" % (ident, seq))
        else:
            if (ident, seq) in answered:
                why.append("second reply")
            if f[0:6] != req[6:12]:
                why.append("eth dst %s" % fmt_mac(f[0:6]))
            if f[6:12] != dev_mac:
                why.append("eth src %s" % fmt_mac(f[6:12]))
            if f[26:30] != dev_ip or f[30:34] != req[26:30]:
                why.append("addresses")
            if icmp[1] != 0:
                why.append("code %d" % icmp[1])
            if icmp[8:] != req[42:]:
                why.append("payload")
        if f[14] >> 4 != 4 or ip_checksum(f[14:14 + ihl]) != 0:
            why.append("IPv4 header checksum")
        if f[22] == 0:
            why.append("TTL 0")
        if checksum(icmp) != 0:
            why.append("ICMP checksum")
        if why:
            bad.append("frame %d: %s" % (n, ", ".join(why)))
        answered[(ident, seq)] = True
    missing = len(requests) - len(answered)
    # Other frames (neither a reply, the request, nor an ARP announcement)
    # are reported, not an error: the responder may send more than replies.
    ok = not bad and missing == 0 and bridged == 0
    print("requests=%d replies=%d unanswered=%d bridged=%d bad=%d arp_announce=%d other=%d%s%s" % (
        len(requests), len(answered), max(missing, 0), bridged, len(bad), announce,
        len(other), (" first_other=frame_%d" % other[0]) if other else "",
        (" first_bad=" + bad[0].replace(" ", "_")) if bad else ""))
    return 0 if ok else 1


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, a = argv[1], argv[2:]
    if cmd == "gen-pcap" and len(a) == 6:
        gen_pcap(a[0], int(a[1]), *a[2:6])
    elif cmd == "measure" and len(a) == 5:
        measure(a[0], int(a[1]), int(a[2]), float(a[3]), float(a[4]))
    elif cmd == "check-replies" and len(a) == 4:
        return check_replies(*a)
    elif cmd == "stages":
        stages(a)
    elif cmd == "median" and len(a) > 0:
        print("%.3f" % statistics.median(float(v) for v in a))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
