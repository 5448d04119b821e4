// Packet edits shared by every place that sends a routed packet on: the
// route stage (resolved next hops) and the resolver (held packets released
// once their next hop answered).
#pragma once

#include <cstdint>

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

// Sends a parsed IP packet on to its next hop: Ethernet padding trimmed,
// TTL / hop limit decremented (IPv4 checksum updated per RFC 1624), MACs
// rewritten, mbuf->port = the egress port. The caller checked ttl > 1.
inline void forward_to_next_hop(rte_mbuf* m, packet_meta& pm, const rte_ether_addr& next_hop,
                                const rte_ether_addr& our_mac, uint16_t port) noexcept {
    const uint32_t frame = static_cast<uint32_t>(pm.l2_len) + pm.l3_total;
    if (m->pkt_len > frame) {
        truncate_packet(m, frame);  // Ethernet padding
    }
    if (pm.l3 == l3_kind::ipv4) {
        ipv4_decrement_ttl(rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, pm.l2_len));
    } else {
        rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, pm.l2_len)->hop_limits--;
    }
    pm.ttl--;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = next_hop;
    eth->src_addr = our_mac;
    m->port = port;
}

}  // namespace dpdk_app
