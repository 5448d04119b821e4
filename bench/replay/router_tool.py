#!/usr/bin/python3
"""Helper of router_replay.sh (run with /usr/bin/python3; standard library only).

  router_tool.py gen-pcap OUT FRAMES DST_MAC [DSTS]
      Writes FRAMES 64-byte Ethernet/IPv4/UDP frames (60 bytes captured),
      Ethernet destination DST_MAC, TTL 64, valid header checksums; frame i
      is the UDP flow 10.A.B.C:SPORT -> DST:DPORT with A.B.C = i (so every
      frame is a flow of its own, up to 2^24 frames), SPORT 1024 + i % 512,
      DPORT 5000 + i % 97. DSTS "alt" (default): destinations alternate
      between 198.18.0.0/24 and 198.18.1.0/24 (l3fwd's built-in LPM routes
      to ports 0 and 1); "port1": all in 198.18.1.0/24 (port 1); "replies":
      frame 2j is frame j of "alt" and frame 2j + 1 its reply (addresses
      and ports swapped: to 10.0.0.0/8), FRAMES / 2 flows seen both ways.
  router_tool.py gen-exact N APP_FILE L3FWD_V4 L3FWD_V6
      Writes the 5-tuples of the first N frames of "gen-pcap ... port1" as
      a dpdk-app [firewall.exact] file ("accept flow udp SRC SPORT DST
      DPORT") and as l3fwd --lookup em rule files: 'R' lines "DST SRC DPORT
      SPORT PROTO PORT", every flow to port 1 (a miss in l3fwd em leaves by
      the port it came in on, port 0, so port 0's TX counts the misses), and
      one IPv6 entry (l3fwd reads both files or neither).
  router_tool.py check-pcap PCAP [APP_FILE L3FWD_V4]
      Reads a capture of gen-pcap and prints "frames=N flows=M" (M distinct
      IPv4 5-tuples); with the two files of gen-exact also how many frames
      each table matches, looked up the way each application builds its key
      ("app_hits=... l3fwd_hits=... l3fwd_port1=..."). Exits 1 if a frame
      is not IPv4/UDP, if flows < frames, or if a table misses a frame.
  router_tool.py gen-routes N SEED APP_FILE VIA [L3FWD_V4 L3FWD_V6]
      Writes N distinct random IPv4 prefixes (BGP-like lengths: /24 59 %,
      /20-/23 30 %, /16-/19 9 %, /8-/15 1 %, /25-/32 1 %), none overlapping
      198.18.0.0/15, 192.0.2.0/24 or 198.51.100.0/24, as a dpdk-app routes
      file ("PREFIX via VIA" lines); with L3FWD_V4/L3FWD_V6 also l3fwd
      --rule_ipv4 / --rule_ipv6 files holding the same routes to port 1 plus
      198.18.0.0/24 -> 0 and 198.18.1.0/24 -> 1.
  router_tool.py gen-acl N SEED APP_TOML L3FWD_V4 L3FWD_V6 [CT_CAPACITY IN_PORT]
      Writes N random deny rules (source and destination prefixes, TCP or
      UDP, a destination port range; no source inside 10.0.0.0/8 or
      198.0.0.0/8, so none matches the capture, replies included, and every
      frame walks the whole rule set) as a
      dpdk-app [firewall] section (default accept) and as l3fwd --lookup acl
      rule files: the same rules as '@' lines, then l3fwd's routes as 'R'
      lines (198.18.0.0/24 -> 0, 198.18.1.0/24 -> 1, 10.0.0.0/8 -> 1 for
      the replies of a "replies" capture). With CT_CAPACITY
      (> 0), dpdk-app also tracks connections: [firewall.conntrack]
      capacity = CT_CAPACITY, and before the deny rules "est" (state
      established or related: accept) and "new" (state new, in_port =
      IN_PORT: accept).
  router_tool.py wait-forwarding SOCKET PID PORTS TIMEOUT
      Waits for the telemetry SOCKET of PID and for the sum of opackets over
      PORTS (e.g. 0,1) to become > 0; prints "ready_s=<seconds waited>".
  router_tool.py measure SOCKET PID PORTS WARMUP INTERVAL [app]
      After WARMUP seconds, reads /ethdev/stats of every port in PORTS twice,
      INTERVAL seconds apart, and prints "mpps=<sum of opackets Mpps>
      rx_mpps=... tx_by_port=<port>:<opackets of the window>,...". With
      "app", also /dpdk_app/stats: the drops of the window by reason
      ("drops=reason:n,..." or "drops=none").
  router_tool.py memory PID
      Prints "rss_mib=<VmRSS> hwm_mib=<VmHWM>" from /proc/PID/status.
  router_tool.py check-stats STATS_JSON
      Prints the forwarded/dropped totals and the drops by reason of a
      dpdk-app --stats-json file, the counters of its firewall sections
      (e.g. "firewall.conntrack=connections:N,...") and the packets of each
      rule with an id ("rule_packets=est:N,new:M"); exits 1 when any drop
      is counted.
"""
import json
import os
import random
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_tool import Telemetry, alive, ip_checksum  # noqa: E402


