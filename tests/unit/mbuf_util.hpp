// Test mbufs built from frame bytes (one segment or a chain) and read back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <rte_mbuf.h>

namespace dpdk_app::unit {

// An mbuf from pool holding frame, mbuf->port = port. segments: the bytes of
// each segment in turn, the rest in segments filled to their tailroom;
// empty: as few as fit. headroom >= 0: the first segment's headroom instead
// of the pool's default. nullptr (and a test failure) when it cannot be built.
inline rte_mbuf* make_mbuf(rte_mempool* pool, const std::vector<uint8_t>& frame, uint16_t port,
                           const std::vector<std::size_t>& segments = {}, int headroom = -1) {
    rte_mbuf* head = nullptr;
    std::size_t off = 0;
    std::size_t i = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) {
            ADD_FAILURE() << "mbuf pool empty";
            rte_pktmbuf_free(head);
            return nullptr;
        }
        if (head == nullptr && headroom >= 0) {
            m->data_off = static_cast<uint16_t>(headroom);
        }
        std::size_t n = i < segments.size() ? segments[i] : rte_pktmbuf_tailroom(m);
        n = std::min(n, frame.size() - off);
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        if (p == nullptr) {
            ADD_FAILURE() << "segment " << i << " of " << n << " bytes does not fit";
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        std::memcpy(p, frame.data() + off, n);
        if (head == nullptr) {
            head = m;
            head->port = port;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            ADD_FAILURE() << "too many segments";
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        off += n;
        ++i;
    } while (off < frame.size());
    return head;
}

// The frame of m, linearised. chain_ok (when given): whether its segment
// lengths add up to pkt_len and nb_segs counts its segments.
inline std::vector<uint8_t> frame_of(const rte_mbuf* m, bool* chain_ok = nullptr) {
    std::vector<uint8_t> out;
    uint16_t segs = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
        out.insert(out.end(), p, p + s->data_len);
        ++segs;
    }
    if (chain_ok != nullptr) {
        *chain_ok = out.size() == m->pkt_len && segs == m->nb_segs;
    }
    return out;
}

}  // namespace dpdk_app::unit
