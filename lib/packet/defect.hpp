// What can be wrong with a frame's headers: the verdicts of the parser.
// The packet library names them; the pipeline counts a frame dropped for a
// defect under the drop reason of the same name (pipeline/drop_reason.hpp
// embeds this table).
#pragma once

#include <cstdint>

namespace dpdk_app {

// X(identifier, "description shown to operators")
#define DPDK_APP_PACKET_DEFECTS(X)                                                 \
    /* L2 */                                                                       \
    X(eth_truncated, "frame shorter than its Ethernet header and VLAN tags")       \
    X(vlan_too_deep, "more than two VLAN tags")                                    \
    X(arp_truncated, "ARP shorter than 28 bytes")                                  \
    /* IPv4 (RFC 1812 5.2.2) */                                                    \
    X(ipv4_truncated, "IPv4 header shorter than 20 bytes")                         \
    X(ipv4_bad_version, "IPv4 EtherType but version != 4")                         \
    X(ipv4_bad_ihl, "IPv4 IHL < 5")                                                \
    X(ipv4_ihl_past_frame, "IPv4 header length past the end of the frame")         \
    X(ipv4_bad_total_length, "IPv4 total length < IHL*4 or past the frame")        \
    X(ipv4_bad_checksum, "IPv4 header checksum wrong")                             \
    X(ipv4_tiny_fragment, "first fragment too short for its L4 header (RFC 1858)") \
    /* IPv6 (RFC 8200) */                                                          \
    X(ipv6_truncated, "IPv6 header shorter than 40 bytes")                         \
    X(ipv6_bad_version, "IPv6 EtherType but version != 6")                         \
    X(ipv6_bad_payload_length, "IPv6 payload length past the frame")               \
    X(ipv6_ext_truncated, "IPv6 extension header past the payload")                \
    X(ipv6_ext_chain_too_long, "more IPv6 extension headers than the walk allows") \
    X(ipv6_hop_by_hop_misplaced, "hop-by-hop options header not first")            \
    /* L4 */                                                                       \
    X(tcp_truncated, "TCP header shorter than 20 bytes")                           \
    X(tcp_bad_data_offset, "TCP data offset < 5 or past the segment")              \
    X(udp_truncated, "UDP header shorter than 8 bytes")                            \
    X(udp_bad_length, "UDP length < 8 or past the IP payload")                     \
    X(icmp_truncated, "ICMP / ICMPv6 header shorter than 8 bytes")

enum class packet_defect : uint8_t {
#define DPDK_APP_X(id, text) id,
    DPDK_APP_PACKET_DEFECTS(DPDK_APP_X)
#undef DPDK_APP_X
};

}  // namespace dpdk_app
