// Parsed packet metadata, written once by the parse stage into the mbuf's
// private area and read by every later stage. The mbuf pool is created with
// a private area of packet_meta_priv_size bytes.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

namespace dpdk_app {

enum class l3_kind : uint8_t { other = 0, ipv4, ipv6, arp };

// Why a stage hands a packet to the responder instead of forwarding it
// (packet_meta::punt): the route stage, or a classifier that rejects it.
// The responder decides its fate.
enum class punt_kind : uint8_t {
    none = 0,
    arp,           // ARP, for the appliance or not
    local,         // addressed to the appliance (or NDP multicast it listens to)
    ttl_exceeded,  // TTL / hop limit <= 1: time exceeded
    no_route,      // net unreachable
    too_big,       // larger than the egress MTU (punt_arg: the MTU)
    unresolved,    // next hop without a usable neighbour entry (punt_arg: its slot or
                   // no_neighbor_slot for a connected destination; mbuf->port: egress)
    prohibited,    // a firewall reject rule: administratively prohibited
};
inline constexpr uint32_t no_neighbor_slot = UINT32_MAX;

// packet_meta::flags
inline constexpr uint16_t meta_fragment = 1u << 0;  // IPv4 MF/offset or IPv6 fragment header
inline constexpr uint16_t meta_nonfirst_fragment = 1u << 1;  // offset != 0: no L4 header here
inline constexpr uint16_t meta_ip_options = 1u << 2;         // IPv4 IHL > 5
inline constexpr uint16_t meta_l4_valid = 1u << 3;           // ports / ICMP type are filled in
inline constexpr uint16_t meta_ipv4_df = 1u << 4;            // IPv4 don't-fragment bit set
inline constexpr uint16_t meta_ipv6_ext = 1u << 5;           // IPv6 extension headers present

struct packet_meta {
    uint16_t in_port;     // port the frame arrived on
    uint16_t l2_len;      // Ethernet header + VLAN tags, bytes
    uint16_t l3_len;      // IPv4 IHL*4, or IPv6 40 + extension headers, bytes
    uint16_t l3_total;    // IPv4 total length / IPv6 40 + payload length (padding excluded)
    uint16_t flags;       // meta_* bits
    uint16_t ethertype;   // innermost, host byte order
    uint16_t vlan_outer;  // VLAN ids (host order), 0 when absent
    uint16_t vlan_inner;
    uint8_t vlan_count;  // 0, 1 or 2
    l3_kind l3;
    uint8_t l4_proto;  // IPPROTO_* after the extension chain
    uint8_t ttl;       // IPv4 TTL / IPv6 hop limit
    uint8_t tcp_flags;
    uint8_t icmp_type;
    uint8_t icmp_code;
    punt_kind punt;     // set by the route stage, read by the responder
    uint16_t src_port;  // host order; 0 unless meta_l4_valid and TCP/UDP
    uint16_t dst_port;
    // One word, two uses at two points of the chain (packet_meta is one
    // full cache line: no room for a field of its own). The parse stage
    // writes 0. Between classify and police, police_mark: what the firewall
    // rule that accepted the packet asks the police stage to do (its
    // policer's slot + 1; 0: nothing). From the route stage on, punt_arg
    // (see punt_kind), which the route stage writes for the punts that
    // carry one; no stage after police reads police_mark.
    union {
        uint32_t punt_arg;
        uint32_t police_mark;
    };
    // Addresses in network byte order; IPv4 uses the first 4 bytes.
    alignas(8) uint8_t src_addr[16];
    alignas(8) uint8_t dst_addr[16];
};

static_assert(sizeof(packet_meta) == 64, "one cache line");

inline constexpr uint16_t packet_meta_priv_size = static_cast<uint16_t>(
    (sizeof(packet_meta) + RTE_MBUF_PRIV_ALIGN - 1) & ~(RTE_MBUF_PRIV_ALIGN - 1));

inline packet_meta* meta_of(rte_mbuf* m) noexcept {
    return static_cast<packet_meta*>(rte_mbuf_to_priv(m));
}

inline uint32_t meta_dst_ipv4(const packet_meta& pm) noexcept {
    uint32_t v;
    __builtin_memcpy(&v, pm.dst_addr, 4);
    return v;  // network order
}

inline uint32_t meta_src_ipv4(const packet_meta& pm) noexcept {
    uint32_t v;
    __builtin_memcpy(&v, pm.src_addr, 4);
    return v;  // network order
}

}  // namespace dpdk_app
