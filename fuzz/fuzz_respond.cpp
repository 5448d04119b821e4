// The responder's frames: an input (harness.hpp's layout) through the chain
// of a router or of a one-armed bridge, both with addresses, a firewall with
// reject rules and error rate limits never reached, then the control
// thread's resolver once over what the router punted for an unresolved next
// hop. Every frame the appliance generated (ARP replies and requests, echo
// replies, NDP advertisements and solicitations, ICMP / ICMPv6 errors, TCP
// resets) must:
//  - parse back without a defect with our own parser (lib/packet/parse.hpp);
//  - carry correct checksums, recomputed here from the bytes (frames.cpp);
//  - be a consistent mbuf chain, its IP packet filling the frame (Ethernet
//    padding only up to the 60-byte minimum), not a fragment;
//  - come from the egress port's MAC; an ICMP / ICMPv6 / ARP frame from one
//    of the appliance's addresses; an error within 576 (IPv4) / 1280 (IPv6)
//    bytes; NDP with hop limit 255;
// and the ledger holds and both pools are full after every input.
//
// Control byte bits 0-1: bit 0 the bridge (else the router), bit 1 the
// frame's IP lengths and checksums fixed up first (fix_frame), so that
// mutations reach the responder instead of the parser's drops.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "frames.hpp"
#include "harness.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "respond/resolver.hpp"

