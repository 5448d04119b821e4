// Policers: the colour decision of a meter (police/meter.hpp, on rte_meter)
// per packet, for bursts of 32 packets each going to a random one of N
// aggregate meters (each with a profile of its own, as N policers would
// have), the TSC read once per burst as the dataplane does; and the shaper's
// enqueue + drain per packet.
#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>

#include "common.hpp"
#include "police/meter.hpp"
#include "police/shaper.hpp"

namespace dpdk_app_bench {
namespace {

using dpdk_app::meter_kind;

constexpr unsigned burst_size = 32;

void meter_bench(benchmark::State& state, meter_kind kind) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const uint64_t hz = rte_get_tsc_hz();
    std::vector<dpdk_app::meter_profile> profiles;
    std::vector<dpdk_app::meter_state> states(n);
    const uint64_t now0 = rte_rdtsc();
    for (uint32_t i = 0; i < n; ++i) {
        // About 400 Mbit/s each: the offered load (~1 kbyte packets at
        // ~200 Mpps over the meters) is then some green, some yellow, some red.
        const uint64_t cir = 50'000'000 + 1000ull * i;
        std::string error;
        auto p = dpdk_app::meter_profile::build(
            {kind, cir, cir / 20, cir / 20, 2 * cir, cir / 10, cir / 2}, hz, error);
        if (!p) {
            state.SkipWithError(error.c_str());
            return;
        }
        profiles.push_back(*p);
        dpdk_app::meter_reset(states[i], profiles.back(), now0);
    }
    std::mt19937 rng(5);
    std::vector<uint32_t> meter(1u << 16);
    std::vector<uint32_t> len(meter.size());
    for (std::size_t i = 0; i < meter.size(); ++i) {
        meter[i] = static_cast<uint32_t>(rng() % n);
        len[i] = 64 + static_cast<uint32_t>(rng() % 1437);
    }
    std::array<uint64_t, 3> colours{};
    uint64_t items = 0;
    std::size_t at = 0;
    const tsc_timer t;
    for (auto _ : state) {
        const uint64_t now = rte_rdtsc();
        for (unsigned k = 0; k < burst_size; ++k) {
            const uint32_t m = meter[at + k];
            ++colours[static_cast<std::size_t>(
                dpdk_app::meter_check(states[m], profiles[m], now, len[at + k]))];
        }
        at = (at + burst_size) & (meter.size() - 1);
        items += burst_size;
    }
    benchmark::DoNotOptimize(colours);
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    state.counters["green_share"] =
        items > 0 ? static_cast<double>(colours[0]) / static_cast<double>(items) : 0.0;
}

void BM_police_srtcm(benchmark::State& state) {
    meter_bench(state, meter_kind::srtcm);
}
void BM_police_trtcm(benchmark::State& state) {
    meter_bench(state, meter_kind::trtcm);
}
void BM_police_rfc4115(benchmark::State& state) {
    meter_bench(state, meter_kind::rfc4115);
}
BENCHMARK(BM_police_srtcm)->Arg(1)->Arg(1000)->ArgName("meters");
BENCHMARK(BM_police_trtcm)->Arg(1)->Arg(1000)->ArgName("meters");
BENCHMARK(BM_police_rfc4115)->Arg(1000)->ArgName("meters");

// A shaper offered 32-packet bursts: enqueue each, then drain what may
// leave. Its rate (8.8 Tbit/s) about matches what the loop offers, so the
// queue is neither always full nor always empty.
void BM_police_shaper(benchmark::State& state) {
    std::string error;
    auto s = dpdk_app::shaper::create({dpdk_app::max_traffic_amount, dpdk_app::traffic_unit::bytes,
                                       4096, dpdk_app::traffic_unit::packets, 4096},
                                      rte_get_tsc_hz(), error);
    if (!s) {
        state.SkipWithError(error.c_str());
        return;
    }
    uint64_t items = 0;
    uint64_t accepted = 0;
    const tsc_timer t;
    for (auto _ : state) {
        const uint64_t now = rte_rdtsc();
        for (unsigned k = 0; k < burst_size; ++k) {
            accepted += s->enqueue(now, 64 + 64 * k).accepted ? 1 : 0;
        }
        s->drain(now, burst_size);
        items += burst_size;
    }
    benchmark::DoNotOptimize(accepted);
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    state.counters["accepted_share"] =
        items > 0 ? static_cast<double>(accepted) / static_cast<double>(items) : 0.0;
}
BENCHMARK(BM_police_shaper);

}  // namespace
}  // namespace dpdk_app_bench
