#include "packet/parse_stage.hpp"

#include <cassert>

#include <rte_prefetch.h>

#include "packet/parse.hpp"

namespace dpdk_app {

void parse_stage::process(burst& b, stage_context& ctx) noexcept {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        if (i + 1 < b.count) {
            rte_prefetch0(rte_pktmbuf_mtod(b.pkts[i + 1], const void*));
        }
        // The pool must have been created with a private area for the metadata.
        assert(m->priv_size >= sizeof(packet_meta));
        if (const auto why = parse_packet(m, *meta_of(m))) {
            ctx.drop(m, *why);
        } else {
            b.pkts[kept++] = m;
        }
    }
    b.count = kept;
}

}  // namespace dpdk_app
