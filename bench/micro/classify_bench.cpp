// The firewall: the classify stage on a burst of 32 parsed frames against
// random rule sets of 100, 1,000 and 10,000 rules (IPv4 and IPv6 frames),
// and the time and memory rte_acl takes to build 100 ... 100,000 rules.
// The rules look like an operator's: source and destination prefixes, a
// protocol, a destination port range; none matches the benchmark frames
// better than another, so the whole trie is walked as in production.
#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "classify/acl.hpp"
#include "classify/classify_stage.hpp"
#include "common.hpp"
#include "frames.hpp"
#include "packet/parse.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned burst_size = 32;

dpdk_app::firewall_config random_rules(std::size_t n, bool v6, uint32_t seed) {
    std::mt19937 rng(seed);
    dpdk_app::firewall_config fw;
    fw.default_action = dpdk_app::firewall_action::accept;
    for (std::size_t i = 0; i < n; ++i) {
        dpdk_app::firewall_rule r;
        r.action = dpdk_app::firewall_action::accept;
        for (auto* p : {&r.src, &r.dst}) {
            dpdk_app::ip_address a;
            a.v6 = v6;
            for (std::size_t b = 0; b < (v6 ? 16u : 4u); ++b) {
                a.bytes[b] = static_cast<uint8_t>(rng());
            }
            const auto len = static_cast<uint8_t>(v6 ? 16 + rng() % 113 : 8 + rng() % 25);
            *p = dpdk_app::masked(a, len);
        }
        r.v6 = v6;
        r.proto = rng() % 2 ? 6 : 17;
        const auto lo = static_cast<uint16_t>(rng() % 60000);
        r.dport = dpdk_app::port_range{lo, static_cast<uint16_t>(lo + rng() % 1000)};
        fw.rules.push_back(r);
    }
    return fw;
}

void run_classify(benchmark::State& state, bool v6) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::string> errors;
    const std::vector<dpdk_app::port_plan> ports = {dpdk_app::port_plan{0, "p0", 0}};
    auto table = dpdk_app::acl_table::build(random_rules(n, v6, 7), ports, 1, errors);
    if (!table) {
        state.SkipWithError(errors.empty() ? "build failed" : errors[0].c_str());
        return;
    }
    dpdk_app::generation gen(1);
    gen.add(std::move(table));
    std::array<rte_mbuf*, burst_size> pkts{};
    rte_mempool* pool = parse_pool();
    if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), burst_size) != 0) {
        state.SkipWithError("no mbufs");
        return;
    }
    for (unsigned i = 0; i < burst_size; ++i) {
        const auto f = make_frame(v6 ? frame_kind::ipv6_udp : frame_kind::ipv4_udp, i);
        std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
        pkts[i]->port = 0;
        if (dpdk_app::parse_packet(pkts[i], *dpdk_app::meta_of(pkts[i]))) {
            state.SkipWithError("the parser rejects the benchmark's frame");
            rte_pktmbuf_free_bulk(pkts.data(), burst_size);
            return;
        }
    }
    auto counters = std::make_unique<dpdk_app::segment_counters>();
    dpdk_app::classify_stage stage(0);
    dpdk_app::burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        std::copy(pkts.begin(), pkts.end(), b.pkts.begin());
        b.count = burst_size;
        dpdk_app::stage_context ctx(*counters, &gen);
        stage.process(b, ctx);
        if (b.count != burst_size) {
            state.SkipWithError("a frame was dropped");
            break;
        }
        items += burst_size;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    rte_pktmbuf_free_bulk(pkts.data(), burst_size);
}

void BM_classify_v4(benchmark::State& state) {
    run_classify(state, false);
}
BENCHMARK(BM_classify_v4)->Arg(100)->Arg(1000)->Arg(10000)->ArgName("rules");

void BM_classify_v6(benchmark::State& state) {
    run_classify(state, true);
}
BENCHMARK(BM_classify_v6)->Arg(100)->Arg(1000)->Arg(10000)->ArgName("rules");

// Building the rule set (off the fast path, at start and on SIGHUP): wall
// time and the rte_malloc memory of the contexts.
void BM_acl_build(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const bool v6 = state.range(1) != 0;
    const auto rules = random_rules(n, v6, 11);
    const std::vector<dpdk_app::port_plan> ports = {dpdk_app::port_plan{0, "p0", 0}};
    std::size_t memory = 0;
    for (auto _ : state) {
        std::vector<std::string> errors;
        auto table = dpdk_app::acl_table::build(rules, ports, 1, errors);
        if (!table) {
            state.SkipWithError(errors.empty() ? "build failed" : errors[0].c_str());
            return;
        }
        memory = table->memory_bytes();
    }
    state.counters["MiB"] = static_cast<double>(memory) / (1 << 20);
}
BENCHMARK(BM_acl_build)
    ->ArgsProduct({{100, 1000, 10000, 100000}, {0, 1}})
    ->ArgNames({"rules", "v6"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dpdk_app_bench
