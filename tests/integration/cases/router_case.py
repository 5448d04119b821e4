#!/usr/bin/python3
"""Router-mode send/expect case, built with scapy (an implementation
independent of dpdk-app's): writes OUT/in.pcap (frames sent into port 0),
OUT/expect1.pcap (what port 1 must transmit, checksums computed by scapy),
OUT/expect0.pcap (the replies and ICMP errors port 0 must transmit, built by
scapy from the RFCs), OUT/empty.pcap, OUT/drops.txt ("reason count" lines)
and OUT/consumed.txt (how many packets the responder absorbs).
ARP frames the appliance sends on its own (announcements, requests for the
unresolved 198.51.100.8) are not in the expect files: the test checks them
separately.

Topology (see router.toml written by the test):
  port 0 net_pcap0  192.0.2.1/24  2001:db8:1::1/64  mac 02:00:00:00:00:01
  port 1 net_pcap1  198.51.100.1/24 2001:db8:2::1/64 mac 02:00:00:00:01:01
  203.0.113.0/24 via 198.51.100.2 (02:00:00:00:0a:02), 2001:db8:99::/48 via 2001:db8:2::2 (02:00:00:00:0a:06)
  198.51.100.7 is a static neighbour (02:00:00:00:0a:07); 198.51.100.8 is not.
"""
import sys
from collections import Counter

from scapy.all import (ARP, Dot1Q, Ether, ICMP, ICMPv6DestUnreach, ICMPv6TimeExceeded, IP, IPv6,
                       Raw, TCP, UDP, wrpcap)

out = sys.argv[1]
HOST = "02:00:00:00:00:99"
P0 = "02:00:00:00:00:01"
P1 = "02:00:00:00:01:01"
GW4 = "02:00:00:00:0a:02"
GW6 = "02:00:00:00:0a:06"
N7 = "02:00:00:00:0a:07"

sent, expect, replies = [], [], []
drops = Counter()
consumed = 0


def forward(pkt, dst_mac):
    sent.append(pkt)
    e = pkt.copy()
    e[Ether].src = P1
    e[Ether].dst = dst_mac
    if IP in e:
        e[IP].ttl -= 1
        del e[IP].chksum
    else:
        e[IPv6].hlim -= 1
    expect.append(Ether(bytes(e)))


def drop(pkt, reason):
    sent.append(pkt)
    drops[reason] += 1


def error(pkt, reason, icmp4=None, icmp6=None):
    """Dropped with reason, answered with an ICMP error quoting the packet
    (576 bytes in all for IPv4, 1280 for IPv6) from port 0's address."""
    drop(pkt, reason)
    if IP in pkt:
        quote = bytes(pkt[IP])[:576 - 28]
        e = Ether(src=P0, dst=HOST) / IP(src="192.0.2.1", dst=pkt[IP].src, tos=0xc0, id=0, ttl=64) / icmp4 / Raw(quote)
    else:
        quote = bytes(pkt[IPv6])[:1280 - 48]
        e = Ether(src=P0, dst=HOST) / IPv6(src="2001:db8:1::1", dst=pkt[IPv6].src, hlim=64) / icmp6 / Raw(quote)
    replies.append(Ether(bytes(e)))


def answered(pkt, reply):
    global consumed
    sent.append(pkt)
    consumed += 1
    replies.append(Ether(bytes(reply)))


for i in range(20):
    forward(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst=f"203.0.113.{i + 1}", ttl=64 - i, id=i)
            / UDP(sport=1000 + i, dport=53) / Raw(b"d" * (i * 7)), GW4)
    forward(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="203.0.113.200", ttl=2, tos=i)
            / TCP(sport=2000 + i, dport=80, flags="S"), GW4)
    forward(Ether(src=HOST, dst=P0) / IPv6(src="2001:db8:1::10", dst=f"2001:db8:99::{i + 1:x}", hlim=64)
            / UDP(sport=3000 + i, dport=53) / Raw(b"six" * i), GW6)
    forward(Ether(src=HOST, dst=P0) / IP(src="192.0.2.11", dst="198.51.100.7", ttl=255)
            / ICMP(id=i, seq=i) / Raw(b"ping" * 8), N7)
