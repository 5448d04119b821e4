// Writes the seed corpora of the packet targets (committed in fuzz/corpus/):
//
//   fuzz_seeds OUT_DIR [PCAP]
//
// OUT_DIR/fuzz_packet/ and OUT_DIR/fuzz_respond/ get one file per seed: the
// four control bytes of harness.hpp, then a frame. The frames are the first
// frames of the capture (tests/data/demo.pcap: ARP, ICMP and ICMPv6 echo,
// DNS, a tagged TCP flow), the malformed corpus of the unit and integration
// tests (tests/common/corpus.hpp) and frames that make the appliance answer
// or route: echo requests, ARP and NDP for its addresses, TTL 1, no route,
// too big, firewall rejects, unresolved next hops, packets to route. The
// control bytes pick each chain of the target, one segment, the default
// headroom; a few seeds split frames over segments.
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "frames.hpp"

namespace {

using dpdk_app::corpus::bytes;
namespace corpus = dpdk_app::corpus;

struct named_frame {
    std::string name;
    bytes frame;
};

using ip4 = std::array<uint8_t, 4>;
using ip6 = std::array<uint8_t, 16>;

constexpr ip4 host4{192, 0, 2, 10};
constexpr ip4 us4{192, 0, 2, 1};
constexpr ip4 us4_p1{198, 51, 100, 1};
constexpr ip6 host6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
constexpr ip6 us6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

bytes v4(const ip4& dst, uint8_t proto, const bytes& l4, uint8_t ttl = 64, uint16_t frag = 0,
         const bytes& options = {}) {
    corpus::ipv4_header h;
    h.src = host4;
    h.dst = dst;
    h.proto = proto;
    h.ttl = ttl;
    h.frag = frag;
    h.options = options;
    return corpus::pad_to(corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4)),
                          60);
}

bytes v6(const ip6& dst, uint8_t next, const bytes& payload, uint8_t hops = 64,
         const ip6& src = host6) {
    corpus::ipv6_header h;
    h.src = src;
    h.dst = dst;
    h.next = next;
    h.hop_limit = hops;
    return corpus::cat(corpus::ethernet(corpus::ether_ipv6), corpus::ipv6(h, payload));
}

