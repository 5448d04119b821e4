// Mempool costs on one lcore (through its per-lcore cache): raw bulk get/put
// and the pktmbuf alloc/free that RX and TX do per packet.
#include <array>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned max_n = 64;

void BM_mempool_get_put_bulk(benchmark::State& state) {
    const auto n = static_cast<unsigned>(state.range(0));
    std::array<void*, max_n> objs{};
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        if (rte_mempool_get_bulk(mbuf_pool(), objs.data(), n) != 0) {
            state.SkipWithError("mempool empty");
            break;
        }
        benchmark::DoNotOptimize(objs.data());
        rte_mempool_put_bulk(mbuf_pool(), objs.data(), n);
        items += n;
    }
    report_items(state, t.elapsed(), items);
}
BENCHMARK(BM_mempool_get_put_bulk)->Arg(1)->Arg(32);

void BM_pktmbuf_alloc_free_bulk(benchmark::State& state) {
    const auto n = static_cast<unsigned>(state.range(0));
    std::array<rte_mbuf*, max_n> m{};
    uint64_t items = 0;
    const tsc_timer t;
    for (auto _ : state) {
        if (rte_pktmbuf_alloc_bulk(mbuf_pool(), m.data(), n) != 0) {
            state.SkipWithError("mbuf pool empty");
            break;
        }
        benchmark::DoNotOptimize(m.data());
        rte_pktmbuf_free_bulk(m.data(), n);
        items += n;
    }
    report_items(state, t.elapsed(), items);
}
BENCHMARK(BM_pktmbuf_alloc_free_bulk)->Arg(1)->Arg(32);

}  // namespace
}  // namespace dpdk_app_bench
