// Packets the appliance creates (replies, ICMP errors, ARP / NDP requests)
// carry a dynamic mbuf flag so that TX and drop accounting tell them apart
// from received packets: rx = forwarded + dropped + consumed + in_flight
// holds for received packets, generated = generated_sent + generated_dropped
// for the others.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

namespace dpdk_app {

namespace detail {
inline uint64_t generated_flag_mask = 0;
}

// Registers the flag (idempotent; needs EAL). Returns false on failure.
inline bool register_generated_flag() noexcept {
    if (detail::generated_flag_mask != 0) {
        return true;
    }
    static const rte_mbuf_dynflag desc = {"dpdk_app_generated", 0};
    const int bit = rte_mbuf_dynflag_register(&desc);
    if (bit < 0) {
        return false;
    }
    detail::generated_flag_mask = 1ull << bit;
    return true;
}

inline uint64_t generated_flag() noexcept {
    return detail::generated_flag_mask;
}

inline bool is_generated(const rte_mbuf* m) noexcept {
    return (m->ol_flags & detail::generated_flag_mask) != 0;
}

inline void mark_generated(rte_mbuf* m) noexcept {
    m->ol_flags |= detail::generated_flag_mask;
}

}  // namespace dpdk_app
