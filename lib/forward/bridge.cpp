#include "forward/bridge.hpp"

namespace dpdk_app {

bridge_stage::bridge_stage(const std::vector<port_plan>& ports) {
    peer_.fill(no_port);
    for (const auto& p : ports) {
        if (p.port_id < max_ports) {
            peer_[p.port_id] = p.peer;
        }
    }
}

void bridge_stage::process(burst& b, stage_context& ctx) noexcept {
    if (b.in_port < max_ports && peer_[b.in_port] != no_port) {
        b.out_port = peer_[b.in_port];  // the whole burst, without touching the mbufs
        return;
    }
    b.port_runs = {};  // egress per packet below
    uint16_t kept = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const uint16_t out = m->port < max_ports ? peer_[m->port] : no_port;
        if (out == no_port) {
            ctx.drop(m, drop_reason::no_egress_port);
            continue;
        }
        m->port = out;
        b.pkts[kept++] = m;
    }
    b.count = kept;
}

}  // namespace dpdk_app
