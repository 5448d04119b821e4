// Byte-order swaps for the packet paths. DPDK's rte_be_to_cpu_16/32 on x86
// swap a non-constant with `asm volatile` (xchg / bswap), which the compiler
// may neither drop when the result is unused nor move: an inlined check that
// never reads a field still pays its load and swap. These are the compiler's
// builtins (rol / bswap / movbe, dropped when dead, folded on constants).
#pragma once

#include <cstdint>

namespace dpdk_app {

// Network <-> host order (the same swap both ways on a little-endian host).
constexpr uint16_t swap_be16(uint16_t v) noexcept {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap16(v);
#else
    return v;
#endif
}

constexpr uint32_t swap_be32(uint32_t v) noexcept {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

}  // namespace dpdk_app