def fail(msg):
    print("error=" + msg.replace(" ", "_"))
    sys.exit(1)


def parse_mac(text):
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC " + text)
    return b


DSTS = ("alt", "port1", "replies")
MAX_FLOWS = 1 << 24


def flow(i, dsts):
    """The UDP flow of frame i: (src, sport, dst, dport), addresses as bytes.
    For i < 65536 and dsts "alt" the frames are those the script always
    replayed (sources 10.0.X.Y)."""
    src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
    if dsts == "alt":
        dst = bytes([198, 18, i & 1, 1 + (i >> 1) % 254])
    else:
        dst = bytes([198, 18, 1, 1 + i % 254])
    return src, 1024 + i % 512, dst, 5000 + i % 97


def gen_pcap(path, frames, dst_mac, dsts="alt"):
    if dsts not in DSTS:
        fail("DSTS must be alt or port1")
    if not 0 < frames <= MAX_FLOWS:
        fail("FRAMES must be 1..%d" % MAX_FLOWS)
    dst = parse_mac(dst_mac)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(frames):
            if dsts == "replies":
                # Frame 2j is flow j of "alt", frame 2j + 1 its reply.
                src_ip, sport, dst_ip, dport = flow(i >> 1, "alt")
                if i & 1:
                    src_ip, sport, dst_ip, dport = dst_ip, dport, src_ip, sport
            else:
                src_ip, sport, dst_ip, dport = flow(i, dsts)
            src = bytes([0x02, 0, 0, 0, 0x0A, 0x01])
            payload = bytes(18)
            udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
            udp += payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             src_ip, dst_ip)
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            frame = dst + src + b"\x08\x00" + ip + udp
            assert len(frame) == 60
            out.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


def addr_text(b):
    return "%d.%d.%d.%d" % tuple(b)


