#include "respond/slow_path.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>

namespace dpdk_app {

std::unique_ptr<slow_path> slow_path::create(unsigned lanes, uint32_t neighbor_max,
                                             std::string& error) {
    static unsigned instance = 0;
    ++instance;
    const std::string base = "dsp" + std::to_string(instance);
    std::unique_ptr<slow_path> s(new slow_path());
    s->counters_ = std::make_unique<segment_counters>();
    s->neighbors_ = neighbor_table::create(neighbor_max, base, error);
    if (!s->neighbors_) {
        return nullptr;
    }
    auto make = [&](const std::string& what, unsigned lane, uint32_t size,
                    uint32_t esize) -> rte_ring* {
        const std::string name = base + what + std::to_string(lane);
        rte_ring* r = esize == 0
                          ? rte_ring_create(name.c_str(), size, SOCKET_ID_ANY,
                                            RING_F_SP_ENQ | RING_F_SC_DEQ)
                          : rte_ring_create_elem(name.c_str(), esize, size, SOCKET_ID_ANY,
                                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (r == nullptr) {
            error = "cannot create ring " + name + ": " + rte_strerror(rte_errno);
        }
        return r;
    };
    for (unsigned lane = 0; lane < lanes; ++lane) {
        s->punt_.push_back(make("p", lane, punt_ring_size, 0));
        s->learn_.push_back(make("l", lane, learn_ring_size, sizeof(learn_message)));
        s->inject_.push_back(make("i", lane, inject_ring_size, 0));
        if (s->punt_.back() == nullptr || s->learn_.back() == nullptr ||
            s->inject_.back() == nullptr) {
            return nullptr;
        }
    }
    return s;
}

slow_path::~slow_path() {
    // Packets still queued go back to their pool (the owner drained them at
    // shutdown; this only runs on an error path).
    for (auto* rings : {&punt_, &inject_}) {
        for (rte_ring* r : *rings) {
            void* m = nullptr;
            while (r != nullptr && rte_ring_sc_dequeue(r, &m) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
            }
            rte_ring_free(r);
        }
    }
    for (rte_ring* r : learn_) {
        rte_ring_free(r);
    }
}

uint64_t slow_path::queued() const noexcept {
    uint64_t n = 0;
    for (rte_ring* r : punt_) {
        n += rte_ring_count(r);
    }
    for (rte_ring* r : inject_) {
        n += rte_ring_count(r);
    }
    return n;
}

}  // namespace dpdk_app
