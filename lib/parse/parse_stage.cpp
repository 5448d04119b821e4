#include "parse/parse_stage.hpp"

#include <cassert>

#include <rte_prefetch.h>

#include "packet/parse.hpp"

namespace dpdk_app {

void parse_burst(burst& b, uint16_t from, stage_context& ctx) noexcept {
    uint16_t kept = from;
    for (uint16_t i = from; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        if (i + 1 < b.count) {
            rte_prefetch0(rte_pktmbuf_mtod(b.pkts[i + 1], const void*));
        }
        // The pool must have been created with a private area for the metadata.
        assert(m->priv_size >= sizeof(packet_meta));
        if (const auto why = parse_packet(m, *meta_of(m))) {
            ctx.drop(m, drop_reason_of(*why));
        } else {
            b.pkts[kept++] = m;
        }
    }
    b.count = kept;
}

void parse_stage::process(burst& b, stage_context& ctx) noexcept {
    parse_burst(b, 0, ctx);
}

}  // namespace dpdk_app
