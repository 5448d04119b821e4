// rte_ring costs: an SP/SC burst enqueue + dequeue on one core, and the hop
// between two lcores that a split pipeline pays (pointers only, then mbufs
// allocated on one lcore and freed on the other, as RX -> ring -> TX does).
#include <array>
#include <atomic>
#include <cstdint>

#include <rte_launch.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "common.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned ring_size = 1024;  // pipeline.ring_size default
constexpr unsigned max_n = 64;

rte_ring* make_ring(const char* name) {
    rte_ring* r = rte_ring_create(name, ring_size, static_cast<int>(rte_socket_id()),
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
    return r;
}

// Distinct non-null pointers standing for packets.
std::array<void*, max_n> fake_objs() {
    static std::array<uint64_t, max_n> storage{};
    std::array<void*, max_n> objs{};
    for (unsigned i = 0; i < max_n; ++i) {
        objs[i] = &storage[i];
    }
    return objs;
}

// One core: enqueue a burst, dequeue it again.
void BM_ring_sp_sc_same_core(benchmark::State& state) {
    const auto n = static_cast<unsigned>(state.range(0));
    rte_ring* r = make_ring("bm_ring_same");
    if (r == nullptr) {
        state.SkipWithError("rte_ring_create failed");
        return;
    }
    auto objs = fake_objs();
    std::array<void*, max_n> out{};
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        const unsigned in = rte_ring_sp_enqueue_burst(r, objs.data(), n, nullptr);
        const unsigned got = rte_ring_sc_dequeue_burst(r, out.data(), n, nullptr);
        benchmark::DoNotOptimize(out.data());
        items += got;
        benchmark::DoNotOptimize(in);
    }
    report_items(state, t.elapsed(), items);
    rte_ring_free(r);
}
BENCHMARK(BM_ring_sp_sc_same_core)->Arg(1)->Arg(8)->Arg(32);

// ---- cross-core: producer on the worker lcore, consumer here --------------

struct hop_state {
    rte_ring* ring = nullptr;     // producer -> consumer
    rte_ring* back = nullptr;     // consumer -> producer (ping-pong only)
    rte_mempool* pool = nullptr;  // mbuf variant only
    unsigned burst = 32;
    std::atomic<bool> stop{false};
    std::atomic<bool> running{false};
    uint64_t busy_cycles = 0;  // producer cycles in calls that moved something
    uint64_t items = 0;        // items the producer enqueued
};

int pointer_producer(void* arg) {
    auto* h = static_cast<hop_state*>(arg);
    const auto objs = fake_objs();
    h->running.store(true, std::memory_order_release);
    while (!h->stop.load(std::memory_order_relaxed)) {
        const uint64_t t0 = rte_rdtsc();
        const unsigned n = rte_ring_sp_enqueue_burst(h->ring, objs.data(), h->burst, nullptr);
        if (n == 0) {
            rte_pause();
            continue;
        }
        h->busy_cycles += rte_rdtsc() - t0;
        h->items += n;
    }
    return 0;
}

// Allocates a burst, writes each mbuf header (as an RX driver does), then
// enqueues it: the consumer frees, so mbufs cross the lcores both ways.
int mbuf_producer(void* arg) {
    auto* h = static_cast<hop_state*>(arg);
    std::array<rte_mbuf*, max_n> m{};
    h->running.store(true, std::memory_order_release);
    while (!h->stop.load(std::memory_order_relaxed)) {
        const uint64_t t0 = rte_rdtsc();
        if (rte_pktmbuf_alloc_bulk(h->pool, m.data(), h->burst) != 0) {
            rte_pause();
            continue;
        }
        for (unsigned i = 0; i < h->burst; ++i) {
            m[i]->port = 1;
            m[i]->data_len = 60;
            m[i]->pkt_len = 60;
        }
        h->busy_cycles += rte_rdtsc() - t0;
        // Only enqueue calls that moved mbufs count as busy, not the spin on
        // a full ring.
        unsigned sent = 0;
        while (sent < h->burst) {
            const uint64_t t1 = rte_rdtsc();
            const unsigned n = rte_ring_sp_enqueue_burst(
                h->ring, reinterpret_cast<void* const*>(&m[sent]), h->burst - sent, nullptr);
            if (n > 0) {
                h->busy_cycles += rte_rdtsc() - t1;
                sent += n;
            } else if (h->stop.load(std::memory_order_relaxed)) {
                rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(&m[sent]), h->burst - sent);
                break;
            }
        }
        h->items += sent;
    }
    return 0;
}