def gen_exact(n, app_file, l3fwd_v4, l3fwd_v6):
    if not 0 < n <= MAX_FLOWS:
        fail("N must be 1..%d" % MAX_FLOWS)
    flows = [flow(i, "port1") for i in range(n)]
    with open(app_file, "w") as out:
        out.write("# %d exact-match flows, one per frame of the capture (router_tool.py "
                  "gen-exact)\n" % n)
        out.write("".join("accept flow udp %s %d %s %d\n" % (addr_text(s), sp, addr_text(d), dp)
                          for s, sp, d, dp in flows))
    with open(l3fwd_v4, "w") as out:
        # l3fwd em_parse_v4_rule: R<dst> <src> <dport> <sport> <proto> <port>
        out.write("# %d exact-match flows to port 1 (router_tool.py gen-exact)\n" % n)
        out.write("".join("R%s %s %d %d 17 1\n" % (addr_text(d), addr_text(s), dp, sp)
                          for s, sp, d, dp in flows))
    with open(l3fwd_v6, "w") as out:
        # Read, but not put in a table: l3fwd em fills the IPv6 table only
        # with --ipv6. It exits if the file has no entry.
        out.write("R2001:db8::1 2001:db8::2 9 9 17 1\n")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] != 0xA1B2C3D4:
        fail("%s is not a little-endian microsecond pcap" % path)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<IIII", data, off)[2]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def check_pcap(path, app_file=None, l3fwd_v4=None):
    app_keys = l3_keys = None
    if app_file:
        app_keys = set()
        with open(app_file) as f:
            for line in f:
                w = line.split("#", 1)[0].split()
                if not w:
                    continue
                if len(w) != 7 or w[0] != "accept" or w[1] != "flow":
                    fail("unexpected line in %s: %s" % (app_file, line.strip()))
                proto = {"udp": 17, "tcp": 6}.get(w[2])
                app_keys.add((proto, w[3], int(w[4]), w[5], int(w[6])))
        # As l3fwd's em_parse_v4_rule reads it: DST SRC DPORT SPORT PROTO PORT.
        l3_keys = {}
        with open(l3fwd_v4) as f:
            for line in f:
                if not line.startswith("R"):
                    continue
                d, s_, dp, sp, proto, port = line[1:].split()
                l3_keys[(int(proto, 0), s_, int(sp, 0), d, int(dp, 0))] = int(port, 0)
    frames = 0
    flows = set()
    app_hits = l3_hits = l3_port1 = 0
    for fr in read_pcap(path):
        frames += 1
        if len(fr) < 42 or fr[12:14] != b"\x08\x00" or fr[14] != 0x45 or fr[23] != 17:
            fail("frame %d is not IPv4/UDP without options" % frames)
        key = (fr[23], addr_text(fr[26:30]), struct.unpack_from("!H", fr, 34)[0],
               addr_text(fr[30:34]), struct.unpack_from("!H", fr, 36)[0])
        flows.add(key)
        if app_keys is not None:
            app_hits += key in app_keys
            port = l3_keys.get(key)
            l3_hits += port is not None
            l3_port1 += port == 1
    line = "frames=%d flows=%d" % (frames, len(flows))
    ok = frames > 0 and len(flows) == frames
    if app_keys is not None:
        line += " app_hits=%d l3fwd_hits=%d l3fwd_port1=%d" % (app_hits, l3_hits, l3_port1)
        ok = ok and app_hits == frames and l3_hits == frames and l3_port1 == frames
    print(line)
    return 0 if ok else 1


# Prefixes the generated routes must not overlap: the test destinations and
# the interface subnets of the benchmark configuration.
RESERVED = [(0xC6120000, 15), (0xC0000200, 24), (0xC6336400, 24)]


def overlaps(addr, length):
    for r, rl in RESERVED:
        n = min(length, rl)
        mask = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF
        if addr & mask == r & mask:
            return True
    return False


def prefix_text(addr, length):
    return "%d.%d.%d.%d/%d" % (addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
                               length)


