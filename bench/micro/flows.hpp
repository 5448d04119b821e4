// Traffic of many IPv4 UDP flows for the table benchmarks (connection
// tracking, flow accounting): packets carrying only their packet_meta, the
// fill of a table from empty, and bursts of random known flows.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <rte_mbuf.h>

#include "common.hpp"
#include "packet/meta.hpp"

namespace dpdk_app_bench {

inline constexpr unsigned flow_burst = 32;

// Flow i: 10.x.y.z:sport -> 192.0.2.1:53, distinct for i < 2^24; a 46-byte
// IP datagram after a 14-byte Ethernet header.
inline void set_udp_flow(rte_mbuf* m, uint32_t i) {
    auto& pm = *dpdk_app::meta_of(m);
    pm.l3 = dpdk_app::l3_kind::ipv4;
    pm.l4_proto = 17;
    pm.flags = dpdk_app::meta_l4_valid;
    pm.l2_len = 14;
    pm.l3_total = 46;
    const uint32_t src = 0x0a000000u | (i >> 4);
    const uint8_t s[4] = {static_cast<uint8_t>(src >> 24), static_cast<uint8_t>(src >> 16),
                          static_cast<uint8_t>(src >> 8), static_cast<uint8_t>(src)};
    std::memcpy(pm.src_addr, s, 4);
    const uint8_t d[4] = {192, 0, 2, 1};
    std::memcpy(pm.dst_addr, d, 4);
    pm.src_port = static_cast<uint16_t>(1024 + (i & 15));
    pm.dst_port = 53;
}

// Runs flows 0..n-1 through fx.burst(flows, now), flow_burst at a time; the
// cycles it took.
template <class Fixture>
uint64_t fill_flows(Fixture& fx, uint32_t n, uint64_t now) {
    std::array<uint32_t, flow_burst> flows{};
    const tsc_timer t;
    for (uint32_t f = 0; f + flow_burst <= n; f += flow_burst) {
        for (unsigned i = 0; i < flow_burst; ++i) {
            flows[i] = f + i;
        }
        fx.burst(flows.data(), now);
    }
    return t.elapsed();
}

// The benchmark loop: bursts of random flows among n, reported as
// "cyc_per_pkt".
template <class Fixture>
void random_flow_bursts(benchmark::State& state, Fixture& fx, uint32_t n, uint64_t now) {
    std::mt19937 rng(3);
    std::vector<uint32_t> order(1u << 16);
    for (auto& f : order) {
        f = static_cast<uint32_t>(rng() % n);
    }
    uint64_t items = 0;
    std::size_t at = 0;
    const tsc_timer t;
    for (auto _ : state) {
        if (at + flow_burst > order.size()) {
            at = 0;
        }
        fx.burst(&order[at], now);
        at += flow_burst;
        items += flow_burst;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
}

}  // namespace dpdk_app_bench
