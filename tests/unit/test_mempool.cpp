// mbufs_needed(): the documented formula, rounded up to the smallest 2^n - 1.
#include <cstdint>

#include <gtest/gtest.h>

#include "io/port.hpp"

namespace dpdk_app {
namespace {

// The documented formula, exactly (1.5 * cache_size kept as a fraction:
// returns twice the value so that it stays an integer).
uint64_t twice_formula(const mempool_sizing& s) {
    return 2 * (static_cast<uint64_t>(s.lanes) *
                    (static_cast<uint64_t>(s.rx_desc_total) + s.tx_desc_total) +
                static_cast<uint64_t>(s.rings) * s.ring_size + 1024) +
           static_cast<uint64_t>(s.lcores) *
               (3 * static_cast<uint64_t>(s.cache_size) + 8 * static_cast<uint64_t>(s.burst_size));
}

bool is_pow2_minus_1(uint64_t v) {
    return ((v + 1) & v) == 0;
}

void expect_smallest_pow2_minus_1_covering_formula(const mempool_sizing& s) {
    const uint64_t got = mbufs_needed(s);
    const uint64_t twice = twice_formula(s);
    EXPECT_TRUE(is_pow2_minus_1(got)) << got;
    EXPECT_GE(2 * got, twice) << "result below the documented formula";
    // The next smaller 2^n - 1 would not be enough.
    const uint64_t smaller = (got + 1) / 2 - 1;
    EXPECT_LT(2 * smaller, twice) << "not the smallest 2^n - 1: " << got;
}

TEST(mbufs_needed, two_ports_one_lane_no_ring) {
    mempool_sizing s;
    s.ports = 2;
    s.lanes = 1;
    s.rx_desc_total = 2048;
    s.tx_desc_total = 2048;
    s.rings = 0;
    s.ring_size = 1024;
    s.lcores = 1;
    s.cache_size = 256;
    s.burst_size = 32;
    // 4096 + 0 + 1 * (384 + 128) + 1024 = 5632 -> 8191
    EXPECT_EQ(mbufs_needed(s), 8191u);
}

TEST(mbufs_needed, two_lanes_with_rings) {
    mempool_sizing s;
    s.ports = 2;
    s.lanes = 2;
    s.rx_desc_total = 2048;
    s.tx_desc_total = 2048;
    s.rings = 4;
    s.ring_size = 1024;
    s.lcores = 7;
    s.cache_size = 256;
    s.burst_size = 32;
    // 2 * 4096 + 4 * 1024 + 7 * 512 + 1024 = 16896 -> 32767
    EXPECT_EQ(mbufs_needed(s), 32767u);
}

TEST(mbufs_needed, exact_power_of_two_minus_one_is_kept) {
    mempool_sizing s;
    s.lanes = 1;
    s.rx_desc_total = 512;
    s.tx_desc_total = 511;
    s.rings = 0;
    s.lcores = 1;
    s.cache_size = 0;
    s.burst_size = 0;
    // 1023 + 1024 = 2047 exactly
    EXPECT_EQ(mbufs_needed(s), 2047u);
    s.tx_desc_total = 512;  // 2048: one more needs the next size
    EXPECT_EQ(mbufs_needed(s), 4095u);
}

TEST(mbufs_needed, nothing_but_the_reserve) {
    mempool_sizing s;
    s.lanes = 1;
    s.lcores = 0;
    s.cache_size = 0;
    s.burst_size = 0;
    // 1024 -> 2047
    EXPECT_EQ(mbufs_needed(s), 2047u);
}

TEST(mbufs_needed, defaults_of_the_struct) {
    const mempool_sizing s;
    // 1 * (0 + 0) + 0 + 1 * (384 + 128) + 1024 = 1536 -> 2047
    EXPECT_EQ(mbufs_needed(s), 2047u);
}

TEST(mbufs_needed, large_setup) {
    mempool_sizing s;
    s.ports = 4;
    s.lanes = 8;
    s.rx_desc_total = 4 * 4096;
    s.tx_desc_total = 4 * 4096;
    s.rings = 16;
    s.ring_size = 4096;
    s.lcores = 17;
    s.cache_size = 512;
    s.burst_size = 64;
    // 8 * 32768 + 16 * 4096 + 17 * (768 + 256) + 1024 = 262144 + 65536 + 17408 + 1024
    //   = 346112 -> 524287
    EXPECT_EQ(mbufs_needed(s), 524287u);
}

TEST(mbufs_needed, is_the_smallest_pow2_minus_1_at_least_the_formula) {
    // A sweep over plausible inputs (even cache sizes: see the odd case below).
    for (uint32_t lanes : {1u, 2u, 3u, 8u}) {
        for (uint32_t ports : {1u, 2u, 4u}) {
            for (uint32_t desc : {32u, 512u, 1024u, 4096u}) {
                for (uint32_t rings_per_lane : {0u, 1u, 2u}) {
                    for (uint32_t cache : {0u, 64u, 256u, 512u}) {
                        for (uint32_t burst : {1u, 32u, 64u}) {
                            mempool_sizing s;
                            s.ports = ports;
                            s.lanes = lanes;
                            s.rx_desc_total = ports * desc;
                            s.tx_desc_total = ports * desc;
                            s.rings = rings_per_lane * lanes;
                            s.ring_size = 1024;
                            s.lcores = lanes * (rings_per_lane + 1) + 1;
                            s.cache_size = cache;
                            s.burst_size = burst;
                            SCOPED_TRACE(::testing::Message()
                                         << "lanes=" << lanes << " ports=" << ports
                                         << " desc=" << desc << " rings=" << s.rings
                                         << " cache=" << cache << " burst=" << burst);
                            expect_smallest_pow2_minus_1_covering_formula(s);
                        }
                    }
                }
            }
        }
    }
}

TEST(mbufs_needed, odd_cache_size_is_still_covered) {
    // Known lib bug (minor): lib/io/port.cpp mbufs_needed() computes `s.cache_size * 3 / 2`
    // in integers, i.e. floor(1.5 * cache_size) per lcore, while port.hpp documents
    // lcores * (1.5 * cache_size + ...). With an odd cache_size and a total that lands on a
    // 2^n boundary the result is one size class short of the documented formula.
    mempool_sizing s;
    s.lanes = 1;
    s.rx_desc_total = 259;
    s.tx_desc_total = 0;
    s.rings = 0;
    s.lcores = 2;
    s.cache_size = 255;
    s.burst_size = 0;
    // Documented: 259 + 2 * 382.5 + 1024 = 2048 -> needs 4095.
    ASSERT_EQ(twice_formula(s), 2u * 2048u);
    EXPECT_EQ(mbufs_needed(s), 4095u);
}

}  // namespace
}  // namespace dpdk_app
