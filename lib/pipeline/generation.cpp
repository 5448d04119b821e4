#include "pipeline/generation.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace dpdk_app {

namespace {
std::atomic<uint64_t> g_alive{0};
}  // namespace

unsigned generation_detail::next_table_slot() noexcept {
    static std::atomic<unsigned> next{0};
    const unsigned slot = next.fetch_add(1);
    if (slot >= max_tables) {
        std::fputs("dpdk-app: more table types than generation_detail::max_tables\n", stderr);
        std::abort();
    }
    return slot;
}

generation::generation(uint64_t number) noexcept : number_(number) {
    g_alive.fetch_add(1, std::memory_order_relaxed);
}

generation::~generation() {
    for (unsigned slot = 0; slot < tables_.size(); ++slot) {
        release(slot);
    }
    g_alive.fetch_sub(1, std::memory_order_relaxed);
}

void generation::release(unsigned slot) noexcept {
    if (tables_[slot] != nullptr) {
        deleters_[slot](tables_[slot]);
        tables_[slot] = nullptr;
    }
}

uint64_t generation::alive() noexcept {
    return g_alive.load(std::memory_order_relaxed);
}

generation_store::~generation_store() = default;

std::unique_ptr<generation> generation_store::publish(std::unique_ptr<generation> next,
                                                     unsigned caller_thread) {
    current_.store(next.get(), std::memory_order_release);
    if (qsbr_ != nullptr && owned_) {
        rte_rcu_qsbr_synchronize(qsbr_, caller_thread);
    }
    std::swap(owned_, next);
    return next;
}

}  // namespace dpdk_app
