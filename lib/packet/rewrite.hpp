// Packet edits shared by every place that sends a routed packet on: the
// route stage (resolved next hops) and the resolver (held packets released
// once their next hop answered).
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "packet/checksum.hpp"
#include "packet/meta.hpp"

namespace dpdk_app {

// Cuts a (possibly chained) mbuf to its first len bytes, freeing segments
// that are no longer needed. Longer than the packet: nothing changes.
inline void truncate_packet(rte_mbuf* m, uint32_t len) noexcept {
    if (m->pkt_len <= len) {
        return;
    }
    rte_mbuf* seg = m;
    uint32_t left = len;
    uint16_t segs = 1;
    while (seg->data_len < left && seg->next != nullptr) {
        left -= seg->data_len;
        seg = seg->next;
        ++segs;
    }
    seg->data_len = static_cast<uint16_t>(left);
    if (seg->next != nullptr) {
        rte_pktmbuf_free(seg->next);
        seg->next = nullptr;
    }
    m->nb_segs = segs;
    m->pkt_len = len;
}

// Moves the first len bytes of a chained mbuf into its first segment (BSD's
// m_pullup): bytes come from the segments after it into the first one's
// tailroom, and segments left empty are freed. The stages that rewrite
// headers in place read them from the first segment. Precondition:
// len <= pkt_len and data_off + len <= buf_len (room for them after the
// headroom). No allocation.
inline void pull_up(rte_mbuf* m, uint32_t len) noexcept {
    uint32_t need = len > m->data_len ? len - m->data_len : 0;
    while (need > 0 && m->next != nullptr) {
        rte_mbuf* seg = m->next;
        const auto n = static_cast<uint16_t>(need < seg->data_len ? need : seg->data_len);
        std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len),
                    rte_pktmbuf_mtod(seg, const uint8_t*), n);
        m->data_len = static_cast<uint16_t>(m->data_len + n);
        seg->data_off = static_cast<uint16_t>(seg->data_off + n);
        seg->data_len = static_cast<uint16_t>(seg->data_len - n);
        need -= n;
        if (seg->data_len == 0) {
            m->next = seg->next;
            seg->next = nullptr;
            --m->nb_segs;
            rte_pktmbuf_free_seg(seg);
        }
    }
}

// Sends a parsed IP packet on to its next hop: Ethernet padding trimmed,
// TTL / hop limit decremented (IPv4 checksum updated per RFC 1624), MACs
// rewritten, mbuf->port = the egress port. The caller checked ttl > 1.
// next_hop_mac48: the next hop's MAC in the low 48 bits, in memory order (a
// packed neighbour entry, see neighbor_table::pack).
inline void forward_to_next_hop(rte_mbuf* m, packet_meta& pm, uint64_t next_hop_mac48,
                                const rte_ether_addr& our_mac, uint16_t port) noexcept {
    const uint32_t frame = static_cast<uint32_t>(pm.l2_len) + pm.l3_total;
    if (m->pkt_len > frame) {
        truncate_packet(m, frame);  // Ethernet padding
    }
    uint8_t* const eth = rte_pktmbuf_mtod(m, uint8_t*);
    if (pm.l3 == l3_kind::ipv4) {
        ipv4_decrement_ttl(reinterpret_cast<rte_ipv4_hdr*>(eth + pm.l2_len));
    } else {
        reinterpret_cast<rte_ipv6_hdr*>(eth + pm.l2_len)->hop_limits--;
    }
    pm.ttl--;
    // Written from registers: a MAC assembled on the stack and read back
    // wider would stall store forwarding.
    const auto lo = static_cast<uint32_t>(next_hop_mac48);
    const auto hi = static_cast<uint16_t>(next_hop_mac48 >> 32);
    std::memcpy(eth, &lo, 4);
    std::memcpy(eth + 4, &hi, 2);
    std::memcpy(eth + 6, our_mac.addr_bytes, 6);
    m->port = port;
}

inline void forward_to_next_hop(rte_mbuf* m, packet_meta& pm, const rte_ether_addr& next_hop,
                                const rte_ether_addr& our_mac, uint16_t port) noexcept {
    uint64_t w = 0;
    std::memcpy(&w, next_hop.addr_bytes, 6);
    forward_to_next_hop(m, pm, w, our_mac, port);
}

}  // namespace dpdk_app
