// The firewall's exact-match table: exact_table::lookup on bursts of 64
// IPv4 UDP packets against 64k and 1M random flow entries, every packet
// hitting or every packet missing, and the time and memory the build takes
// for 100k and 1M entries.
//
// The 64 mbufs of the burst are reused, their packet_meta rewritten before
// each lookup from a list of 1M flows (hit: flows of the table in random
// order; miss: flows it does not hold): the lookups walk the whole table,
// as traffic of many flows would, instead of 64 keys that stay in L1.
// BM_exact_meta_rewrite is that rewrite alone, to subtract.
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "classify/exact.hpp"
#include "common.hpp"
#include "frames.hpp"
#include "packet/parse.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned burst_size = 64;
constexpr std::size_t flow_list = std::size_t{1} << 20;

struct flow4 {
    uint32_t src;  // network order
    uint32_t dst;
    uint16_t sport;
    uint16_t dport;
};

flow4 random_flow(std::mt19937& rng) {
    return {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
            static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
}

dpdk_app::exact_entry flow_entry(const flow4& f) {
    dpdk_app::exact_entry e;
    e.action = dpdk_app::firewall_action::accept;
    e.kind = dpdk_app::exact_kind::flow;
    e.l4 = true;
    e.proto = IPPROTO_UDP;
    std::memcpy(e.src.bytes.data(), &f.src, 4);
    std::memcpy(e.dst.bytes.data(), &f.dst, 4);
    e.sport = f.sport;
    e.dport = f.dport;
    return e;
}

// n distinct UDP flow entries (accept) and the flows themselves.
dpdk_app::exact_config random_flows(std::size_t n, uint32_t seed, std::vector<flow4>& flows) {
    std::mt19937 rng(seed);
    dpdk_app::exact_config x;
    x.entries.reserve(n);
    flows.clear();
    flows.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        flows.push_back(random_flow(rng));  // 2^-96 to collide: distinct
        x.entries.push_back(flow_entry(flows.back()));
    }
    return x;
}

// The burst: 64 parsed IPv4 UDP frames whose metadata is then rewritten.
bool make_burst(std::array<rte_mbuf*, burst_size>& pkts) {
    rte_mempool* pool = parse_pool();
    if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), burst_size) != 0) {
        return false;
    }
    for (unsigned i = 0; i < burst_size; ++i) {
        const auto f = make_frame(frame_kind::ipv4_udp, i);
        std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(f.size())), f.data(),
                    f.size());
        pkts[i]->port = 0;
        if (dpdk_app::parse_packet(pkts[i], *dpdk_app::meta_of(pkts[i]))) {
            rte_pktmbuf_free_bulk(pkts.data(), burst_size);
            return false;
        }
    }
    return true;
}

inline void write_meta(rte_mbuf* m, const flow4& f) noexcept {
    dpdk_app::packet_meta* pm = dpdk_app::meta_of(m);
    std::memcpy(pm->src_addr, &f.src, 4);
    std::memcpy(pm->dst_addr, &f.dst, 4);
    pm->src_port = f.sport;
    pm->dst_port = f.dport;
}

// The packets' flows: hit: the table's flows shuffled; miss: others.
std::vector<flow4> packet_flows(const std::vector<flow4>& table, bool hit) {
    std::mt19937 rng(99);
    std::vector<flow4> out(flow_list);
    for (auto& f : out) {
        f = hit ? table[rng() % table.size()] : random_flow(rng);
    }
    return out;
}

void BM_exact_lookup_v4(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const bool hit = state.range(1) != 0;
    std::vector<flow4> flows;
    std::vector<std::string> errors;
    const auto table = dpdk_app::exact_table::build(random_flows(n, 7, flows), 1, errors);
    if (!table) {
        state.SkipWithError(errors.empty() ? "build failed" : errors[0].c_str());
        return;
    }
    const auto packets = packet_flows(flows, hit);
    std::array<rte_mbuf*, burst_size> pkts{};
    if (!make_burst(pkts)) {
        state.SkipWithError("no mbufs, or the parser rejects the frame");
        return;
    }
    std::array<dpdk_app::exact_verdict, burst_size> out{};
    std::size_t next = 0;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        for (unsigned i = 0; i < burst_size; ++i) {
            write_meta(pkts[i], packets[next + i]);
        }
        next = (next + burst_size) & (flow_list - 1);
        table->lookup(pkts.data(), burst_size, out.data(), 0);
        benchmark::DoNotOptimize(out.data());
        items += burst_size;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    const auto h = table->hits();
    if (h.accept_packets != (hit ? items : 0)) {
        state.SkipWithError("unexpected verdicts");
    }
    state.counters["MiB"] = static_cast<double>(table->memory_bytes()) / (1 << 20);
    rte_pktmbuf_free_bulk(pkts.data(), burst_size);
}
BENCHMARK(BM_exact_lookup_v4)
    ->ArgsProduct({{1 << 16, 1 << 20}, {1, 0}})
    ->ArgNames({"entries", "hit"});

// The metadata rewrite of BM_exact_lookup_v4 without the lookup.
void BM_exact_meta_rewrite(benchmark::State& state) {
    std::vector<flow4> flows;
    random_flows(1 << 10, 7, flows);
    const auto packets = packet_flows(flows, false);
    std::array<rte_mbuf*, burst_size> pkts{};
    if (!make_burst(pkts)) {
        state.SkipWithError("no mbufs, or the parser rejects the frame");
        return;
    }
    std::size_t next = 0;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        for (unsigned i = 0; i < burst_size; ++i) {
            write_meta(pkts[i], packets[next + i]);
        }
        next = (next + burst_size) & (flow_list - 1);
        benchmark::ClobberMemory();
        items += burst_size;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    rte_pktmbuf_free_bulk(pkts.data(), burst_size);
}
BENCHMARK(BM_exact_meta_rewrite);

// Building the table (off the fast path, at start and on SIGHUP): wall
// time and the rte_malloc memory of the hash tables.
void BM_exact_build_v4(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<flow4> flows;
    const auto config = random_flows(n, 11, flows);
    std::size_t memory = 0;
    for (auto _ : state) {
        std::vector<std::string> errors;
        auto table = dpdk_app::exact_table::build(config, 1, errors);
        if (!table) {
            state.SkipWithError(errors.empty() ? "build failed" : errors[0].c_str());
            return;
        }
        memory = table->memory_bytes();
        state.PauseTiming();
        table.reset();
        state.ResumeTiming();
    }
    state.counters["MiB"] = static_cast<double>(memory) / (1 << 20);
    state.counters["B_per_entry"] = static_cast<double>(memory) / static_cast<double>(n);
}
BENCHMARK(BM_exact_build_v4)
    ->Arg(100000)
    ->Arg(1000000)
    ->ArgName("entries")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dpdk_app_bench
