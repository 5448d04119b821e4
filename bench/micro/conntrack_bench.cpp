// Connection tracking: a lane's connection_table with 64k and 1M live
// IPv4 UDP connections. "lookup" is what every packet of a known
// connection costs (probe: key + bulk rte_hash lookup, state, commit: the
// timeout refreshed), for bursts of 32 packets of random connections;
// "insert" is what opening a connection costs, measured while the table
// fills from empty to N. The packets carry only their packet_meta (what
// the parse stage wrote): the benchmark measures the table, not the parser.
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "classify/conntrack.hpp"
#include "common.hpp"
#include "flows.hpp"
#include "frames.hpp"
#include "pipeline/counters.hpp"

namespace dpdk_app_bench {
namespace {

struct fixture {
    std::unique_ptr<dpdk_app::connection_table> table;
    std::array<rte_mbuf*, flow_burst> pkts{};
    std::array<dpdk_app::ct_probe, flow_burst> probes{};
    dpdk_app::conntrack_policy policy =
        dpdk_app::conntrack_policy::from(dpdk_app::conntrack_config{}, rte_get_tsc_hz());
    std::unique_ptr<dpdk_app::segment_counters> counters =
        std::make_unique<dpdk_app::segment_counters>();

    bool init(benchmark::State& state, uint32_t capacity) {
        std::string error;
        table = dpdk_app::connection_table::create(0, capacity, error);
        if (!table) {
            state.SkipWithError(error.c_str());
            return false;
        }
        rte_mempool* pool = parse_pool();
        if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), flow_burst) != 0) {
            state.SkipWithError("no mbufs");
            return false;
        }
        return true;
    }
    ~fixture() {
        if (pkts[0] != nullptr) {
            rte_pktmbuf_free_bulk(pkts.data(), flow_burst);
        }
    }
    // One burst of flows [first, first + 32) or the given ones: probe,
    // state, commit. Returns the packets that did not fit.
    uint32_t burst(const uint32_t* flows, uint64_t now) {
        for (unsigned i = 0; i < flow_burst; ++i) {
            set_udp_flow(pkts[i], flows[i]);
        }
        dpdk_app::stage_context ctx(*counters);
        table->begin_burst();
        table->probe(pkts.data(), flow_burst, false, probes.data());
        uint32_t full = 0;
        for (unsigned i = 0; i < flow_burst; ++i) {
            const uint8_t s = table->state(probes[i], now);
            full += table->commit(probes[i], s, policy, now, ctx) ? 0 : 1;
        }
        ctx.free_discarded();
        return full;
    }
    uint64_t fill(uint32_t n, uint64_t now) { return fill_flows(*this, n, now); }
};

void BM_conntrack_lookup(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    fixture fx;
    if (!fx.init(state, n)) {
        return;
    }
    const uint64_t now = rte_get_tsc_cycles();
    fx.fill(n, now);
    if (fx.table->size() != n) {
        state.SkipWithError("the table did not take every connection");
        return;
    }
    random_flow_bursts(state, fx, n, now);
}
BENCHMARK(BM_conntrack_lookup)->Arg(65536)->Arg(1 << 20)->ArgName("connections");

void BM_conntrack_insert(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    uint64_t cycles = 0;
    uint64_t items = 0;
    for (auto _ : state) {
        state.PauseTiming();
        fixture fx;
        if (!fx.init(state, n)) {
            return;
        }
        state.ResumeTiming();
        cycles += fx.fill(n, rte_get_tsc_cycles());
        items += n;
        state.PauseTiming();
        if (fx.table->size() != n) {
            state.SkipWithError("the table did not take every connection");
            return;
        }
        fx.table.reset();
        state.ResumeTiming();
    }
    state.counters["cyc_per_insert"] =
        items > 0 ? static_cast<double>(cycles) / static_cast<double>(items) : 0.0;
}
BENCHMARK(BM_conntrack_insert)
    ->Arg(65536)
    ->Arg(1 << 20)
    ->ArgName("connections")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dpdk_app_bench
