// A burst of 60-byte frames in mbufs with the packet_meta private area, for
// benchmarks of stages that rewrite their packets in place: every iteration
// writes the frames back first (restore), 8 bytes at a time, as a PMD's copy
// leaves them; a *_restore_only benchmark measures that alone, to subtract.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "io/port.hpp"
#include "packet/meta.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app_bench {

inline constexpr unsigned frame_len = 64;  // 60 bytes of frame, copied as 8 words
using bench_frame = std::array<uint8_t, frame_len>;

// The pool of frame_burst: packed mbufs with the packet_meta private area.
inline rte_mempool* meta_mbuf_pool() {
    static rte_mempool* pool = dpdk_app::create_mbuf_pool(
        "bench_meta", 1023, 0, dpdk_app::packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE,
        static_cast<int>(rte_socket_id()));
    return pool;
}

struct frame_burst {
    std::vector<bench_frame> frames;
    std::array<rte_mbuf*, dpdk_app::max_burst> pkts{};
    unsigned n = 0;
    bool ok = false;  // the mbufs were allocated and hold the frames

    explicit frame_burst(std::vector<bench_frame> f)
        : frames(std::move(f)), n(static_cast<unsigned>(frames.size())) {
        rte_mempool* pool = meta_mbuf_pool();
        if (n > dpdk_app::max_burst || pool == nullptr ||
            rte_pktmbuf_alloc_bulk(pool, pkts.data(), n) != 0) {
            return;
        }
        for (unsigned i = 0; i < n; ++i) {
            std::memcpy(rte_pktmbuf_mtod(pkts[i], void*), frames[i].data(), frame_len);
            pkts[i]->data_len = 60;
            pkts[i]->pkt_len = 60;
            pkts[i]->port = 0;
        }
        ok = true;
    }
    ~frame_burst() {
        if (ok) {
            rte_pktmbuf_free_bulk(pkts.data(), n);
        }
    }
    frame_burst(const frame_burst&) = delete;
    frame_burst& operator=(const frame_burst&) = delete;

    // Writes the frames back into the mbufs, 8 bytes at a time, arrived on
    // port 0, and makes them b's packets.
    void restore(dpdk_app::burst& b) const noexcept {
        for (unsigned i = 0; i < n; ++i) {
            auto* dst = rte_pktmbuf_mtod(pkts[i], uint64_t*);
            const auto* src = reinterpret_cast<const uint64_t*>(frames[i].data());
            for (unsigned w = 0; w < frame_len / 8; ++w) {
                dst[w] = src[w];
                benchmark::ClobberMemory();  // 8-byte stores, no vector copy
            }
            pkts[i]->port = 0;
            b.pkts[i] = pkts[i];
        }
        b.count = static_cast<uint16_t>(n);
    }
};

}  // namespace dpdk_app_bench
