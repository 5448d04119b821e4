// Every packet the dataplane drops is counted under one of these names.
// The one table below is the source of every place drop reasons appear:
// the stats file, telemetry and (later) /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace dpdk_app {

// X(identifier, "description shown to operators")
#define DPDK_APP_DROP_REASONS(X)                                                   \
    X(ring_full, "inter-lcore ring full (pipeline.ring_full = \"drop\")")          \
    X(tx_full, "TX queue still full after pipeline.tx_retries attempts")           \
    X(no_egress_port, "no egress port for this packet (port without a peer)")      \
    /* parse: L2 */                                                                \
    X(eth_truncated, "frame shorter than its Ethernet header and VLAN tags")       \
    X(vlan_too_deep, "more than two VLAN tags")                                    \
    X(arp_truncated, "ARP shorter than 28 bytes")                                  \
    /* parse: IPv4 (RFC 1812 5.2.2) */                                             \
    X(ipv4_truncated, "IPv4 header shorter than 20 bytes")                         \
    X(ipv4_bad_version, "IPv4 EtherType but version != 4")                         \
    X(ipv4_bad_ihl, "IPv4 IHL < 5")                                                \
    X(ipv4_ihl_past_frame, "IPv4 header length past the end of the frame")         \
    X(ipv4_bad_total_length, "IPv4 total length < IHL*4 or past the frame")        \
    X(ipv4_bad_checksum, "IPv4 header checksum wrong")                             \
    X(ipv4_tiny_fragment, "first fragment too short for its L4 header (RFC 1858)") \
    /* parse: IPv6 (RFC 8200) */                                                   \
    X(ipv6_truncated, "IPv6 header shorter than 40 bytes")                         \
    X(ipv6_bad_version, "IPv6 EtherType but version != 6")                         \
    X(ipv6_bad_payload_length, "IPv6 payload length past the frame")               \
    X(ipv6_ext_truncated, "IPv6 extension header past the payload")                \
    X(ipv6_ext_chain_too_long, "more IPv6 extension headers than the walk allows") \
    X(ipv6_hop_by_hop_misplaced, "hop-by-hop options header not first")            \
    /* parse: L4 */                                                                \
    X(tcp_truncated, "TCP header shorter than 20 bytes")                           \
    X(tcp_bad_data_offset, "TCP data offset < 5 or past the segment")              \
    X(udp_truncated, "UDP header shorter than 8 bytes")                            \
    X(udp_bad_length, "UDP length < 8 or past the IP payload")                     \
    X(icmp_truncated, "ICMP / ICMPv6 header shorter than 8 bytes")                 \
    /* router */                                                                   \
    X(not_ip, "router mode: neither IPv4, IPv6 nor ARP")                           \
    X(martian_source, "source address a router must not forward (RFC 1812 5.3.7)") \
    X(martian_destination, "destination 0/8, 127/8, or link-local")                \
    X(no_route, "no route to the destination (to the responder: unreachable)")     \
    X(ttl_exceeded, "TTL / hop limit <= 1 (to the responder: time exceeded)")      \
    X(neighbor_unresolved, "next hop has no ARP / NDP entry")                      \
    X(mtu_exceeded, "larger than the egress MTU (to the responder: frag needed)")  \
    X(for_us, "addressed to the appliance (to the responder)")                     \
    X(arp_to_responder, "ARP (to the responder)")                                  \
    X(vlan_not_routed, "router mode: VLAN-tagged frame (no sub-interfaces)")

enum class drop_reason : uint8_t {
#define DPDK_APP_X(id, text) id,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::size_t drop_reason_count = 0
#define DPDK_APP_X(id, text) +1
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
    ;

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_names = {
#define DPDK_APP_X(id, text) #id,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_texts = {
#define DPDK_APP_X(id, text) text,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

constexpr std::string_view name_of(drop_reason r) noexcept {
    return drop_reason_names[static_cast<std::size_t>(r)];
}

}  // namespace dpdk_app