def gen_routes(n, seed, app_file, via, l3fwd_v4=None, l3fwd_v6=None):
    rng = random.Random(seed)
    seen = set()
    routes = []
    while len(routes) < n:
        p = rng.randrange(10000)
        if p < 5900:
            length = 24
        elif p < 8900:
            length = rng.randint(20, 23)
        elif p < 9800:
            length = rng.randint(16, 19)
        elif p < 9900:
            length = rng.randint(8, 15)
        else:
            length = rng.randint(25, 32)
        addr = rng.getrandbits(32)
        first = addr >> 24
        if first == 0 or first == 127 or first >= 224:
            continue
        addr &= (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
        key = addr << 6 | length
        if key in seen or overlaps(addr, length):
            continue
        seen.add(key)
        routes.append(prefix_text(addr, length))
    with open(app_file, "w") as out:
        out.write("# %d generated routes (router_tool.py gen-routes, seed %d)\n" % (n, seed))
        out.write("".join("%s via %s\n" % (r, via) for r in routes))
    if l3fwd_v4:
        with open(l3fwd_v4, "w") as out:
            out.write("R198.18.0.0/24 0\nR198.18.1.0/24 1\n")
            out.write("".join("R%s 1\n" % r for r in routes))
        with open(l3fwd_v6, "w") as out:
            # l3fwd reads both files or neither; one IPv6 route to port 1.
            out.write("R2001:db8::/32 1\n")


def ethdev_sample(tel, ports):
    total = {"opackets": 0, "ipackets": 0, "oerrors": 0, "rx_nombuf": 0, "imissed": 0}
    by_port = {}
    for p in ports:
        stats = tel.query("/ethdev/stats,%d" % p).get("/ethdev/stats")
        if not isinstance(stats, dict):
            fail("no /ethdev/stats for port %d" % p)
        for k in total:
            total[k] += int(stats.get(k, 0))
        by_port[p] = int(stats.get("opackets", 0))
    total["tx_port"] = by_port
    return time.monotonic(), total


def connect(path, pid, timeout):
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


def wait_forwarding(path, pid, ports, timeout):
    t0 = time.monotonic()
    tel = connect(path, pid, timeout)
    while True:
        if not alive(pid):
            fail("process exited before forwarding")
        if time.monotonic() - t0 > timeout:
            fail("nothing forwarded within %d s" % timeout)
        _, s = ethdev_sample(tel, ports)
        if s["opackets"] > 0:
            break
        time.sleep(0.2)
    print("ready_s=%.1f" % (time.monotonic() - t0))


def app_drops(tel):
    d = tel.query("/dpdk_app/stats").get("/dpdk_app/stats")
    if not isinstance(d, dict):
        return {}
    return {k[5:]: int(v) for k, v in d.items() if k.startswith("drop_")}


def measure(path, pid, ports, warmup, interval, app):
    tel = connect(path, pid, 30)
    time.sleep(warmup)
    d0 = app_drops(tel) if app else {}
    t0, s0 = ethdev_sample(tel, ports)
    time.sleep(interval)
    t1, s1 = ethdev_sample(tel, ports)
    d1 = app_drops(tel) if app else {}
    if not alive(pid):
        fail("process exited while measured")
    dt = t1 - t0
    tx = s1["opackets"] - s0["opackets"]
    rx = s1["ipackets"] - s0["ipackets"]
    line = "mpps=%.4f rx_mpps=%.4f seconds=%.3f tx_packets=%d rx_nombuf=%d oerrors=%d" % (
        tx / dt / 1e6, rx / dt / 1e6, dt, tx, s1["rx_nombuf"] - s0["rx_nombuf"],
        s1["oerrors"] - s0["oerrors"])
    line += " tx_by_port=" + ",".join(
        "%d:%d" % (p, s1["tx_port"][p] - s0["tx_port"][p]) for p in ports)
    if app:
        drops = ["%s:%d" % (k, d1[k] - d0.get(k, 0)) for k in sorted(d1) if d1[k] > d0.get(k, 0)]
        line += " drops=" + (",".join(drops) if drops else "none")
    print(line)


def memory(pid):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0]) / 1024.0
    print("rss_mib=%.0f hwm_mib=%.0f" % (vals.get("VmRSS", 0), vals.get("VmHWM", 0)))


def check_stats(path):
    with open(path) as f:
        doc = json.load(f)
    totals = doc.get("totals", {})
    drops = {k: v for k, v in doc.get("drops", {}).items() if v}
    line = "mode=%s forwarded=%s dropped=%s drops=%s" % (
        doc.get("mode"), totals.get("forwarded"), totals.get("dropped"),
        ",".join("%s:%d" % kv for kv in sorted(drops.items())) or "none")
    fw = doc.get("firewall")
    if isinstance(fw, dict):
        # The firewall's own sections (conntrack, exact, ...): their counters.
        for name in sorted(fw):
            sec = fw[name]
            if isinstance(sec, dict):
                line += " firewall.%s=%s" % (name, ",".join(
                    "%s:%s" % (k, v) for k, v in sorted(sec.items())
                    if isinstance(v, int) and k != "bytes"))
        # Named rules: packets each matched (the generated deny rules have no id).
        named = ["%s:%s" % (r.get("id"), r.get("packets")) for r in fw.get("rules", [])
                 if isinstance(r, dict) and r.get("id")]
        if named:
            line += " rule_packets=" + ",".join(named)
    print(line)
    return 1 if drops else 0


