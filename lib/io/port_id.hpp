// Port ids as the dataplane uses them.
#pragma once

#include <cstdint>

namespace dpdk_app {

inline constexpr uint16_t max_ports = 32;        // ports the per-port tables hold
inline constexpr uint16_t no_port = UINT16_MAX;  // no port (yet): egress undecided, no peer

}  // namespace dpdk_app
