#!/usr/bin/python3
"""Writes tests/data/demo.pcap: a small, deterministic mix of the traffic an
inline appliance sees (ARP, ICMP echo, ICMPv6 echo, DNS over UDP, a TCP
handshake with data, a VLAN-tagged frame), all in documentation prefixes.
Run with Debian's /usr/bin/python3 (it has scapy)."""
import random
import sys

from scapy.all import ARP, DNS, DNSQR, Dot1Q, Ether, ICMP, ICMPv6EchoRequest, IP, IPv6, Raw, TCP, UDP, wrpcap

random.seed(1)
A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"
frames = []
for i in range(200):
    host = f"192.0.2.{i % 50 + 10}"
    frames.append(Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=A, psrc=host, pdst="198.51.100.1"))
    frames.append(Ether(src=A, dst=B) / IP(src=host, dst="198.51.100.1") / ICMP(id=7, seq=i) / Raw(b"p" * 56))
    frames.append(Ether(src=A, dst=B) / IPv6(src="2001:db8::10", dst="2001:db8:1::1") / ICMPv6EchoRequest(id=7, seq=i) / Raw(b"q" * 56))
    frames.append(Ether(src=A, dst=B) / IP(src=host, dst="198.51.100.53") / UDP(sport=10000 + i, dport=53) / DNS(rd=1, qd=DNSQR(qname=f"host{i}.example")))
    frames.append(Ether(src=A, dst=B) / Dot1Q(vlan=100) / IP(src=host, dst="198.51.100.80") / TCP(sport=20000 + i, dport=80, flags="PA") / Raw(bytes(random.getrandbits(8) for _ in range(random.randint(0, 1400)))))
for i, f in enumerate(frames):
    f.time = 1700000000 + i / 1000
wrpcap(sys.argv[1] if len(sys.argv) > 1 else "tests/data/demo.pcap", frames)
