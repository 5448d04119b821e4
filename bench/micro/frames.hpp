// Benchmark frames (64 bytes on the wire, valid headers) and the pool with
// the packet_meta private area that the parse stage needs; shared by the
// parse and classify benchmarks.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "io/port.hpp"
#include "packet/meta.hpp"

namespace dpdk_app_bench {

enum class frame_kind { ipv4_udp, ipv4_tcp, ipv6_udp, vlan_ipv4_udp };

inline rte_mempool* parse_pool() {
    static rte_mempool* pool = dpdk_app::create_mbuf_pool(
        "bench_parse", 1023, 0, dpdk_app::packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE,
        static_cast<int>(rte_socket_id()));
    return pool;
}

// A 64-byte frame (60 of them captured, as on the wire without the FCS) of
// the given kind, with a valid IPv4 header checksum; i varies addresses and
// ports.
inline std::vector<uint8_t> make_frame(frame_kind kind, unsigned i) {
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

}  // namespace dpdk_app_bench
