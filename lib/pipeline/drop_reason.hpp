// Every packet the dataplane drops is counted under one of these names.
// The one table below is the source of every place drop reasons appear:
// the stats file, telemetry and (later) /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace dpdk_app {

// X(identifier, "description shown to operators")
#define DPDK_APP_DROP_REASONS(X)                                          \
    X(ring_full, "inter-lcore ring full (pipeline.ring_full = \"drop\")") \
    X(tx_full, "TX queue still full after pipeline.tx_retries attempts")  \
    X(no_egress_port, "no egress port for this packet (port without a peer)")

enum class drop_reason : uint8_t {
#define DPDK_APP_X(id, text) id,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::size_t drop_reason_count = 0
#define DPDK_APP_X(id, text) +1
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
    ;

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_names = {
#define DPDK_APP_X(id, text) #id,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_texts = {
#define DPDK_APP_X(id, text) text,
    DPDK_APP_DROP_REASONS(DPDK_APP_X)
#undef DPDK_APP_X
};

constexpr std::string_view name_of(drop_reason r) noexcept {
    return drop_reason_names[static_cast<std::size_t>(r)];
}

}  // namespace dpdk_app
