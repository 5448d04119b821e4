// The neighbour table (ARP / NDP cache) shared by every lane and kept across
// configuration generations. One writer, the control thread; readers are the
// route stages on the worker lcores, lock-free:
//  - address -> slot: rte_hash with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
//  - slot -> (MAC, port, state): one 64-bit word stored and loaded atomically,
//    so a reader never sees half an update.
// Entries are never deleted (slots are bounded by responder.neighbor_max):
// an entry that stops answering goes back to incomplete / failed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_hash.h>

#include "config/ip.hpp"

namespace dpdk_app {

enum class neighbor_state : uint8_t {
    incomplete = 0,  // being resolved: packets are held
    reachable,       // answered recently
    stale,           // older than neighbor_timeout_s: still used while re-checked
    permanent,       // static [[neighbor]] from the configuration
    failed,          // did not answer: packets are dropped (neighbor_unresolved)
};

// Whether packets may be sent to a neighbour in state s.
inline bool usable_state(neighbor_state s) noexcept {
    return s == neighbor_state::reachable || s == neighbor_state::stale ||
           s == neighbor_state::permanent;
}

struct neighbor_view {
    rte_ether_addr mac{};
    uint16_t port = 0;
    neighbor_state state = neighbor_state::incomplete;
    bool usable() const noexcept { return usable_state(state); }
};

class neighbor_table {
  public:
    // capacity: most entries (IPv4 and IPv6 each). name prefixes the hash names.
    static std::unique_ptr<neighbor_table> create(uint32_t capacity, const std::string& name,
                                                  std::string& error);
    ~neighbor_table();
    neighbor_table(const neighbor_table&) = delete;
    neighbor_table& operator=(const neighbor_table&) = delete;

    // ---- readers (any lcore) ----
    // Keys: IPv4 address (4 bytes, network order) / IPv6 (16 bytes); data:
    // the slot index.
    rte_hash* hash4() const noexcept { return h4_; }
    rte_hash* hash6() const noexcept { return h6_; }
    static uint64_t pack(const rte_ether_addr& mac, uint16_t port, neighbor_state s) noexcept {
        uint64_t w = 0;
        __builtin_memcpy(&w, mac.addr_bytes, 6);
        return w | uint64_t{static_cast<uint8_t>(port)} << 48 |
               uint64_t{static_cast<uint8_t>(s)} << 56;
    }
    static neighbor_view unpack(uint64_t w) noexcept {
        neighbor_view v;
        __builtin_memcpy(v.mac.addr_bytes, &w, 6);
        v.port = static_cast<uint16_t>((w >> 48) & 0xff);
        v.state = static_cast<neighbor_state>(w >> 56);
        return v;
    }
    // usable() of a packed entry, without unpacking it.
    static bool usable(uint64_t w) noexcept {
        return usable_state(static_cast<neighbor_state>(w >> 56));
    }
    uint64_t load(uint32_t slot) const noexcept {
        return slots_[slot].load(std::memory_order_acquire);
    }
    // The packed entries, indexed by slot (load() without the member read).
    const std::atomic<uint64_t>* words() const noexcept { return slots_.get(); }

    // ---- the writer (control thread) ----
    int32_t find(const ip_address& a) const noexcept;
    // A new incomplete entry (or the existing one); -1 when the table is full.
    int32_t insert(const ip_address& a, uint16_t port) noexcept;
    void store(uint32_t slot, const rte_ether_addr& mac, uint16_t port,
               neighbor_state s) noexcept {
        slots_[slot].store(pack(mac, port, s), std::memory_order_release);
    }
    const ip_address& address(uint32_t slot) const noexcept { return addresses_[slot]; }
    uint32_t size() const noexcept { return static_cast<uint32_t>(addresses_.size()); }
    uint32_t capacity() const noexcept { return capacity_; }

  private:
    neighbor_table() = default;

    rte_hash* h4_ = nullptr;
    rte_hash* h6_ = nullptr;
    uint32_t capacity_ = 0;
    std::unique_ptr<std::atomic<uint64_t>[]> slots_;
    std::vector<ip_address> addresses_;
};

}  // namespace dpdk_app