// Sends back every burst it receives (ping-pong).
int echo_worker(void* arg) {
    auto* h = static_cast<hop_state*>(arg);
    std::array<void*, max_n> objs{};
    h->running.store(true, std::memory_order_release);
    while (!h->stop.load(std::memory_order_relaxed)) {
        const unsigned n = rte_ring_sc_dequeue_burst(h->ring, objs.data(), h->burst, nullptr);
        if (n == 0) {
            rte_pause();
            continue;
        }
        unsigned sent = 0;
        while (sent < n) {
            sent += rte_ring_sp_enqueue_burst(h->back, &objs[sent], n - sent, nullptr);
        }
    }
    return 0;
}

class worker_launch {
  public:
    worker_launch(lcore_function_t* fn, hop_state& h) : h_(h), lcore_(worker_lcore()) {
        if (lcore_ >= RTE_MAX_LCORE) {
            error_ = "needs a worker lcore (EAL -l with 2 lcores)";
            return;
        }
        if (rte_eal_remote_launch(fn, &h, lcore_) != 0) {
            error_ = "rte_eal_remote_launch failed";
            lcore_ = RTE_MAX_LCORE;
            return;
        }
        while (!h.running.load(std::memory_order_acquire)) {
            rte_pause();
        }
    }
    ~worker_launch() { stop(); }
    void stop() {
        if (lcore_ < RTE_MAX_LCORE) {
            h_.stop.store(true, std::memory_order_relaxed);
            rte_eal_wait_lcore(lcore_);
            lcore_ = RTE_MAX_LCORE;
        }
    }
    const char* error() const { return error_; }

  private:
    hop_state& h_;
    unsigned lcore_;
    const char* error_ = nullptr;
};

// Throughput of one hop: the consumer dequeues bursts the worker lcore keeps
// enqueuing. cyc_per_item is consumer wall time per item (the rate of the
// slower side); cons_busy / prod_busy count only calls that moved items.
void BM_ring_hop_cross_core(benchmark::State& state) {
    hop_state h;
    h.burst = static_cast<unsigned>(state.range(0));
    h.ring = make_ring("bm_ring_hop");
    if (h.ring == nullptr) {
        state.SkipWithError("rte_ring_create failed");
        return;
    }
    uint64_t items = 0;
    uint64_t busy = 0;
    {
        worker_launch w(pointer_producer, h);
        if (w.error() != nullptr) {
            state.SkipWithError(w.error());
            rte_ring_free(h.ring);
            return;
        }
        std::array<void*, max_n> out{};
        const tsc_timer t;
        for (auto _ : state) {
            unsigned n;
            uint64_t t0;
            do {
                t0 = rte_rdtsc();
                n = rte_ring_sc_dequeue_burst(h.ring, out.data(), h.burst, nullptr);
            } while (n == 0);
            busy += rte_rdtsc() - t0;
            benchmark::DoNotOptimize(out.data());
            items += n;
        }
        report_items(state, t.elapsed(), items);
        w.stop();
    }
    state.counters["cons_busy_cyc_per_item"] =
        items > 0 ? static_cast<double>(busy) / static_cast<double>(items) : 0.0;
    state.counters["prod_busy_cyc_per_item"] =
        h.items > 0 ? static_cast<double>(h.busy_cycles) / static_cast<double>(h.items) : 0.0;
    rte_ring_free(h.ring);
}
BENCHMARK(BM_ring_hop_cross_core)->Arg(32)->UseRealTime();

// Latency of one hop: a burst goes to the worker lcore and straight back.
void BM_ring_hop_ping_pong(benchmark::State& state) {
    hop_state h;
    h.burst = static_cast<unsigned>(state.range(0));
    h.ring = make_ring("bm_ring_ping");
    h.back = make_ring("bm_ring_pong");
    if (h.ring == nullptr || h.back == nullptr) {
        state.SkipWithError("rte_ring_create failed");
        rte_ring_free(h.ring);
        rte_ring_free(h.back);
        return;
    }
    {
        worker_launch w(echo_worker, h);
        if (w.error() != nullptr) {
            state.SkipWithError(w.error());
        } else {
            auto objs = fake_objs();
            std::array<void*, max_n> out{};
            uint64_t trips = 0;
            const tsc_timer t;
            for (auto _ : state) {
                unsigned sent = 0;
                while (sent < h.burst) {
                    sent += rte_ring_sp_enqueue_burst(h.ring, &objs[sent], h.burst - sent, nullptr);
                }
                unsigned got = 0;
                while (got < h.burst) {
                    got += rte_ring_sc_dequeue_burst(h.back, &out[got], h.burst - got, nullptr);
                }
                ++trips;
            }
            const uint64_t cycles = t.elapsed();
            state.counters["cyc_per_round_trip"] =
                static_cast<double>(cycles) / static_cast<double>(trips);
            state.counters["cyc_one_way"] =
                static_cast<double>(cycles) / static_cast<double>(2 * trips);
            w.stop();
        }
    }
    rte_ring_free(h.ring);
    rte_ring_free(h.back);
}
BENCHMARK(BM_ring_hop_ping_pong)->Arg(32)->UseRealTime();

