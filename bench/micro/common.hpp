// Shared helpers of the micro-benchmarks: the EAL state set up once in
// main.cpp and TSC-based per-item cycle counters.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

namespace dpdk_app_bench {

// The pktmbuf pool every benchmark draws from (created after EAL init):
// 8191 mbufs of RTE_MBUF_DEFAULT_BUF_SIZE, cache 256, packed back to back as
// in hugepage memory.
rte_mempool* mbuf_pool() noexcept;

// A small pool made by plain rte_pktmbuf_pool_create. Without hugepages
// (the default EAL arguments here, and the replay benchmark) every mbuf of
// such a pool starts on its own 4 KiB page.
rte_mempool* page_mbuf_pool() noexcept;

// First worker lcore EAL gave, or RTE_MAX_LCORE when there is none (the
// cross-core benchmarks then skip).
unsigned worker_lcore() noexcept;

// TSC cycles between construction and elapsed(); rte_rdtsc() is the same
// counter the pipeline uses for its per-stage cycles.
class tsc_timer {
  public:
    tsc_timer() noexcept : t0_(rte_rdtsc()) {}
    uint64_t elapsed() const noexcept { return rte_rdtsc() - t0_; }

  private:
    uint64_t t0_;
};

// Sets items/s (SetItemsProcessed) and "cyc_per_item" = cycles / items.
inline void report_items(benchmark::State& state, uint64_t cycles, uint64_t items,
                         const char* name = "cyc_per_item") {
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.counters[name] =
        items > 0 ? static_cast<double>(cycles) / static_cast<double>(items) : 0.0;
}

}  // namespace dpdk_app_bench
