// Every packet the dataplane drops is counted under one of these names.
// The one table below is the source of every place drop reasons appear:
// the stats file, telemetry and (later) /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "packet/defect.hpp"

namespace dpdk_app {

// X(identifier, "description shown to operators")
#define DPDK_APP_DROP_REASONS(X)                                                   \
    X(ring_full, "inter-lcore ring full (pipeline.ring_full = \"drop\")")          \
    X(tx_full, "TX queue still full after pipeline.tx_retries attempts")           \
    X(no_egress_port, "no egress port for this packet (port without a peer)")      \
    /* parse: the packet library's defects, in their order */                 \
    DPDK_APP_PACKET_DEFECTS(X)                                                     \
    /* firewall */                                                                 \
    X(acl_deny, "a firewall rule with action = \"drop\" matched")                 \
    X(acl_default, "no firewall rule matched and firewall.default = \"drop\"")   \
    X(exact_deny, "an exact-match table entry with action = \"drop\" matched")     \
    X(conntrack_invalid, "state invalid: fits no tracked connection (firewall.conntrack.drop_invalid)") \
    X(conntrack_full, "a new connection, but the lane's connection table is full")  \
    /* policer */                                                                  \
    X(policer_drop, "a policer's action for the packet's colour is \"drop\" (see the policer's counters)") \
    X(policer_table_full, "a per-source policer's bucket table is full (max_keys) and no idle bucket was free") \
    /* router */                                                                   \
    X(not_ip, "router mode: neither IPv4, IPv6 nor ARP")                           \
    X(martian_source, "source address a router must not forward (RFC 1812 5.3.7)") \
    X(martian_destination, "destination 0/8, 127/8, or link-local")                \
    X(no_route, "no route to the destination (ICMP net unreachable)")     \
    X(ttl_exceeded, "TTL / hop limit <= 1 (ICMP time exceeded)")      \
    X(neighbor_unresolved, "next hop did not answer ARP / NDP")                      \
    X(mtu_exceeded, "larger than the egress MTU (ICMP too big if DF / IPv6)")  \
    X(vlan_not_routed, "router mode: VLAN-tagged frame (no sub-interfaces)")        \
    X(neighbor_queue_full, "next hop unresolved and its hold queue is full")        \
    /* responder */                                                                \
    X(arp_bad_hardware, "ARP hardware type not Ethernet or length not 6")          \
    X(arp_bad_protocol, "ARP protocol type not IPv4 or length not 4")              \
    X(arp_bad_opcode, "ARP opcode neither request nor reply")                      \
    X(arp_sender_mismatch, "ARP sender MAC differs from the Ethernet source")      \
    X(arp_address_conflict, "ARP sender claims one of the appliance's addresses")  \
    X(arp_not_for_us, "router mode: ARP for an address the appliance does not own") \
    X(icmp_bad_checksum, "ICMP / ICMPv6 message to the appliance with a bad checksum") \
    X(ndp_invalid, "NDP message with hop limit != 255, code != 0 or bad target")   \
    X(fragment_for_us, "IP fragment addressed to the appliance (no reassembly)")   \
    X(no_local_service, "TCP / UDP / other protocol to the appliance: no service") \
    X(rejected, "a firewall reject rule (answered with a TCP RST or ICMP administratively prohibited)") \
    X(not_for_us_multicast, "router mode: multicast the appliance does not join")

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

// The drop reason of a frame dropped for a header defect: the defects sit in
// the table in their own order, so this is one add.
inline constexpr auto first_defect_reason = static_cast<uint8_t>(drop_reason::eth_truncated);
constexpr drop_reason drop_reason_of(packet_defect d) noexcept {
    return static_cast<drop_reason>(first_defect_reason + static_cast<uint8_t>(d));
}
static_assert(drop_reason_of(packet_defect::icmp_truncated) == drop_reason::icmp_truncated);
static_assert(drop_reason_of(packet_defect::ipv6_truncated) == drop_reason::ipv6_truncated);

constexpr std::string_view name_of(drop_reason r) noexcept {
    return drop_reason_names[static_cast<std::size_t>(r)];
}

}  // namespace dpdk_app
