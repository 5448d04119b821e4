// Policers: the colour decision of a meter (police/meter.hpp, on rte_meter)
// per packet, for bursts of 32 packets each going to a random one of N
// aggregate meters (each with a profile of its own, as N policers would
// have), the TSC read once per burst as the dataplane does; and the shaper's
// enqueue + drain per packet.
//
// The police stage itself (police_stage::process on bursts of 32 packets
// carrying only their packet_meta, the tables compiled as the composer
// compiles them): aggregate srTCM / trTCM with 1,000 policers (each packet
// marked with a random one, as the firewall's rules would), and a
// per-source policer on the input port with 1k, 64k and 1M live sources
// (every source's bucket made first, then each packet from a random live
// source): the bulk lookup, the meter, the counters, the walk after each
// burst (idle buckets, top talkers). The rates are high enough that every
// packet is green (a drop would free the benchmark's mbufs).
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "common.hpp"
#include "frames.hpp"
#include "packet/meta.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"
#include "police/meter.hpp"
#include "police/police_stage.hpp"
#include "police/police_table.hpp"
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

// ---- the police stage --------------------------------------------------------------------

// A configuration of `policers` policers of kind, packet rates far above
// what the loop offers; with per_source, one per-source policer on port
// p0 for `sources` sources.
dpdk_app::app_config stage_config(dpdk_app::policer_kind kind, uint32_t policers, bool per_source,
                                  uint32_t sources, bool on_port = false) {
    dpdk_app::app_config c;
    dpdk_app::port_config p0;
    p0.name = "p0";
    for (uint32_t i = 0; i < policers; ++i) {
        dpdk_app::policer_config p;
        p.name = "p" + std::to_string(i);
        p.kind = kind;
        p.unit = dpdk_app::traffic_unit::packets;
        p.cir = 1'000'000'000;
        p.pir = 2'000'000'000;
        p.cbs = 1'000'000;
        p.ebs = 1'000'000;
        p.pbs = 1'000'000;
        if (per_source) {
            p.scope = dpdk_app::policer_scope::per_source;
            p.max_keys = sources;
            p.idle_timeout = 3600;
            p0.police = p.name;
        }
        if (on_port) {
            p0.police = p.name;
        }
        c.policers.push_back(p);
    }
    c.ports.push_back(p0);
    return c;
}

struct stage_fixture {
    std::unique_ptr<dpdk_app::generation> gen;
    std::unique_ptr<dpdk_app::police_stage> stage;
    std::unique_ptr<dpdk_app::segment_counters> counters =
        std::make_unique<dpdk_app::segment_counters>();
    std::array<rte_mbuf*, burst_size> pkts{};

    bool init(benchmark::State& state, const dpdk_app::app_config& c) {
        std::vector<std::string> errors;
        const std::vector<dpdk_app::port_plan> ports = {
            dpdk_app::port_plan{.port_id = 0, .name = "p0"}};
        auto table =
            dpdk_app::policer_table::build(c, ports, 1, rte_get_tsc_hz(), 1, nullptr, errors);
        if (!table) {
            state.SkipWithError(errors.empty() ? "build failed" : errors[0].c_str());
            return false;
        }
        gen = std::make_unique<dpdk_app::generation>(1);
        gen->add(std::move(table));
        std::string error;
        stage = dpdk_app::police_stage::create(0, c, error);
        if (!stage) {
            state.SkipWithError(error.c_str());
            return false;
        }
        rte_mempool* pool = parse_pool();
        if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), burst_size) != 0) {
            state.SkipWithError("no mbufs");
            return false;
        }
        for (rte_mbuf* m : pkts) {
            rte_pktmbuf_append(m, 60);
            auto& pm = *dpdk_app::meta_of(m);
            pm = dpdk_app::packet_meta{};
            pm.l3 = dpdk_app::l3_kind::ipv4;
            pm.l4_proto = 17;
            pm.l2_len = 14;
            pm.l3_total = 46;
            pm.in_port = 0;
        }
        return true;
    }
    ~stage_fixture() {
        if (pkts[0] != nullptr) {
            rte_pktmbuf_free_bulk(pkts.data(), burst_size);
        }
    }
    // One burst: packet k from source sources[k] (10.0.0.0 + i) marked
    // with policer mark marks[k] (0: none). false when a packet was dropped.
    bool run(const uint32_t* sources, const uint32_t* marks, uint16_t in_port = dpdk_app::no_port) {
        for (unsigned k = 0; k < burst_size; ++k) {
            auto& pm = *dpdk_app::meta_of(pkts[k]);
            if (sources != nullptr) {
                const uint32_t src = 0x0a000000u + sources[k];
                const uint8_t a[4] = {static_cast<uint8_t>(src >> 24),
                                      static_cast<uint8_t>(src >> 16),
                                      static_cast<uint8_t>(src >> 8), static_cast<uint8_t>(src)};
                std::memcpy(pm.src_addr, a, 4);
            }
            if (marks != nullptr) {
                pm.police_mark = marks[k];
            }
        }
        dpdk_app::burst b;
        std::copy(pkts.begin(), pkts.end(), b.pkts.begin());
        b.count = burst_size;
        b.in_port = in_port;
        dpdk_app::stage_context ctx(*counters, gen.get());
        stage->process(b, ctx);
        return b.count == burst_size;
    }
};

