// Router mode's stages on the router replay's traffic, without the PMD: a
// 32-packet burst of 60-byte IPv4/UDP frames alternating between two routes
// via resolved gateways on two ports, through the fused parse+route stage or
// through parse then route. Every iteration first writes the frames back
// (8-byte stores, as net_pcap's copy leaves them: the stages decrement the
// TTL and rewrite the MACs); BM_route_restore_only is that cost alone, to
// subtract.
#include <memory>
#include <vector>

#include <rte_mbuf.h>

#include "common.hpp"
#include "frame_burst.hpp"
#include "router_fixture.hpp"
#include "parse/parse_stage.hpp"
#include "pipeline/counters.hpp"
#include "route/route_stage.hpp"

namespace dpdk_app_bench {
namespace {

void BM_route_restore_only(benchmark::State& state) {
    frame_burst u(udp_frames(static_cast<unsigned>(state.range(0))));
    if (!u.ok) {
        state.SkipWithError("cannot build the burst");
        return;
    }
    dpdk_app::burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        u.restore(b);
        benchmark::DoNotOptimize(b);
        items += u.n;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
}
BENCHMARK(BM_route_restore_only)->Arg(32);

// fused: one parse_route_stage; else parse_stage then route_stage.
void route_burst_bench(benchmark::State& state, bool fused) {
    frame_burst u(udp_frames(static_cast<unsigned>(state.range(0))));
    router_tables tables;
    if (!u.ok || !tables.store) {
        state.SkipWithError(("set-up failed: " + tables.error).c_str());
        return;
    }
    std::vector<std::unique_ptr<dpdk_app::stage>> stages;
    if (fused) {
        stages.push_back(std::make_unique<dpdk_app::parse_route_stage>());
    } else {
        stages.push_back(std::make_unique<dpdk_app::parse_stage>());
        stages.push_back(std::make_unique<dpdk_app::route_stage>());
    }
    auto counters = std::make_unique<dpdk_app::segment_counters>();
    dpdk_app::burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        u.restore(b);
        b.in_port = 0;  // as RX leaves a burst
        b.out_port = dpdk_app::no_port;
        dpdk_app::stage_context ctx(*counters, tables.store->current());
        for (auto& s : stages) {
            s->process(b, ctx);
        }
        ctx.free_discarded();
        unsigned to_port1 = u.n / 2;
        if (items == 0) {  // the first burst: half of it to each port
            to_port1 = 0;
            for (unsigned i = 0; i < b.count; ++i) {
                to_port1 += b.pkts[i]->port == 1 ? 1 : 0;
            }
        }
        if (b.count != u.n || to_port1 != u.n / 2) {
            state.SkipWithError("not every packet was forwarded");
            break;
        }
        items += u.n;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
}
void BM_route_fused(benchmark::State& state) {
    route_burst_bench(state, true);
}
BENCHMARK(BM_route_fused)->Arg(32);

void BM_route_parse_then_route(benchmark::State& state) {
    route_burst_bench(state, false);
}
BENCHMARK(BM_route_parse_then_route)->Arg(32);

}  // namespace
}  // namespace dpdk_app_bench