def gen_acl(n, seed, app_toml, l3fwd_v4, l3fwd_v6, ct_capacity=0, in_port=None):
    rng = random.Random(seed)
    rules = []
    while len(rules) < n:
        first = rng.randint(11, 223)
        if first in (127, 198):  # no source of the capture's replies either
            continue
        slen = rng.randint(8, 32)
        dlen = rng.randint(8, 32)
        src = (first << 24 | rng.getrandbits(24)) & ((0xFFFFFFFF << (32 - slen)) & 0xFFFFFFFF)
        dst = rng.getrandbits(32) & ((0xFFFFFFFF << (32 - dlen)) & 0xFFFFFFFF)
        proto = 6 if rng.random() < 0.5 else 17
        lo = rng.randrange(0, 60000)
        hi = lo + rng.randrange(0, 1000)
        rules.append((prefix_text(src, slen), prefix_text(dst, dlen), proto, lo, hi))
    with open(app_toml, "w") as out:
        out.write("\n# %d generated deny rules (router_tool.py gen-acl, seed %d)\n" % (n, seed))
        out.write("[firewall]\ndefault = \"accept\"\n")
        if ct_capacity > 0:
            # Tracking is on because rules match on state; every frame of
            # the capture is a UDP flow of its own, accepted as "new" on its
            # first pass and as whatever its connection is after that.
            out.write("[firewall.conntrack]\ncapacity = %d\n" % ct_capacity)
            out.write("[[firewall.rule]]\nid = \"est\"\nstate = [\"established\", \"related\"]\n"
                      "action = \"accept\"\n")
            out.write("[[firewall.rule]]\nid = \"new\"\nstate = [\"new\"]\nin_port = \"%s\"\n"
                      "action = \"accept\"\n" % in_port)
        for src, dst, proto, lo, hi in rules:
            out.write("[[firewall.rule]]\naction = \"drop\"\nsrc = \"%s\"\ndst = \"%s\"\n"
                      "proto = \"%s\"\ndport = \"%d-%d\"\n"
                      % (src, dst, "tcp" if proto == 6 else "udp", lo, hi))
    with open(l3fwd_v4, "w") as out:
        for src, dst, proto, lo, hi in rules:
            out.write("@%s %s 0 : 65535 %d : %d %d/0xff\n" % (src, dst, lo, hi, proto))
        out.write("R0.0.0.0/0 198.18.0.0/24 0 : 65535 0 : 65535 0/0 0\n")
        out.write("R0.0.0.0/0 198.18.1.0/24 0 : 65535 0 : 65535 0/0 1\n")
        out.write("R0.0.0.0/0 10.0.0.0/8 0 : 65535 0 : 65535 0/0 1\n")
    with open(l3fwd_v6, "w") as out:
        out.write("R0:0:0:0:0:0:0:0/0 2001:db8:0:0:0:0:0:0/32 0 : 65535 0 : 65535 0/0 1\n")


def ports_arg(text):
    return [int(x) for x in text.split(",")]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, a = argv[1], argv[2:]
    if cmd == "gen-pcap" and len(a) in (3, 4):
        gen_pcap(a[0], int(a[1]), *a[2:4])
    elif cmd == "gen-exact" and len(a) == 4:
        gen_exact(int(a[0]), *a[1:4])
    elif cmd == "check-pcap" and len(a) in (1, 3):
        return check_pcap(*a)
    elif cmd == "gen-routes" and len(a) in (4, 6):
        gen_routes(int(a[0]), int(a[1]), a[2], a[3], *(a[4:6] if len(a) == 6 else []))
    elif cmd == "gen-acl" and len(a) == 5:
        gen_acl(int(a[0]), int(a[1]), *a[2:5])
    elif cmd == "gen-acl" and len(a) == 7:
        gen_acl(int(a[0]), int(a[1]), *a[2:5], ct_capacity=int(a[5]), in_port=a[6])
    elif cmd == "wait-forwarding" and len(a) == 4:
        wait_forwarding(a[0], int(a[1]), ports_arg(a[2]), float(a[3]))
    elif cmd == "measure" and len(a) in (5, 6):
        measure(a[0], int(a[1]), ports_arg(a[2]), float(a[3]), float(a[4]),
                len(a) == 6 and a[5] == "app")
    elif cmd == "memory" and len(a) == 1:
        memory(int(a[0]))
    elif cmd == "check-stats" and len(a) == 1:
        return check_stats(a[0])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
