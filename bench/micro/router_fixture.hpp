// The router replay's traffic and tables for the router benchmarks
// (route_bench.cpp, segment_bench.cpp): 60-byte IPv4/UDP frames alternating
// between two routes, and a router whose two routes go via resolved
// gateways on ports 0 and 1.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "config/config.hpp"
#include "frame_burst.hpp"
#include "pipeline/generation.hpp"
#include "route/fib.hpp"
#include "config/ip.hpp"
#include "route/neighbor.hpp"

namespace dpdk_app_bench {

// 192.0.2.10 -> 198.18.(i % 2).i UDP 1024 -> 1024, 18 bytes of payload, TTL
// 64: what router_replay.sh sends.
inline bench_frame udp_frame(unsigned i) {
    bench_frame f{};
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    eth->dst_addr = {{2, 0, 0, 0, 0, 1}};
    eth->src_addr = {{2, 0, 0, 0, 0, 2}};
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(46);
    ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(i));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 10));
    ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, i % 2, i & 0xff));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(1024);
    udp->dst_port = rte_cpu_to_be_16(1024);
    udp->dgram_len = rte_cpu_to_be_16(26);
    std::memset(udp + 1, 'r', 18);
    return f;
}

inline std::vector<bench_frame> udp_frames(unsigned count) {
    std::vector<bench_frame> f;
    for (unsigned i = 0; i < count; ++i) {
        f.push_back(udp_frame(i));
    }
    return f;
}

// The replay's router: 198.18.0.0/24 via a neighbour on port 0,
// 198.18.1.0/24 via one on port 1, with their static neighbours.
struct router_tables {
    std::unique_ptr<dpdk_app::neighbor_table> neighbors;
    std::unique_ptr<dpdk_app::generation_store> store;  // one generation holding the fib
    std::string error;

    router_tables() {
        using namespace dpdk_app;
        neighbors = neighbor_table::create(64, "bench_route", error);
        if (!neighbors) {
            return;
        }
        auto prefix = [](const char* text, bool host_bits) {
            std::string why;
            return parse_ip_prefix(text, host_bits, why).value_or(ip_prefix{});
        };
        auto address = [](const char* text) {
            return parse_ip_address(text).value_or(ip_address{});
        };
        router_config c;
        interface_config a;
        a.port = "p0";
        a.addresses = {prefix("192.0.2.1/24", true)};
        interface_config b;
        b.port = "p1";
        b.addresses = {prefix("198.51.100.1/24", true)};
        c.interfaces = {a, b};
        c.routes.push_back({prefix("198.18.0.0/24", false), address("192.0.2.2"), "", "b:1"});
        c.routes.push_back({prefix("198.18.1.0/24", false), address("198.51.100.2"), "", "b:2"});
        for (const char* gw : {"192.0.2.2", "198.51.100.2"}) {
            neighbor_config n;
            n.address = address(gw);
            n.mac = {2, 0, 0, 0, 0x0a, 2};
            c.neighbors.push_back(n);
        }
        std::vector<config_error> errors;
        const resolved_router r = resolve_router(c, "bench", errors);
        if (!errors.empty()) {
            error = errors.front().to_string();
            return;
        }
        fib_port p0;
        p0.id = 0;
        p0.mac = {{2, 0, 0, 0, 0, 1}};
        fib_port p1;
        p1.id = 1;
        p1.mac = {{2, 0, 0, 0, 1, 1}};
        auto f = fib::build(r, {{"p0", p0}, {"p1", p1}}, 1, *neighbors, true, error);
        if (!f) {
            return;
        }
        auto g = std::make_unique<generation>(1);
        g->add(std::move(f));
        store = std::make_unique<generation_store>(nullptr);
        store->publish(std::move(g), 0);
    }
};

}  // namespace dpdk_app_bench
