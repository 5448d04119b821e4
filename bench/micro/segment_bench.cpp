// Router mode's whole lcore loop without a PMD's copy: segment::step on two
// net_ring ports (a ring each, TX looping back into RX), with the stages the
// router pipeline runs on one lcore (parse+route+respond), RCU reporting,
// the inject-ring check, the per-stage counters and the sampled timing, on
// the router replay's traffic: a burst alternating between ports 0 and 1.
// Each iteration writes the burst's frames back (as in route_bench),
// enqueues it on port 0's ring and steps until the segment took it: port 1
// stays empty, as in the replay, and is polled as often as the segment
// polls an idle port (args: burst size, dataplane.idle_rx_backoff). Then it
// takes what TX sent off both rings. BM_router_segment_harness is that
// iteration without the steps (restore + ring enqueue + dequeues), to
// subtract.
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "common.hpp"
#include "frame_burst.hpp"
#include "router_fixture.hpp"
#include "pipeline/segment.hpp"
#include "respond/respond_stage.hpp"
#include "route/route_stage.hpp"

namespace dpdk_app_bench {
namespace {

// Two started net_ring ports whose RX and TX queue 0 share one ring each
// (the PMD's rings without arguments), created once per process.
struct ring_ports {
    std::array<uint16_t, 2> port{};
    std::array<rte_ring*, 2> ring{};
    std::string error;

    ring_ports() {
        for (unsigned i = 0; i < 2; ++i) {
            const std::string name = "net_ring_sb" + std::to_string(i);
            if (rte_eal_hotplug_add("vdev", name.c_str(), "") != 0 ||
                rte_eth_dev_get_port_by_name(name.c_str(), &port[i]) != 0) {
                error = "cannot create " + name;
                return;
            }
            rte_eth_conf conf{};
            const int socket = static_cast<int>(rte_socket_id());
            if (rte_eth_dev_configure(port[i], 1, 1, &conf) != 0 ||
                rte_eth_rx_queue_setup(port[i], 0, 1024, socket, nullptr, meta_mbuf_pool()) != 0 ||
                rte_eth_tx_queue_setup(port[i], 0, 1024, socket, nullptr) != 0 ||
                rte_eth_dev_start(port[i]) != 0) {
                error = "cannot start " + name;
                return;
            }
            ring[i] = rte_ring_lookup(("ETH_RXTX0_" + name).c_str());
            if (ring[i] == nullptr) {
                error = "no ring ETH_RXTX0_" + name;
                return;
            }
        }
    }
    static ring_ports& get() {
        static ring_ports p;
        return p;
    }
};

// Moves whatever TX left on both rings off them; returns how many packets.
unsigned drain(const ring_ports& rp, std::array<rte_mbuf*, 2 * dpdk_app::max_burst>& out) {
    unsigned got = 0;
    for (rte_ring* r : rp.ring) {
        got += rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(out.data() + got),
                                         dpdk_app::max_burst, nullptr);
    }
    return got;
}

void router_segment_bench(benchmark::State& state, bool with_segment) {
    const auto n = static_cast<unsigned>(state.range(0));
    frame_burst u(udp_frames(n));
    router_tables tables;
    ring_ports& rp = ring_ports::get();
    if (!u.ok || !tables.store || !rp.error.empty()) {
        state.SkipWithError(("set-up failed: " + tables.error + rp.error).c_str());
        return;
    }
    const std::size_t qsbr_size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
    auto* qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("segbench_qsbr", qsbr_size, 64));
    rte_ring* inject = rte_ring_create("segbench_inject", 64, static_cast<int>(rte_socket_id()),
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (qsbr == nullptr || inject == nullptr || rte_rcu_qsbr_init(qsbr, RTE_MAX_LCORE) != 0) {
        rte_free(qsbr);
        rte_ring_free(inject);
        state.SkipWithError("cannot create the RCU state or the inject ring");
        return;
    }
    std::atomic<bool> stop{false};
    dpdk_app::segment::wiring w;
    w.lcore = rte_lcore_id();
    w.burst_size = static_cast<uint16_t>(n);
    w.rx_ports = {rp.port[0], rp.port[1]};
    w.tx = true;
    w.tx_ports = w.rx_ports;
    w.inject_ring = inject;
    w.stop_rx = &stop;
    w.qsbr = qsbr;
    w.generations = tables.store.get();
    w.idle_rx_backoff = static_cast<uint32_t>(state.range(1));
    dpdk_app::responder_settings settings;
    settings.router = true;
    std::vector<std::unique_ptr<dpdk_app::stage>> stages;
    stages.push_back(std::make_unique<dpdk_app::parse_route_respond_stage>(
        nullptr, 0, settings, rte_get_tsc_hz()));
    auto seg = std::make_unique<dpdk_app::segment>(w, std::move(stages));
    seg->attach_rcu();

    dpdk_app::burst b;
    std::array<rte_mbuf*, 2 * dpdk_app::max_burst> sent;
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        u.restore(b);
        if (rte_ring_sp_enqueue_burst(rp.ring[0], reinterpret_cast<void* const*>(b.pkts.data()),
                                      n, nullptr) != n) {
            state.SkipWithError("port 0's ring is full");
            break;
        }
        if (with_segment) {
            // Port 0 (the burst) and, when the segment visits it, port 1.
            for (unsigned steps = 0; rte_ring_count(rp.ring[0]) >= n && steps < 64; ++steps) {
                seg->step();
            }
        } else {
            drain(rp, sent);  // what the step would have received
            rte_ring_sp_enqueue_burst(rp.ring[0], reinterpret_cast<void* const*>(b.pkts.data()),
                                      n, nullptr);
        }
        const unsigned got = drain(rp, sent);
        if (got != n) {
            state.SkipWithError("not every packet came back from TX");
            break;
        }
        items += n;
    }
    const uint64_t cycles = t.elapsed();
    if (with_segment && seg->counters().forwarded.get() != items) {
        state.SkipWithError("forwarded counter does not match");
    }
    report_items(state, cycles, items, "cyc_per_pkt");
    stop.store(true);
    seg->step();  // finished: leaves RCU
    seg.reset();
    std::array<rte_mbuf*, 2 * dpdk_app::max_burst> left;
    drain(rp, left);
    rte_ring_free(inject);
    rte_free(qsbr);
}

void BM_router_segment(benchmark::State& state) {
    router_segment_bench(state, true);
}
BENCHMARK(BM_router_segment)->Args({32, 1})->Args({32, 8})->Args({64, 8});

void BM_router_segment_harness(benchmark::State& state) {
    router_segment_bench(state, false);
}
BENCHMARK(BM_router_segment_harness)->Args({32, 1})->Args({64, 1});

}  // namespace
}  // namespace dpdk_app_bench
