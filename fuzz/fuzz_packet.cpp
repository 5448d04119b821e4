// The packet path: the bytes of an input as a received frame (one mbuf, or
// the same bytes over a chain of segments, see harness.hpp) through the
// whole chain of one of four configurations, in-process, on one lcore:
//   0 a router, 1 a bridge of two ports, both with IPv4 and IPv6 addresses;
//   2 the router behind a stateful firewall with policers;
//   3 a one-armed bridge behind a stateless firewall with policers;
// each fused (the default) or with its stages apart. After every input:
//  - the ledger holds (harness.cpp: every packet forwarded, dropped with a
//    reason, consumed or punted; every generated one sent or dropped; each
//    stage got what the one before it passed on) and both pools are full;
//  - every packet sent is a consistent mbuf chain; one forwarded is the
//    frame received but for what its stages may change (the router: MACs,
//    TTL, IPv4 checksum, padding; a policer: the DSCP), and still a valid
//    frame (the TTL and checksum rewrite, the remark).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "frames.hpp"
#include "harness.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"

namespace dpdk_app::fuzz {
namespace {

constexpr unsigned chain_kinds = 4;

std::unique_ptr<fuzz_chain> chains[chain_kinds];

std::string config_of(unsigned kind) {
    switch (kind) {
        case 0:
            return topology_toml(topology::router);
        case 1:
            return topology_toml(topology::bridge_pair);
        case 2:
            return topology_toml(topology::router, "edge") + firewall_toml(true);
        default:
            return topology_toml(topology::bridge_one_armed, "edge") + firewall_toml(false);
    }
}

uint16_t be16(const std::vector<uint8_t>& b, std::size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

// What a forwarding stage may change in a frame: the router rewrites the
// MACs, the TTL / hop limit and the IPv4 checksum and trims the Ethernet
// padding; a policer's remark rewrites the DSCP (and the checksum). Aborts
// when out differs from in anywhere else.
void check_forwarded(const packet_input& in, const std::vector<uint8_t>& out, uint16_t egress) {
    const std::vector<uint8_t> frame(in.frame.begin(), in.frame.end());
    const bool router = in.chain == 0 || in.chain == 2;
    const bool policed = in.chain >= 2;
    const l3_view v = find_l3(frame);
    std::vector<bool> may_change(frame.size(), false);
    std::size_t length = frame.size();
    if (router) {
        if (v.l2_len != 14 || std::memcmp(out.data() + 6, interface_mac[egress].data(), 6) != 0) {
            fail("a routed frame is not from its egress port's MAC\n  in:  " + hex(frame) +
                 "\n  out: " + hex(out));
        }
        std::fill_n(may_change.begin(), 12, true);
        length = v.l2_len +
                 (v.version == 4 ? be16(frame, v.l2_len + 2) : 40u + be16(frame, v.l2_len + 4));
        const std::size_t ttl = v.l2_len + (v.version == 4 ? 8 : 7);
        if (out.size() > ttl && out[ttl] + 1 != frame[ttl]) {
            fail("a routed packet's TTL went from " + std::to_string(frame[ttl]) + " to " +
                 std::to_string(out[ttl]) + "\n  in:  " + hex(frame) + "\n  out: " + hex(out));
        }
        may_change[ttl] = true;
    }
    if (v.version == 4 && (router || policed)) {
        may_change[v.l2_len + 10] = may_change[v.l2_len + 11] = true;  // header checksum
    }
    if (policed && v.version != 0) {
        may_change[v.l2_len + (v.version == 4 ? 1 : 0)] = true;  // DSCP (IPv6: it straddles
        may_change[v.l2_len + 1] = true;                         // bytes 0 and 1)
    }
    bool same = out.size() == length;
    for (std::size_t k = 0; same && k < length; ++k) {
        same = may_change[k] || out[k] == frame[k];
    }
    if (!same) {
        fail("a forwarded frame changed where it may not\n  in:  " + hex(frame) +
             "\n  out: " + hex(out));
    }
}

void check_sent(const packet_input& in, const chain_output& out) {
    for (std::size_t k = 0; k < out.sent.size(); ++k) {
        rte_mbuf* m = out.sent[k];
        check_mbuf_chain(m, "a packet sent");
        if (out.generated[k]) {
            continue;  // fuzz_respond checks what the responder builds
        }
        check_forwarded(in, frame_bytes(m), m->port);
        // A NIC that says the IP header is good (GOOD, or NONE: verified,
        // the checksum field left as it was) is believed: a wrong checksum
        // is then forwarded as it came.
        if (in.cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
            in.cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_NONE) {
            continue;
        }
        m->ol_flags &= ~RTE_MBUF_F_RX_IP_CKSUM_MASK;
        packet_meta meta;
        if (const auto defect = parse_packet(m, meta)) {
            fail("a forwarded frame no longer parses: defect " +
                 std::to_string(static_cast<unsigned>(*defect)) +
                 "\n  frame: " + hex(frame_bytes(m)));
        }
    }
}

}  // namespace
}  // namespace dpdk_app::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    using namespace dpdk_app::fuzz;
    start_eal();
    for (unsigned kind = 0; kind < chain_kinds; ++kind) {
        chains[kind] =
            fuzz_chain::create("fuzz_packet_" + std::to_string(kind) + ".toml", config_of(kind));
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace dpdk_app::fuzz;
    const packet_input in = decode_input(data, size);
    fuzz_chain& chain = *chains[in.chain];
    const std::vector<rte_mbuf*> pkts = input_mbufs(in, packet_pool());
    chain_output out = chain.run(pkts, in.in_port, in.apart, true);
    check_sent(in, out);
    free_all(out.sent);
    free_all(out.held);
    chain.check_ledger("fuzz_packet");
    return 0;
}
