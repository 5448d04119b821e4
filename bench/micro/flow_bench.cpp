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
#include "flow/flow_table.hpp"
#include "frames.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned burst_size = 32;

// Flow i: 10.x.y.z:sport -> 192.0.2.1:53, distinct for i < 2^24.
void set_flow(rte_mbuf* m, uint32_t i) {
    auto& pm = *dpdk_app::meta_of(m);
    pm.l3 = dpdk_app::l3_kind::ipv4;
    pm.l4_proto = 17;
    pm.flags = dpdk_app::meta_l4_valid;
    pm.l3_total = 46;
    pm.l2_len = 14;
    const uint32_t src = 0x0a000000u | (i >> 4);
    const uint8_t s[4] = {static_cast<uint8_t>(src >> 24), static_cast<uint8_t>(src >> 16),
                          static_cast<uint8_t>(src >> 8), static_cast<uint8_t>(src)};
    std::memcpy(pm.src_addr, s, 4);
    const uint8_t d[4] = {192, 0, 2, 1};
    std::memcpy(pm.dst_addr, d, 4);
    pm.src_port = static_cast<uint16_t>(1024 + (i & 15));
    pm.dst_port = 53;
}

struct fixture {
    std::unique_ptr<dpdk_app::flow_table> table;
    std::array<rte_mbuf*, burst_size> pkts{};

    bool init(benchmark::State& state, uint32_t capacity) {
        std::string error;
        const uint64_t hz = rte_get_tsc_hz();
        table = dpdk_app::flow_table::create(0, capacity, {.inactive = 3600 * hz, .active = 3600 * hz, .linger = hz},
                                             error);
        if (!table) {
            state.SkipWithError(error.c_str());
            return false;
        }
        rte_mempool* pool = parse_pool();
        if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), burst_size) != 0) {
            state.SkipWithError("no mbufs");
            return false;
        }
        return true;
    }
    ~fixture() {
        if (pkts[0] != nullptr) {
            rte_pktmbuf_free_bulk(pkts.data(), burst_size);
        }
    }
    void burst(const uint32_t* flows, uint64_t now) {
        for (unsigned i = 0; i < burst_size; ++i) {
            set_flow(pkts[i], flows[i]);
        }
        table->update(pkts.data(), burst_size, now);
    }
    uint64_t fill(uint32_t n, uint64_t now) {
        std::array<uint32_t, burst_size> flows{};
        const tsc_timer t;
        for (uint32_t f = 0; f + burst_size <= n; f += burst_size) {
            for (unsigned i = 0; i < burst_size; ++i) {
                flows[i] = f + i;
            }
            burst(flows.data(), now);
        }
        return t.elapsed();
    }
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
    std::mt19937 rng(3);
    std::vector<uint32_t> order(1u << 16);
    for (auto& f : order) {
        f = static_cast<uint32_t>(rng() % n);
    }
    uint64_t items = 0;
    std::size_t at = 0;
    const tsc_timer t;
    for (auto _ : state) {
        if (at + burst_size > order.size()) {
            at = 0;
        }
        fx.burst(&order[at], now);
        at += burst_size;
        items += burst_size;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
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