// Bursts of 32 packets each marked with a random one of 1,000 aggregate policers.
void stage_aggregate(benchmark::State& state, dpdk_app::policer_kind kind) {
    const auto n = static_cast<uint32_t>(state.range(0));
    stage_fixture fx;
    if (!fx.init(state, stage_config(kind, n, false, 0))) {
        return;
    }
    const auto* t = fx.gen->find<dpdk_app::policer_table>();
    std::mt19937 rng(9);
    std::vector<uint32_t> marks(1u << 16);
    for (auto& m : marks) {
        m = t->mark_of("p" + std::to_string(rng() % n));
    }
    uint64_t items = 0;
    std::size_t at = 0;
    const tsc_timer timer;
    for (auto _ : state) {
        if (!fx.run(nullptr, &marks[at])) {
            state.SkipWithError("a packet was dropped");
            break;
        }
        at = (at + burst_size) & (marks.size() - 1);
        items += burst_size;
    }
    report_items(state, timer.elapsed(), items, "cyc_per_pkt");
}

void BM_police_stage_srtcm(benchmark::State& state) {
    stage_aggregate(state, dpdk_app::policer_kind::srtcm);
}
void BM_police_stage_trtcm(benchmark::State& state) {
    stage_aggregate(state, dpdk_app::policer_kind::trtcm);
}
BENCHMARK(BM_police_stage_srtcm)->Arg(1)->Arg(1000)->ArgName("policers");
BENCHMARK(BM_police_stage_trtcm)->Arg(1)->Arg(1000)->ArgName("policers");

// One aggregate policer on the input port, the burst saying which port it
// came from (as RX does): the bucket and counts stay in locals for the
// burst (police_stage::police_port_burst).
void stage_port(benchmark::State& state, dpdk_app::policer_kind kind) {
    stage_fixture fx;
    if (!fx.init(state, stage_config(kind, 1, false, 0, true))) {
        return;
    }
    uint64_t items = 0;
    const tsc_timer timer;
    for (auto _ : state) {
        if (!fx.run(nullptr, nullptr, 0)) {
            state.SkipWithError("a packet was dropped");
            break;
        }
        items += burst_size;
    }
    report_items(state, timer.elapsed(), items, "cyc_per_pkt");
}
void BM_police_stage_port_srtcm(benchmark::State& state) {
    stage_port(state, dpdk_app::policer_kind::srtcm);
}
void BM_police_stage_port_trtcm(benchmark::State& state) {
    stage_port(state, dpdk_app::policer_kind::trtcm);
}
BENCHMARK(BM_police_stage_port_srtcm);
BENCHMARK(BM_police_stage_port_trtcm);

// A per-source srTCM policer on the input port with n live sources.
void BM_police_per_source(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    stage_fixture fx;
    if (!fx.init(state, stage_config(dpdk_app::policer_kind::srtcm, 1, true, n))) {
        return;
    }
    std::vector<uint32_t> fill(burst_size);
    for (uint32_t first = 0; first < n; first += burst_size) {
        for (unsigned k = 0; k < burst_size; ++k) {
            fill[k] = (first + k) % n;
        }
        if (!fx.run(fill.data(), nullptr)) {
            state.SkipWithError("the table did not take every source");
            return;
        }
    }
    if (fx.stage->sources("p0")->size() != n) {
        state.SkipWithError("the table did not take every source");
        return;
    }
    std::mt19937 rng(3);
    std::vector<uint32_t> order(1u << 16);
    for (auto& s : order) {
        s = static_cast<uint32_t>(rng() % n);
    }
    uint64_t items = 0;
    std::size_t at = 0;
    const tsc_timer timer;
    for (auto _ : state) {
        if (!fx.run(&order[at], nullptr)) {
            state.SkipWithError("a packet was dropped");
            break;
        }
        at = (at + burst_size) & (order.size() - 1);
        items += burst_size;
    }
    report_items(state, timer.elapsed(), items, "cyc_per_pkt");
    state.counters["sources"] = fx.stage->sources("p0")->size();
}
BENCHMARK(BM_police_per_source)->Arg(1024)->Arg(65536)->Arg(1 << 20)->ArgName("sources");

}  // namespace
}  // namespace dpdk_app_bench
