// parse + validate on a burst of 32 frames already in mbufs (the data is hot,
// as after RX): parse_packet, which takes its fast path for untagged IPv4
// without options, against parse_packet_generic on the same frames, and the
// kinds of frame that always take the generic path (IPv6, a VLAN tag).
// parse reads the frames and writes only the metadata, so the burst is
// parsed again and again as it is.
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "common.hpp"
#include "frames.hpp"
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned burst_size = 32;

using parse_fn = std::optional<dpdk_app::packet_defect> (*)(const rte_mbuf*,
                                                          dpdk_app::packet_meta&) noexcept;

void run_parse(benchmark::State& state, frame_kind kind, parse_fn parse) {
    std::array<rte_mbuf*, burst_size> pkts{};
    rte_mempool* pool = parse_pool();
    if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, pkts.data(), burst_size) != 0) {
        state.SkipWithError("no mbufs");
        return;
    }
    for (unsigned i = 0; i < burst_size; ++i) {
        const std::vector<uint8_t> f = make_frame(kind, i);
        std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(f.size())), f.data(),
                    f.size());
        pkts[i]->port = 0;
        if (parse(pkts[i], *dpdk_app::meta_of(pkts[i]))) {
            state.SkipWithError("the parser rejects the benchmark's frame");
            rte_pktmbuf_free_bulk(pkts.data(), burst_size);
            return;
        }
    }
    uint64_t items = 0;
    unsigned rejected = 0;
    const tsc_timer t;
    for (auto _ : state) {
        for (rte_mbuf* m : pkts) {
            rejected += parse(m, *dpdk_app::meta_of(m)).has_value() ? 1 : 0;
        }
        benchmark::ClobberMemory();
        items += burst_size;
    }
    report_items(state, t.elapsed(), items, "cyc_per_pkt");
    benchmark::DoNotOptimize(rejected);
    rte_pktmbuf_free_bulk(pkts.data(), burst_size);
}

void BM_parse_ipv4_udp(benchmark::State& state) {
    run_parse(state, frame_kind::ipv4_udp, dpdk_app::parse_packet);
}
BENCHMARK(BM_parse_ipv4_udp);

void BM_parse_ipv4_tcp(benchmark::State& state) {
    run_parse(state, frame_kind::ipv4_tcp, dpdk_app::parse_packet);
}
BENCHMARK(BM_parse_ipv4_tcp);

void BM_parse_generic_ipv4_udp(benchmark::State& state) {
    run_parse(state, frame_kind::ipv4_udp, dpdk_app::parse_packet_generic);
}
BENCHMARK(BM_parse_generic_ipv4_udp);

void BM_parse_ipv6_udp(benchmark::State& state) {
    run_parse(state, frame_kind::ipv6_udp, dpdk_app::parse_packet);
}
BENCHMARK(BM_parse_ipv6_udp);

void BM_parse_vlan_ipv4_udp(benchmark::State& state) {
    run_parse(state, frame_kind::vlan_ipv4_udp, dpdk_app::parse_packet);
}
BENCHMARK(BM_parse_vlan_ipv4_udp);

}  // namespace
}  // namespace dpdk_app_bench