// The packet path of a split pipeline without NIC: alloc + write header,
// ring, read header + free. same_core does all of it on one lcore;
// cross_core puts the producing half on the worker lcore.
void BM_mbuf_pipeline_same_core(benchmark::State& state) {
    const auto n = static_cast<unsigned>(state.range(0));
    rte_ring* r = make_ring("bm_mbuf_same");
    if (r == nullptr) {
        state.SkipWithError("rte_ring_create failed");
        return;
    }
    std::array<rte_mbuf*, max_n> m{};
    std::array<rte_mbuf*, max_n> out{};
    uint64_t items = 0;
    uint64_t ports = 0;
    const tsc_timer t;
    for (auto _ : state) {
        if (rte_pktmbuf_alloc_bulk(mbuf_pool(), m.data(), n) != 0) {
            state.SkipWithError("mbuf pool empty");
            break;
        }
        for (unsigned i = 0; i < n; ++i) {
            m[i]->port = 1;
            m[i]->data_len = 60;
            m[i]->pkt_len = 60;
        }
        rte_ring_sp_enqueue_burst(r, reinterpret_cast<void* const*>(m.data()), n, nullptr);
        const unsigned got =
            rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(out.data()), n, nullptr);
        for (unsigned i = 0; i < got; ++i) {
            ports += out[i]->port;
        }
        rte_pktmbuf_free_bulk(out.data(), got);
        items += got;
    }
    benchmark::DoNotOptimize(ports);
    report_items(state, t.elapsed(), items);
    rte_ring_free(r);
}
BENCHMARK(BM_mbuf_pipeline_same_core)->Arg(32);

void BM_mbuf_pipeline_cross_core(benchmark::State& state) {
    hop_state h;
    h.burst = static_cast<unsigned>(state.range(0));
    h.pool = mbuf_pool();
    h.ring = make_ring("bm_mbuf_hop");
    if (h.ring == nullptr) {
        state.SkipWithError("rte_ring_create failed");
        return;
    }
    uint64_t items = 0;
    uint64_t busy = 0;
    uint64_t ports = 0;
    {
        worker_launch w(mbuf_producer, h);
        if (w.error() != nullptr) {
            state.SkipWithError(w.error());
            rte_ring_free(h.ring);
            return;
        }
        std::array<rte_mbuf*, max_n> out{};
        const tsc_timer t;
        for (auto _ : state) {
            unsigned n;
            uint64_t t0;
            do {
                t0 = rte_rdtsc();
                n = rte_ring_sc_dequeue_burst(h.ring, reinterpret_cast<void**>(out.data()), h.burst,
                                              nullptr);
            } while (n == 0);
            for (unsigned i = 0; i < n; ++i) {
                ports += out[i]->port;
            }
            rte_pktmbuf_free_bulk(out.data(), n);
            busy += rte_rdtsc() - t0;
            items += n;
        }
        report_items(state, t.elapsed(), items);
        w.stop();
        // Drain what the producer left in the ring.
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst(h.ring, reinterpret_cast<void**>(out.data()), max_n,
                                              nullptr)) > 0) {
            rte_pktmbuf_free_bulk(out.data(), n);
        }
    }
    benchmark::DoNotOptimize(ports);
    state.counters["cons_busy_cyc_per_item"] =
        items > 0 ? static_cast<double>(busy) / static_cast<double>(items) : 0.0;
    state.counters["prod_busy_cyc_per_item"] =
        h.items > 0 ? static_cast<double>(h.busy_cycles) / static_cast<double>(h.items) : 0.0;
    rte_ring_free(h.ring);
}
BENCHMARK(BM_mbuf_pipeline_cross_core)->Arg(32)->UseRealTime();

}  // namespace
}  // namespace dpdk_app_bench
