#include "parse/parse_stage.hpp"

#include <cassert>

#include <rte_prefetch.h>

#include "packet/parse.hpp"
#include "packet/rewrite.hpp"

namespace dpdk_app {

namespace {

// Bytes of a frame the later stages read or rewrite in place (the route
// stage's MACs and TTL, a policer's remark, the responder's replies): the
// L2 header, the IP header (IPv6: with its extension headers when they are
// short) or ARP, and the L4 header's first bytes. At most pull_up_max: a
// frame always has that much room after the headroom (mempool.data_room is
// at least 256, twice RTE_PKTMBUF_HEADROOM).
constexpr uint32_t pull_up_max = RTE_PKTMBUF_HEADROOM;

uint32_t in_place_headers(const packet_meta& pm) noexcept {
    const uint32_t l2 = pm.l2_len;
    if (pm.l3 == l3_kind::arp) {
        return l2 + 28;
    }
    if (pm.l3 != l3_kind::ipv4 && pm.l3 != l3_kind::ipv6) {
        return l2;
    }
    uint32_t l4 = 0;
    if ((pm.flags & meta_l4_valid) != 0) {
        l4 = pm.l4_proto == IPPROTO_TCP ? 20 : 8;  // TCP; UDP, ICMP, ICMPv6
    }
    const uint32_t all = l2 + pm.l3_len + l4;
    return all <= pull_up_max ? all : l2 + 40;  // only IPv6 extension headers exceed it
}

}  // namespace

void parse_burst(burst& b, uint16_t from, stage_context& ctx) noexcept {
    uint16_t kept = from;
    for (uint16_t i = from; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        if (i + 1 < b.count) {
            rte_prefetch0(rte_pktmbuf_mtod(b.pkts[i + 1], const void*));
        }
        // The pool must have been created with a private area for the metadata.
        assert(m->priv_size >= sizeof(packet_meta));
        packet_meta& pm = *meta_of(m);
        if (const auto why = parse_packet(m, pm)) {
            ctx.drop(m, drop_reason_of(*why));
            continue;
        }
        // A chain whose first segment ends inside the headers (not what a
        // driver's scattered RX does, but valid): they are gathered there.
        // They always fit in this program's mbufs; the check keeps a
        // foreign pool's tiny buffer from being overrun.
        const uint32_t headers = in_place_headers(pm);
        if (rte_pktmbuf_data_len(m) < headers && m->data_off + headers <= m->buf_len) {
            pull_up(m, headers);
        }
        b.pkts[kept++] = m;
    }
    b.count = kept;
}

void parse_stage::process(burst& b, stage_context& ctx) noexcept {
    parse_burst(b, 0, ctx);
}

}  // namespace dpdk_app