ip6 v6_address(uint8_t b5, uint8_t last) {
    return {0x20, 0x01, 0x0d, 0xb8, 0, b5, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

bytes arp(uint16_t op, const ip4& sender, const ip4& target) {
    bytes a = {0x00, 0x01, 0x08, 0x00, 6, 4,   0x00, static_cast<uint8_t>(op),
               0x02, 0,    0,    0,    0, 0x01};
    a.insert(a.end(), sender.begin(), sender.end());
    a.insert(a.end(), {0, 0, 0, 0, 0, 0});
    a.insert(a.end(), target.begin(), target.end());
    bytes f = corpus::ethernet(corpus::ether_arp);
    if (op == 1) {
        std::fill(f.begin(), f.begin() + 6, 0xff);
    }
    return corpus::pad_to(corpus::cat(f, a), 60);
}

// A neighbour solicitation (135) or advertisement (136) for target, with a
// link-layer address option unless the source is :: (duplicate address
// detection).
bytes ndp(uint8_t type, const ip6& src, const ip6& dst, const ip6& target, uint8_t flags = 0) {
    bytes icmp = {type, 0, 0, 0, flags, 0, 0, 0};
    icmp.insert(icmp.end(), target.begin(), target.end());
    if (src != ip6{}) {
        icmp.insert(icmp.end(),
                    {static_cast<uint8_t>(type == 135 ? 1 : 2), 1, 0x02, 0, 0, 0, 0, 0x01});
    }
    return v6(dst, corpus::proto_icmpv6, icmp, 255, src);
}

std::vector<named_frame> answered_and_routed() {
    using corpus::icmp;
    using corpus::tcp;
    using corpus::udp;
    constexpr uint8_t i4 = corpus::proto_icmp, i6 = corpus::proto_icmpv6;
    constexpr uint8_t t = corpus::proto_tcp, u = corpus::proto_udp;
    constexpr uint8_t syn = 0x02, ack = 0x10;
    const ip4 routed{203, 0, 113, 77};  // outside the firewall's dropped /27
    const ip6 routed6 = v6_address(0x99, 5);
    const ip6 solicited{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
    const ip6 all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::vector<named_frame> f = {
        {"echo4", v4(us4, i4, icmp(8, 0, 56))},
        {"echo4-other-port", v4(us4_p1, i4, icmp(8, 0, 56))},
        {"echo4-tiny", v4(us4, i4, icmp(8, 0, 0))},
        {"echo6", v6(us6, i6, icmp(128, 0, 56))},
        {"arp-request", arp(1, host4, us4)},
        {"arp-reply", arp(2, host4, us4)},
        {"arp-not-ours", arp(1, host4, {192, 0, 2, 99})},
        {"ns", ndp(135, host6, solicited, us6)},
        {"ns-dad", ndp(135, ip6{}, solicited, us6)},
        {"na", ndp(136, host6, all_nodes, host6, 0x20)},
        {"ttl1", v4(routed, u, udp(9, 9, 32), 1)},
        {"hop1", v6(routed6, u, udp(9, 9, 32), 1)},
        {"no-route4", v4({8, 8, 8, 8}, u, udp(9, 9, 32))},
        {"no-route6", v6(v6_address(0xaa, 1), u, udp(9, 9, 32))},
        {"too-big4", v4(routed, u, udp(9, 9, 1450), 64, 0x4000)},
        {"too-big6", v6(routed6, u, udp(9, 9, 1450))},
        {"udp-to-us4", v4(us4, u, udp(5000, 9, 16))},
        {"udp-to-us6", v6(us6, u, udp(5000, 9, 16))},
        {"tcp-to-us4", v4(us4, t, tcp(5000, 80, syn))},
        {"reject-udp4", v4({203, 0, 113, 40}, u, udp(5000, 7, 16))},
        {"reject-udp6", v6(routed6, u, udp(5000, 7, 16))},
        {"reject-tcp4", v4({203, 0, 113, 40}, t, tcp(5000, 7, syn))},
        {"reject-tcp6-ack", v6(routed6, t, tcp(5000, 8, ack, 5, 10))},
        {"unresolved-gateway4", v4({100, 64, 0, 5}, u, udp(9, 9, 32))},
        {"unresolved-gateway6", v6(v6_address(0x77, 5), u, udp(9, 9, 32))},
        {"unresolved-connected4", v4({198, 51, 100, 50}, u, udp(9, 9, 32))},
        {"unresolved-connected6", v6(v6_address(2, 0x50), u, udp(9, 9, 32))},
        {"routed-udp4", v4(routed, u, udp(1024, 53, 40))},
        {"routed-tcp4", v4(routed, t, tcp(40000, 22, syn))},
        {"routed-udp6", v6(routed6, u, udp(1024, 53, 40))},
        {"routed-options4", v4(routed, u, udp(9, 9, 8), 64, 0, {0x94, 0x04, 0, 0})},
        {"routed-ext6", v6(routed6, 0, corpus::cat(corpus::ipv6_ext(u), udp(9, 9, 8)))},
        {"routed-fragment4", v4(routed, u, udp(9, 9, 64), 64, 0x2000)},
        {"routed-fragment6",
         v6(routed6, 44, corpus::cat(corpus::ipv6_frag(u, 0, true), udp(9, 9, 64)))},
        {"routed-error4", v4(routed, i4, corpus::cat(icmp(3, 1, 0), v4(host4, u, udp(9, 9, 8))))},
        {"echo4-bad-checksum", v4(us4, i4, icmp(8, 0, 8))},
    };
    for (auto& nf : f) {
        if (nf.name != "echo4-bad-checksum") {
            dpdk_app::fuzz::fix_frame(nf.frame, false);
        }
    }
    return f;
}

std::vector<named_frame> capture_frames(const char* path, std::size_t count) {
    std::vector<named_frame> out;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path, err);
    if (p == nullptr) {
        std::fprintf(stderr, "fuzz_seeds: %s\n", err);
        return out;
    }
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (out.size() < count && pcap_next_ex(p, &h, &data) == 1) {
        out.push_back({"capture" + std::to_string(out.size()), bytes(data, data + h->caplen)});
    }
    pcap_close(p);
    return out;
}

void write(const std::filesystem::path& dir, const std::string& name, uint8_t ctl,
           const bytes& frame, uint8_t split_a = 0, uint8_t split_b = 0) {
    std::ofstream out(dir / name, std::ios::binary);
    const uint8_t head[] = {ctl, split_a, split_b, 0x80};
    out.write(reinterpret_cast<const char*>(head), sizeof head);
    out.write(reinterpret_cast<const char*>(frame.data()),
              static_cast<std::streamsize>(frame.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR [PCAP]\n");
        return 2;
    }
    const std::filesystem::path out = argv[1];
    const std::filesystem::path packet = out / "fuzz_packet";
    const std::filesystem::path respond = out / "fuzz_respond";
    std::filesystem::create_directories(packet);
    std::filesystem::create_directories(respond);

    std::vector<named_frame> all = answered_and_routed();
    if (argc > 2) {
        for (auto& f : capture_frames(argv[2], 10)) {
            all.push_back(std::move(f));
        }
    }
    for (const auto& c : corpus::malformed_corpus()) {
        all.push_back({"malformed-" + c.name, c.frame});
    }
    static const char* const packet_chains[] = {"router", "bridge", "router-fw", "bridge-fw"};
    for (const auto& f : all) {
        for (uint8_t chain = 0; chain < 4; ++chain) {
            write(packet, f.name + "." + packet_chains[chain], chain, f.frame);
        }
    }
    // Segmented: the headers across the first two segments, three segments,
    // the two-copy burst; the stages apart.
    for (const auto& f : answered_and_routed()) {
        write(packet, f.name + ".router-3seg", 0x20, f.frame, 7, 13);
        write(packet, f.name + ".bridge-fw-2seg-apart", 0x17, f.frame, 20);
        write(respond, f.name + ".router-2seg", 0x12, f.frame, 30);
        write(respond, f.name + ".router", 0x02, f.frame);
        write(respond, f.name + ".bridge", 0x03, f.frame);
    }
    write(packet, "echo4.router-2copies", 0x30, answered_and_routed()[0].frame, 9, 40);
    return 0;
}