# Checksum corner: a header whose checksum is 0x0000 or 0xffff-adjacent after
# the TTL change is covered by sweeping identification values.
for ident in range(0, 65536, 4099):
    forward(Ether(src=HOST, dst=P0) / IP(src="192.0.2.12", dst="203.0.113.9", ttl=9, id=ident)
            / UDP(sport=7, dport=7), GW4)
# A padded minimum frame: padding is trimmed on the way out.
p = Ether(src=HOST, dst=P0) / IP(src="192.0.2.13", dst="203.0.113.5", ttl=30) / UDP(sport=1, dport=2)
sent.append(Ether(bytes(p) + b"\0" * (60 - len(p))))
e = p.copy()
e[Ether].src, e[Ether].dst = P1, GW4
e[IP].ttl -= 1
del e[IP].chksum
expect.append(Ether(bytes(e)))

for i in range(3):
    error(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="203.0.113.1", ttl=1) / UDP(), "ttl_exceeded",
          icmp4=ICMP(type=11, code=0))
    error(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="203.0.113.1", ttl=0) / UDP(), "ttl_exceeded",
          icmp4=ICMP(type=11, code=0))
    error(Ether(src=HOST, dst=P0) / IPv6(src="2001:db8:1::10", dst="2001:db8:99::1", hlim=1) / UDP(), "ttl_exceeded",
          icmp6=ICMPv6TimeExceeded(code=0))
    error(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="10.9.9.9") / UDP(), "no_route",
          icmp4=ICMP(type=3, code=0))
    error(Ether(src=HOST, dst=P0) / IPv6(src="2001:db8:1::10", dst="2001:db8:77::1") / UDP(), "no_route",
          icmp6=ICMPv6DestUnreach(code=0))
    drop(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="198.51.100.8") / UDP(), "neighbor_unresolved")
    ping = Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="192.0.2.1") / ICMP(id=77, seq=i) / Raw(b"echo" * i)
    answered(ping, Ether(src=P0, dst=HOST) / IP(src="192.0.2.1", dst="192.0.2.10", ttl=64) / ICMP(type=0, id=77, seq=i)
             / Raw(b"echo" * i))
    error(Ether(src=HOST, dst=P0) / IPv6(src="2001:db8:1::10", dst="2001:db8:2::1") / UDP(), "no_local_service",
          icmp6=ICMPv6DestUnreach(code=4))
    drop(Ether(src=HOST, dst=P0) / IP(src="127.0.0.1", dst="203.0.113.1") / UDP(), "martian_source")
    drop(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="127.0.0.1") / UDP(), "martian_destination")
    drop(Ether(src=HOST, dst=P0) / IPv6(src="2001:db8:1::10", dst="fe80::1") / UDP(), "martian_destination")
    answered(Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=HOST, pdst="192.0.2.1", psrc="192.0.2.10"),
             Ether(src=P0, dst=HOST) / ARP(op=2, hwsrc=P0, psrc="192.0.2.1", hwdst=HOST, pdst="192.0.2.10"))
    drop(Ether(src=HOST, dst=P0) / Dot1Q(vlan=5) / IP(src="192.0.2.10", dst="203.0.113.1") / UDP(), "vlan_not_routed")
    drop(Ether(src=HOST, dst=P0, type=0x88b5) / Raw(b"x" * 50), "not_ip")
    error(Ether(src=HOST, dst=P0) / IP(src="192.0.2.10", dst="203.0.113.1", flags="DF") / UDP() / Raw(b"m" * 1480),
          "mtu_exceeded", icmp4=ICMP(type=3, code=4, nexthopmtu=1500))

wrpcap(f"{out}/in.pcap", sent)
wrpcap(f"{out}/expect1.pcap", expect)
wrpcap(f"{out}/expect0.pcap", replies)
with open(f"{out}/consumed.txt", "w") as f:
    f.write(f"{consumed}\n")
wrpcap(f"{out}/empty.pcap", [])
with open(f"{out}/drops.txt", "w") as f:
    for reason, n in sorted(drops.items()):
        f.write(f"{reason} {n}\n")
