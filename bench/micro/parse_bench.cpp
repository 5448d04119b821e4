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
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"

namespace dpdk_app_bench {
namespace {

constexpr unsigned burst_size = 32;

enum class frame_kind { ipv4_udp, ipv4_tcp, ipv6_udp, vlan_ipv4_udp };

rte_mempool* parse_pool() {
    static rte_mempool* pool = dpdk_app::create_mbuf_pool(
        "bench_parse", 1023, 0, dpdk_app::packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE,
        static_cast<int>(rte_socket_id()));
    return pool;
}

// A 64-byte frame (60 of them captured, as on the wire without the FCS) of
// the given kind, with a valid IPv4 header checksum; i varies addresses and
// ports.
std::vector<uint8_t> make_frame(frame_kind kind, unsigned i) {
    std::vector<uint8_t> f(kind == frame_kind::ipv6_udp ? 14 + 40 + 8 + 18 : 60, 0);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    eth->dst_addr = {{2, 0, 0, 0, 0, 1}};
    eth->src_addr = {{2, 0, 0, 0, 0, 2}};
    std::size_t l3 = sizeof *eth;
    if (kind == frame_kind::vlan_ipv4_udp) {
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
        auto* tag = reinterpret_cast<rte_vlan_hdr*>(f.data() + l3);
        tag->vlan_tci = rte_cpu_to_be_16(100);
        tag->eth_proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        l3 += sizeof *tag;
    } else {
        eth->ether_type = rte_cpu_to_be_16(kind == frame_kind::ipv6_udp ? RTE_ETHER_TYPE_IPV6
                                                                         : RTE_ETHER_TYPE_IPV4);
    }
    const bool tcp = kind == frame_kind::ipv4_tcp;
    if (kind == frame_kind::ipv6_udp) {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f.data() + l3);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(8 + 18);
        ip->proto = IPPROTO_UDP;
        ip->hop_limits = 64;
        ip->src_addr[0] = 0x20;
        ip->src_addr[1] = 0x01;
        ip->src_addr[15] = static_cast<uint8_t>(i);
        ip->dst_addr[0] = 0x20;
        ip->dst_addr[1] = 0x01;
        ip->dst_addr[15] = 1;
        auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
        udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + i));
        udp->dst_port = rte_cpu_to_be_16(53);
        udp->dgram_len = rte_cpu_to_be_16(8 + 18);
        return f;
    }
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + l3);
    const uint16_t total = static_cast<uint16_t>(f.size() - l3);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->time_to_live = 64;
    ip->next_proto_id = tcp ? IPPROTO_TCP : IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, i % 250 + 2));
    ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(203, 0, 113, i % 250 + 2));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    uint8_t* l4 = f.data() + l3 + sizeof *ip;
    const uint16_t sport = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + i));
    const uint16_t dport = rte_cpu_to_be_16(80);
    std::memcpy(l4, &sport, 2);
    std::memcpy(l4 + 2, &dport, 2);
    if (tcp) {
        l4[12] = 5 << 4;  // data offset
        l4[13] = 0x10;    // ACK
    } else {
        const uint16_t len = rte_cpu_to_be_16(static_cast<uint16_t>(total - sizeof *ip));
        std::memcpy(l4 + 4, &len, 2);
    }
    return f;
}

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