namespace dpdk_app::fuzz {
namespace {

std::unique_ptr<fuzz_chain> chains[2];  // router, bridge

constexpr std::array<std::array<uint8_t, 4>, 2> our4 = {{{192, 0, 2, 1}, {198, 51, 100, 1}}};
constexpr std::array<std::array<uint8_t, 16>, 2> our6 = {{
    {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
}};

template <std::size_t N>
bool ours(const uint8_t* a, const std::array<std::array<uint8_t, N>, 2>& set) {
    for (const auto& x : set) {
        if (std::memcmp(a, x.data(), N) == 0) {
            return true;
        }
    }
    return false;
}

// What the campaign built, by kind: printed at exit (the figures of
// docs/reliability.md say what the responder was made to answer).
std::map<std::string, uint64_t> built;

void print_built() {
    std::string line;
    for (const auto& [kind, n] : built) {
        line += (line.empty() ? "" : ", ") + kind + " " + std::to_string(n);
    }
    std::fprintf(stderr, "fuzz_respond: frames generated: %s\n",
                 line.empty() ? "none" : line.c_str());
}

std::string kind_of(const packet_meta& pm) {
    if (pm.l3 == l3_kind::arp) {
        return "arp";
    }
    const bool v4 = pm.l3 == l3_kind::ipv4;
    const std::string family = v4 ? "ipv4" : "ipv6";
    if (pm.l4_proto == 6) {
        return family + " tcp-rst";
    }
    if (pm.icmp_type == (v4 ? 0 : 129)) {
        return family + " echo-reply";  // with the request's code, whatever it was
    }
    return family + " icmp-" + std::to_string(pm.icmp_type) + "/" + std::to_string(pm.icmp_code);
}

// Aborts with why and the frame.
[[noreturn]] void reject(const std::string& why, const std::vector<uint8_t>& f) {
    fail(why + "\n  frame: " + hex(f));
}

void check_arp(const std::vector<uint8_t>& f, const packet_meta& pm) {
    const uint8_t* a = f.data() + pm.l2_len;
    const uint16_t op = static_cast<uint16_t>(a[6] << 8 | a[7]);
    if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0 || a[4] != 6 || a[5] != 4 ||
        (op != 1 && op != 2)) {
        reject("a generated ARP frame is no Ethernet/IPv4 request or reply", f);
    }
    if (std::memcmp(a + 8, f.data() + 6, 6) != 0) {
        reject("a generated ARP frame's sender MAC is not its Ethernet source", f);
    }
    if (!ours(a + 14, our4)) {
        reject("a generated ARP frame's sender address is not the appliance's", f);
    }
}

// vouched: the frame answered came with the PMD's word that its IPv4
// header is intact (RX_IP_CKSUM_GOOD / NONE), which the parser takes as it
// is: an echo reply made from its header in place keeps its checksum, right
// or not.
void check_generated(rte_mbuf* m, bool vouched) {
    check_mbuf_chain(m, "a generated frame");
    const uint64_t rx_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    m->ol_flags &= ~RTE_MBUF_F_RX_IP_CKSUM_MASK;  // checked from the bytes
    const std::vector<uint8_t> f = frame_bytes(m);
    packet_meta pm;
    auto defect = parse_packet(m, pm);
    bool ip_header = true;
    if (defect == packet_defect::ipv4_bad_checksum && vouched) {
        m->ol_flags |= rx_flags;
        defect = parse_packet(m, pm);
        ip_header = false;
        if (!defect && !(pm.l4_proto == 1 && pm.icmp_type == 0)) {
            reject("a generated " + kind_of(pm) + " frame has a wrong IPv4 header checksum", f);
        }
    }
    if (defect) {
        reject("a generated frame does not parse: defect " +
                   std::to_string(static_cast<unsigned>(*defect)),
               f);
    }
    if (m->port >= fuzz_ports || std::memcmp(f.data() + 6, interface_mac[m->port].data(), 6) != 0) {
        reject("a generated frame leaving port " + std::to_string(m->port) +
                   " is not from that port's MAC",
               f);
    }
    ++built[kind_of(pm)];
    if (pm.l3 == l3_kind::arp) {
        check_arp(f, pm);
        // Padded to the 60-byte minimum at most (a runt request's reply may
        // stay a runt: the NIC pads it).
        if (f.size() > std::max<std::size_t>(pm.l2_len + 28u, 60)) {
            reject("a generated ARP frame is " + std::to_string(f.size()) + " bytes long", f);
        }
        return;
    }
    if (pm.l3 != l3_kind::ipv4 && pm.l3 != l3_kind::ipv6) {
        reject("a generated frame is neither ARP, IPv4 nor IPv6", f);
    }
    const bool v4 = pm.l3 == l3_kind::ipv4;
    const std::size_t end = std::size_t{pm.l2_len} + pm.l3_total;
    if (f.size() != end && f.size() > 60) {
        reject("a generated frame has " + std::to_string(f.size() - end) +
                   " bytes after its IP packet",
               f);
    }
    if ((pm.flags & meta_fragment) != 0) {
        reject("a generated packet is a fragment", f);
    }
    if (const auto bad = checksum_error(f, v4 ? 4 : 6, pm.l2_len, pm.l3_len, pm.l3_total,
                                        pm.l4_proto, false, ip_header)) {
        reject("a generated " + kind_of(pm) + " frame has a wrong checksum: " + *bad, f);
    }
    const bool icmp = pm.l4_proto == (v4 ? 1 : 58);
    if (!icmp && pm.l4_proto != 6) {
        reject("a generated IP packet is neither ICMP nor a TCP reset", f);
    }
    if (!icmp) {
        return;  // a reset comes from the address the refused segment was sent to
    }
    if (v4 ? !ours(pm.src_addr, our4) : !ours(pm.src_addr, our6)) {
        reject(
            "a generated " + kind_of(pm) + " packet is not from one of the appliance's addresses",
            f);
    }
    const bool error =
        v4 ? pm.icmp_type == 3 || pm.icmp_type == 11 || pm.icmp_type == 12 : pm.icmp_type < 128;
    if (error && pm.l3_total > (v4 ? 576u : 1280u)) {
        reject("a generated ICMP error is " + std::to_string(pm.l3_total) + " bytes long", f);
    }
    if (!v4 && pm.icmp_type >= 133 && pm.icmp_type <= 137 && pm.ttl != 255) {
        reject("a generated NDP message has hop limit " + std::to_string(pm.ttl), f);
    }
}

void check_all(chain_output& out, bool vouched) {
    for (std::size_t k = 0; k < out.sent.size(); ++k) {
        if (out.generated[k]) {
            check_generated(out.sent[k], vouched);
        }
    }
    free_all(out.sent);
}

}  // namespace
}  // namespace dpdk_app::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    using namespace dpdk_app::fuzz;
    start_eal();
    const std::string limits = unlimited_responder_toml();
    chains[0] = fuzz_chain::create("fuzz_respond_router.toml",
                                   topology_toml(topology::router) + firewall_toml(false) + limits);
    chains[1] =
        fuzz_chain::create("fuzz_respond_bridge.toml", topology_toml(topology::bridge_one_armed) +
                                                           firewall_toml(false) + limits);
    std::atexit(print_built);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace dpdk_app;
    using namespace dpdk_app::fuzz;
    packet_input in = decode_input(data, size);
    std::vector<uint8_t> fixed;
    if ((in.chain & 2u) != 0) {
        fixed.assign(in.frame.begin(), in.frame.end());
        fix_frame(fixed, true);
        in.frame = fixed;
    }
    fuzz_chain& chain = *chains[in.chain & 1u];
    const std::vector<rte_mbuf*> pkts = input_mbufs(in, packet_pool());
    chain_output out = chain.run(pkts, in.in_port, in.apart, false);
    const bool vouched = in.cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
                         in.cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_NONE;
    check_all(out, vouched);

    // The control thread's turn: what the router punted is held and its
    // next hop asked for. The learn ring is emptied first and not applied:
    // a neighbour learned from one input would change what the next ones
    // do (the neighbour table outlives the resolver).
    learn_message msg;
    while (rte_ring_sc_dequeue_elem(chain.slow().learn(0), &msg, sizeof msg) == 0) {
    }
    if (rte_ring_count(chain.slow().punt(0)) > 0) {
        static uint64_t now = 0;
        now += rte_get_tsc_hz();  // a second later than the last input
        resolver_settings settings;
        settings.hold_per_neighbor = chain.config().responder.hold_per_neighbor;
        resolver r(chain.slow(), chain.generations(), control_pool(), settings, rte_get_tsc_hz());
        r.poll(now);
        chain_output requests = chain.flush_injected();
        check_all(requests, false);
        r.shutdown();
    }
    chain.check_ledger("fuzz_respond");
    return 0;
}
