#include "route/neighbor.hpp"

#include <cstring>

#include <rte_errno.h>
#include <rte_jhash.h>

namespace dpdk_app {

std::unique_ptr<neighbor_table> neighbor_table::create(uint32_t capacity, const std::string& name,
                                                       std::string& error) {
    std::unique_ptr<neighbor_table> t(new neighbor_table());
    t->capacity_ = capacity;
    t->slots_ = std::make_unique<std::atomic<uint64_t>[]>(2u * capacity);
    t->addresses_.reserve(2u * capacity);
    rte_hash_parameters hp{};
    const std::string n4 = name + "_nb4";
    const std::string n6 = name + "_nb6";
    // Room for every key even with unlucky bucket placement.
    hp.entries = std::max<uint32_t>(64, capacity + capacity / 4);
    hp.hash_func = rte_jhash;
    hp.socket_id = SOCKET_ID_ANY;
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    hp.name = n4.c_str();
    hp.key_len = 4;
    t->h4_ = rte_hash_create(&hp);
    hp.name = n6.c_str();
    hp.key_len = 16;
    t->h6_ = rte_hash_create(&hp);
    if (t->h4_ == nullptr || t->h6_ == nullptr) {
        error = std::string("cannot create the neighbour tables: ") + rte_strerror(rte_errno);
        return nullptr;
    }
    return t;
}

neighbor_table::~neighbor_table() {
    rte_hash_free(h4_);
    rte_hash_free(h6_);
}

int32_t neighbor_table::find(const ip_address& a) const noexcept {
    alignas(8) uint8_t key[16];  // rte_jhash reads 32-bit words
    std::memcpy(key, a.bytes.data(), 16);
    void* data = nullptr;
    if (rte_hash_lookup_data(a.v6 ? h6_ : h4_, key, &data) < 0) {
        return -1;
    }
    return static_cast<int32_t>(reinterpret_cast<uintptr_t>(data));
}

int32_t neighbor_table::insert(const ip_address& a, uint16_t port) noexcept {
    if (int32_t slot = find(a); slot >= 0) {
        return slot;
    }
    if (rte_hash_count(a.v6 ? h6_ : h4_) >= static_cast<int32_t>(capacity_)) {
        return -1;  // this family's share is full
    }
    const auto slot = static_cast<uint32_t>(addresses_.size());
    // The slot is written before the key is published: a reader that finds
    // the key sees an initialised (incomplete) entry.
    store(slot, rte_ether_addr{}, port, neighbor_state::incomplete);
    alignas(8) uint8_t key[16];
    std::memcpy(key, a.bytes.data(), 16);
    if (rte_hash_add_key_data(a.v6 ? h6_ : h4_, key,
                              reinterpret_cast<void*>(static_cast<uintptr_t>(slot))) != 0) {
        return -1;
    }
    addresses_.push_back(a);
    return static_cast<int32_t>(slot);
}

}  // namespace dpdk_app
