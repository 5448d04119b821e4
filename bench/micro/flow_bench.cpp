// Flow accounting: a lane's flow_table with 1k, 64k and 1M live IPv4 UDP
// flows. "update" is what every packet of a known flow costs (key, bulk
// rte_hash lookup, counters), for bursts of 32 packets of random flows;
// "new" is what a new flow costs (new flows per second per lcore follows),
// measured while the table fills from empty to N, with the memory the
// table took. The packets carry only their packet_meta: the benchmark
// measures the table, not the parser.
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "common.hpp"
#include "flows.hpp"
#include "flow/flow_table.hpp"
#include "frames.hpp"

namespace dpdk_app_bench {
namespace {

// Takes every record (the benchmarks end no flow but at teardown).
struct null_sink final : dpdk_app::flow_sink {
    bool put(const dpdk_app::flow_record&) noexcept override { return true; }
};

struct fixture {
    null_sink sink;
    dpdk_app::tsc_clock clock{.base_tsc = 0, .base_ms = 0, .hz = rte_get_tsc_hz()};
    std::unique_ptr<dpdk_app::flow_table> table;
    std::array<rte_mbuf*, flow_burst> pkts{};

    bool init(benchmark::State& state, uint32_t capacity) {
        std::string error;
        const uint64_t hz = rte_get_tsc_hz();
        table = dpdk_app::flow_table::create(
            0, capacity, {.inactive = 3600 * hz, .active = 3600 * hz, .linger = hz}, sink, clock, 0,
            error);
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
    void burst(const uint32_t* flows, uint64_t now) {
        for (unsigned i = 0; i < flow_burst; ++i) {
            set_udp_flow(pkts[i], flows[i]);
        }
        table->update(pkts.data(), flow_burst, now);
    }
    uint64_t fill(uint32_t n, uint64_t now) { return fill_flows(*this, n, now); }
};

void BM_flow_update(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    fixture fx;
    if (!fx.init(state, n)) {
        return;
    }
    const uint64_t now = rte_get_tsc_cycles();
    fx.fill(n, now);
    if (fx.table->live() != n) {
        state.SkipWithError("the table did not take every flow");
        return;
    }
    random_flow_bursts(state, fx, n, now);
}
BENCHMARK(BM_flow_update)->Arg(1024)->Arg(65536)->Arg(1 << 20)->ArgName("flows");

void BM_flow_new(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    uint64_t cycles = 0;
    uint64_t items = 0;
    double mib = 0;
    for (auto _ : state) {
        state.PauseTiming();
        rte_malloc_socket_stats before{};
        rte_malloc_get_socket_stats(static_cast<int>(rte_socket_id()), &before);
        fixture fx;
        if (!fx.init(state, n)) {
            return;
        }
        rte_malloc_socket_stats after{};
        rte_malloc_get_socket_stats(static_cast<int>(rte_socket_id()), &after);
        mib = static_cast<double>(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / (1 << 20);
        state.ResumeTiming();
        cycles += fx.fill(n, rte_get_tsc_cycles());
        items += n;
        state.PauseTiming();
        fx.table.reset();
        state.ResumeTiming();
    }
    report_items(state, cycles, items, "cyc_per_flow");
    state.counters["MiB"] = mib;
    state.counters["new_flows_per_s"] =
        cycles > 0 ? static_cast<double>(items) * static_cast<double>(rte_get_tsc_hz()) /
                         static_cast<double>(cycles)
                   : 0;
}
BENCHMARK(BM_flow_new)->Arg(65536)->Arg(1 << 20)->ArgName("flows")->Iterations(3);

}  // namespace
}  // namespace dpdk_app_bench
