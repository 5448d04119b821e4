// Stage call overhead: one 32-packet burst of real mbufs through
// stage::process via the virtual interface, as segment::step calls it.
#include <algorithm>
#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include <rte_mbuf.h>

#include "common.hpp"
#include "forward/bridge.hpp"
#include "io/port.hpp"
#include "pipeline/counters.hpp"
#include "dataplane/compose.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app_bench {
namespace {

using dpdk_app::burst;
using dpdk_app::stage;
using dpdk_app::stage_context;

// A stage that does nothing: the cost of the virtual call and the burst
// reset alone.
class noop_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "noop"; }
    void process(burst& b, stage_context& /*ctx*/) noexcept override {
        benchmark::DoNotOptimize(b.count);
    }
};

// Two ports bridged to each other (0 <-> 1), as the default config pairs them.
std::vector<dpdk_app::port_plan> two_ports() {
    std::vector<dpdk_app::port_plan> ports(2);
    ports[0].port_id = 0;
    ports[0].name = "p0";
    ports[0].peer = 1;
    ports[1].port_id = 1;
    ports[1].name = "p1";
    ports[1].peer = 0;
    return ports;
}

class mbuf_burst {
  public:
    mbuf_burst(unsigned n, rte_mempool* pool) : n_(n) {
        ok_ = rte_pktmbuf_alloc_bulk(pool, pkts_.data(), n) == 0;
        for (unsigned i = 0; ok_ && i < n; ++i) {
            pkts_[i]->port = static_cast<uint16_t>(i & 1);
            pkts_[i]->data_len = 60;
            pkts_[i]->pkt_len = 60;
        }
    }
    ~mbuf_burst() {
        if (ok_) {
            rte_pktmbuf_free_bulk(pkts_.data(), n_);
        }
    }
    bool ok() const { return ok_; }
    // Refills b with the same packets (process() compacts b in place), one
    // 8-byte store per packet as an RX burst writes them. (A memcpy here
    // would use 64-byte vector stores, which the 8-byte loads in process()
    // cannot forward from: that costs ~15-20 cycles per packet on Zen 4 and
    // is not what happens after rte_eth_rx_burst.)
    void load(burst& b) const noexcept {
        for (unsigned i = 0; i < n_; ++i) {
            b.pkts[i] = pkts_[i];
            benchmark::ClobberMemory();  // keeps the loop from becoming a memcpy
        }
        b.count = static_cast<uint16_t>(n_);
    }

  private:
    std::array<rte_mbuf*, dpdk_app::max_burst> pkts_{};
    unsigned n_;
    bool ok_ = false;
};

void run_stage(benchmark::State& state, stage* s, bool accounted, rte_mempool* pool = mbuf_pool()) {
    const auto n = static_cast<unsigned>(state.range(0));
    mbuf_burst pkts(n, pool);
    if (!pkts.ok()) {
        state.SkipWithError("rte_pktmbuf_alloc_bulk failed");
        return;
    }
    // Hide the dynamic type so that the call stays virtual.
    benchmark::DoNotOptimize(s);
    auto counters = std::make_unique<dpdk_app::segment_counters>();
    dpdk_app::stage_counters& sc = counters->stages[1];
    burst b;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        pkts.load(b);
        stage_context ctx(*counters);
        if (accounted) {
            // What segment::step wraps around every stage call.
            const uint16_t in = b.count;
            const uint64_t t0 = rte_rdtsc();
            s->process(b, ctx);
            sc.packets_in.add(in);
            sc.packets_out.add(b.count);
            sc.bursts.inc();
            sc.cycles.add(rte_rdtsc() - t0);
        } else {
            s->process(b, ctx);
        }
        ctx.free_discarded();
        benchmark::DoNotOptimize(b);
        items += n;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    state.counters["cyc_per_burst"] =
        state.iterations() > 0
            ? static_cast<double>(t.elapsed()) / static_cast<double>(state.iterations())
            : 0.0;
}

// The bridge stage as the composer makes it.
std::unique_ptr<stage> make_bridge(const std::vector<dpdk_app::port_plan>& ports) {
    static const dpdk_app::app_config bridge_config;
    dpdk_app::stage_deps deps;
    deps.config = &bridge_config;
    deps.ports = &ports;
    std::vector<std::unique_ptr<stage>> out;
    std::string error;
    if (!dpdk_app::make_stages({"bridge"}, deps, true, out, error) || out.size() != 1) {
        return nullptr;
    }
    return std::move(out[0]);
}

void BM_stage_noop(benchmark::State& state) {
    noop_stage s;
    run_stage(state, &s, false);
}
BENCHMARK(BM_stage_noop)->Arg(32);

void BM_stage_bridge(benchmark::State& state) {
    const auto ports = two_ports();
    std::unique_ptr<stage> s = make_bridge(ports);
    if (!s) {
        state.SkipWithError("make_stages({\"bridge\"}) returned nothing");
        return;
    }
    run_stage(state, s.get(), false);
}
BENCHMARK(BM_stage_bridge)->Arg(1)->Arg(32);

// The bridge stage plus the per-stage accounting of segment::step (two TSC
// reads and four counter updates per burst).
void BM_stage_bridge_accounted(benchmark::State& state) {
    const auto ports = two_ports();
    std::unique_ptr<stage> s = make_bridge(ports);
    if (!s) {
        state.SkipWithError("make_stages({\"bridge\"}) returned nothing");
        return;
    }
    run_stage(state, s.get(), true);
}
BENCHMARK(BM_stage_bridge_accounted)->Arg(32);

// The same with mbufs from a plain rte_pktmbuf_pool_create pool without
// hugepages (one mbuf per 4 KiB page, as dpdk-app and testpmd get them in
// the --no-huge replay benchmark): the mbuf headers of a burst share one L1
// set, and reading m->port misses L1.
void BM_stage_bridge_page_layout(benchmark::State& state) {
    const auto ports = two_ports();
    std::unique_ptr<stage> s = make_bridge(ports);
    if (!s) {
        state.SkipWithError("make_stages({\"bridge\"}) returned nothing");
        return;
    }
    run_stage(state, s.get(), false, page_mbuf_pool());
}
BENCHMARK(BM_stage_bridge_page_layout)->Arg(32);

// One TSC read pair, the unit of the per-stage cycle accounting.
void BM_rdtsc_pair(benchmark::State& state) {
    uint64_t sum = 0;
    const tsc_timer t;
    for (auto _ : state) {
        const uint64_t a = rte_rdtsc();
        const uint64_t b = rte_rdtsc();
        sum += b - a;
    }
    benchmark::DoNotOptimize(sum);
    report_items(state, t.elapsed(), static_cast<uint64_t>(state.iterations()), "cyc_per_pair");
}
BENCHMARK(BM_rdtsc_pair);

}  // namespace
}  // namespace dpdk_app_bench
