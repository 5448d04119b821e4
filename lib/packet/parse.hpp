// Packet parsing and validation: Ethernet (up to two VLAN tags), ARP, IPv4
// (RFC 1812 5.2.2), IPv6 with its extension header chain (RFC 8200), TCP,
// UDP, ICMP and ICMPv6. Every read is checked against the frame's length
// first; headers are read with rte_pktmbuf_read, so a header straddling two
// segments of a chained mbuf is copied to the stack, and a single-segment
// mbuf is read in place.
#pragma once

#include <optional>

#include <rte_mbuf.h>

#include "packet/meta.hpp"
#include "packet/defect.hpp"

namespace dpdk_app {

// Most IPv6 extension headers parse_packet walks before it gives up with
// packet_defect::ipv6_ext_chain_too_long.
inline constexpr unsigned ipv6_max_ext_headers = 8;

// Parses m and fills meta (every field, in_port from m->port). Returns what
// is wrong with m, or nothing when m is well-formed. Unknown EtherTypes and
// L4 protocols are not errors: l3 = l3_kind::other, or no L4 fields.
// Fast path: no allocation, no exception, no logging.
// Untagged IPv4 without options or fragmentation, its L4 header in the
// first segment, takes a fast path; anything else, or anything the fast path
// is unsure about, goes through parse_packet_generic, so the two give the
// same verdict and the same metadata byte for byte (tested).
std::optional<packet_defect> parse_packet(const rte_mbuf* m, packet_meta& meta) noexcept;

// The general parser alone (every case, every defect).
std::optional<packet_defect> parse_packet_generic(const rte_mbuf* m, packet_meta& meta) noexcept;

}  // namespace dpdk_app
