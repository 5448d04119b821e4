// Bugs the fuzz targets found (fuzz/, docs/reliability.md "Fuzzing"), each
// reproduced here in the gcc build; the input that found it is the file
// named in the test's comment, under fuzz/regress/TARGET/, which
// scripts/test.sh runs through the target again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "corpus.hpp"
#include "dataplane/compose.hpp"
#include "eal_env.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generated.hpp"
#include "pipeline/generation.hpp"
#include "respond/slow_path.hpp"

namespace dpdk_app {
namespace {

using corpus::bytes;

const std::string router_toml = R"([dataplane]
mode = "router"
[[port]]
name = "p0"
[[port]]
name = "p1"
[[interface]]
port = "p0"
mac = "02:00:00:00:00:02"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]
[[interface]]
port = "p1"
mac = "02:00:00:00:01:01"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]
[[route]]
prefix = "203.0.113.0/24"
via = "198.51.100.2"
[[neighbor]]
address = "198.51.100.2"
mac = "02:00:00:00:0a:02"
)";

const std::string one_armed_bridge_toml = R"([[port]]
name = "p0"
peer = "p0"
[[interface]]
port = "p0"
mac = "02:00:00:00:00:02"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]
)";

// What a chain did with one frame.
struct outcome {
    std::vector<bytes> frames;
    std::vector<uint16_t> egress;
    std::vector<bool> generated;
    std::vector<bool> chain_ok;      // segment lengths add up, nb_segs right
    std::vector<uint16_t> segments;  // nb_segs of each
    uint64_t dropped = 0;
};

class fuzz_regression : public ::testing::Test {
  protected:
    static constexpr unsigned pool_size = 511;

    static void SetUpTestSuite() {
        if (unit::dpdk_environment::pool() == nullptr) {
            return;
        }
        pool_ =
            rte_pktmbuf_pool_create("fuzz_regress_pool", pool_size, 0, packet_meta_priv_size,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
        register_generated_flag();
    }
    static void TearDownTestSuite() {
        rte_mempool_free(pool_);
        pool_ = nullptr;
    }
    void SetUp() override {
        if (unit::dpdk_environment::pool() == nullptr) {
            GTEST_SKIP() << "EAL not available: " << unit::dpdk_environment::error();
        }
        ASSERT_NE(pool_, nullptr);
    }
    void TearDown() override {
        EXPECT_EQ(rte_mempool_avail_count(pool_), pool_size) << "mbufs leaked";
    }

    // frame, laid out in segments of these lengths (the rest in one more),
    // arriving on port 0, through the chain of toml (fused or its stages
    // apart) as a segment runs it.
    static outcome run(const std::string& toml, const std::vector<port_plan>& ports,
                       const bytes& frame, const std::vector<std::size_t>& segments, bool fuse) {
        outcome o;
        config_result parsed = parse_config(toml, "t.toml");
        check_config(parsed.config, parsed.errors);
        EXPECT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
        const app_config& config = parsed.config;
        std::string error;
        auto slow = slow_path::create(1, 64, error);
        EXPECT_TRUE(slow) << error;
        std::vector<std::string> errors;
        static uint64_t number = 100;
        const auto gen = compile_generation(config, {&ports, &slow->neighbors()}, ++number, errors);
        EXPECT_TRUE(gen) << ::testing::PrintToString(errors);
        if (!slow || !gen) {
            return o;
        }
        const auto chain = compose_chain(config);
        const std::vector<std::string> middle(chain.begin() + 1, chain.end() - 1);
        stage_deps deps{0, &config, &ports, slow.get(), rte_get_tsc_hz()};
        std::vector<std::unique_ptr<stage>> stages;
        EXPECT_TRUE(make_stages(middle, deps, fuse, stages, error)) << error;
        auto counters = std::make_unique<segment_counters>();
        stage_context ctx(*counters, gen.get());
        ctx.set_now(0);
        burst b;
        b.pkts[0] = unit::make_mbuf(pool_, frame, 0, segments);
        if (b.pkts[0] == nullptr) {
            return o;
        }
        b.count = 1;
        b.in_port = 0;
        for (auto& s : stages) {
            s->process(b, ctx);
            if (b.count == 0) {
                break;
            }
        }
        for (uint16_t k = 0; k < b.count; ++k) {
            bool chain_ok = false;
            o.frames.push_back(unit::frame_of(b.pkts[k], &chain_ok));
            o.chain_ok.push_back(chain_ok);
            o.segments.push_back(b.pkts[k]->nb_segs);
            o.egress.push_back(b.out_port != no_port ? b.out_port : b.pkts[k]->port);
            o.generated.push_back(is_generated(b.pkts[k]));
            rte_pktmbuf_free(b.pkts[k]);
        }
        ctx.free_discarded();
        for (const auto& d : counters->drops) {
            o.dropped += d.get();
        }
        void* held = nullptr;
        while (rte_ring_sc_dequeue(slow->punt(0), &held) == 0) {
            rte_pktmbuf_free(static_cast<rte_mbuf*>(held));
        }
        return o;
    }

    static const std::vector<port_plan>& router_ports() {
        static const std::vector<port_plan> p = {port_plan{0, "p0", no_port},
                                                 port_plan{1, "p1", no_port}};
        return p;
    }
    static const std::vector<port_plan>& bridge_ports() {
        static const std::vector<port_plan> p = {port_plan{0, "p0", 0}};
        return p;
    }

    static inline rte_mempool* pool_ = nullptr;
};

uint16_t ones_sum(const uint8_t* p, std::size_t n) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (n % 2 != 0) {
        sum += static_cast<uint32_t>(p[n - 1] << 8);
    }
    while (sum >> 16 != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}

bytes from_host(const std::array<uint8_t, 4>& dst, uint8_t proto, const bytes& l4) {
    corpus::ipv4_header h;
    h.src = {192, 0, 2, 10};
    h.dst = dst;
    h.proto = proto;
    return corpus::pad_to(corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4)),
                          60);
}

// fuzz/regress/fuzz_packet/routed-headers-split-over-segments: a frame
// whose first segment ends inside its Ethernet header (7 bytes, then 13,
// then the rest) was routed with the MACs and TTL written past the first
// segment's data: it left with the sender's source MAC and its TTL and
// checksum as they came. The parse stage now gathers the headers into the
// first segment.
TEST_F(fuzz_regression, a_frame_split_inside_its_headers_is_routed_with_our_mac_and_ttl) {
    const bytes in = from_host({203, 0, 113, 40}, corpus::proto_tcp, corpus::tcp(5000, 7, 0x02));
    for (bool fuse : {true, false}) {
        SCOPED_TRACE(fuse ? "fused" : "apart");
        const outcome o = run(router_toml, router_ports(), in, {7, 13}, fuse);
        ASSERT_EQ(o.frames.size(), 1u);
        EXPECT_TRUE(o.chain_ok[0]);
        EXPECT_EQ(o.egress[0], 1);
        const bytes& out = o.frames[0];
        ASSERT_EQ(out.size(), 14u + 40u);  // the padding trimmed
        EXPECT_EQ(bytes(out.begin(), out.begin() + 12),
                  (bytes{2, 0, 0, 0, 0x0a, 2, 2, 0, 0, 0, 1, 1}));
        EXPECT_EQ(out[14 + 8], 63) << "TTL";
        EXPECT_EQ(ones_sum(out.data() + 14, 20), 0xffff) << "IPv4 header checksum";
        EXPECT_EQ(bytes(out.begin() + 26, out.end()), bytes(in.begin() + 26, in.begin() + 54))
            << "addresses and TCP header unchanged";
    }
}

// fuzz/regress/fuzz_respond/icmp-error-about-headers-split-over-segments:
// an ICMP error about a frame whose first segment was shorter than its
// Ethernet header quoted that header too (rte_pktmbuf_adj refused to cut
// it), its IP length 14 bytes short of the frame, and read the destination
// MAC past the segment's data.
TEST_F(fuzz_regression, an_icmp_error_about_a_frame_split_inside_its_ethernet_header) {
    const bytes in = from_host({8, 8, 8, 8}, corpus::proto_udp, corpus::udp(9, 9, 32));
    for (bool fuse : {true, false}) {
        SCOPED_TRACE(fuse ? "fused" : "apart");
        const outcome o = run(router_toml, router_ports(), in, {7, 30}, fuse);
        ASSERT_EQ(o.frames.size(), 1u);
        ASSERT_TRUE(o.generated[0]);
        EXPECT_TRUE(o.chain_ok[0]);
        const bytes& out = o.frames[0];
        const std::size_t quoted = 20 + 8 + 32;  // the whole IP packet of the request
        ASSERT_EQ(out.size(), 14u + 20u + 8u + quoted);
        EXPECT_EQ(bytes(out.begin(), out.begin() + 6), (bytes{2, 0, 0, 0, 0, 1}))
            << "back to the sender";
        EXPECT_EQ(out[14 + 2] << 8 | out[14 + 3], 28 + quoted) << "IP total length";
        EXPECT_EQ(out[34], 3);  // destination unreachable
        EXPECT_EQ(out[35], 0);  // net
        EXPECT_EQ(bytes(out.begin() + 42, out.end()), bytes(in.begin() + 14, in.begin() + 14 + 60))
            << "the quote is the IP packet, not the Ethernet header";
        EXPECT_EQ(ones_sum(out.data() + 34, 8 + quoted), 0xffff) << "ICMP checksum";
    }
}

// fuzz/regress/fuzz_respond/echo-reply-of-zeros-checksum: the reply to an
// echo request with identifier 0, sequence 0 and no payload is all zeros
// but for its checksum, which RFC 1624's update made 0x0000: receivers sum
// it to 0 and drop it. It is 0xFFFF now, on every path that answers.
TEST_F(fuzz_regression, the_echo_reply_of_a_message_of_zeros_has_checksum_ffff) {
    bytes icmp = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};  // type 8, checksum of the rest (zeros)
    const bytes in = from_host({192, 0, 2, 1}, corpus::proto_icmp, icmp);
    struct path {
        const char* name;
        const std::string& toml;
        const std::vector<port_plan>& ports;
        bool fuse;
    };
    for (const path& p :
         {path{"router, fused", router_toml, router_ports(), true},
          path{"router, apart", router_toml, router_ports(), false},
          path{"bridge, fused (the echo head)", one_armed_bridge_toml, bridge_ports(), true},
          path{"bridge, apart", one_armed_bridge_toml, bridge_ports(), false}}) {
        SCOPED_TRACE(p.name);
        const outcome o = run(p.toml, p.ports, in, {}, p.fuse);
        ASSERT_EQ(o.frames.size(), 1u);
        ASSERT_TRUE(o.generated[0]);
        const bytes& out = o.frames[0];
        ASSERT_GE(out.size(), 42u);
        EXPECT_EQ(out[34], 0) << "echo reply";
        EXPECT_EQ(out[36], 0xff);
        EXPECT_EQ(out[37], 0xff);
        EXPECT_EQ(ones_sum(out.data() + 34, 8), 0xffff);
    }
}

// fuzz/regress/fuzz_respond/neighbor-advertisement-in-a-chained-mbuf: the
// advertisement answering a solicitation in a chained mbuf was written into
// the first segment, but the frame kept the request's length and segments
// (set_length refused a chain and the refusal was ignored): it went out
// with the request's trailing bytes. It is now one segment of 86 bytes.
TEST_F(fuzz_regression, the_advertisement_for_a_chained_solicitation_is_86_bytes) {
    const std::array<uint8_t, 16> ours{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    // Appended a byte at a time: GCC 12 reports a false -Warray-bounds on
    // vector::insert from a std::array.
    bytes ns = {135, 0, 0, 0, 0, 0, 0, 0};
    for (uint8_t b : ours) {
        ns.push_back(b);
    }
    for (int b : {1, 1, 2, 0, 0, 0, 0, 1}) {  // source link-layer address
        ns.push_back(static_cast<uint8_t>(b));
    }
    corpus::ipv6_header h;
    h.next = corpus::proto_icmpv6;
    h.hop_limit = 255;
    h.src = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    h.dst = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};  // solicited-node
    // The ICMPv6 checksum: the pseudo header, then the message.
    bytes pseudo;
    for (uint8_t b : h.src) {
        pseudo.push_back(b);
    }
    for (uint8_t b : h.dst) {
        pseudo.push_back(b);
    }
    for (int b : {0, 0, 0, static_cast<int>(ns.size()), 0, 0, 0, 58}) {
        pseudo.push_back(static_cast<uint8_t>(b));
    }
    pseudo.insert(pseudo.end(), ns.begin(), ns.end());
    const uint16_t sum = static_cast<uint16_t>(~ones_sum(pseudo.data(), pseudo.size()));
    ns[2] = static_cast<uint8_t>(sum >> 8);
    ns[3] = static_cast<uint8_t>(sum);
    bytes in = corpus::cat(corpus::ethernet(corpus::ether_ipv6), corpus::ipv6(h, ns));
    in.resize(in.size() + 40, 0xee);  // trailing bytes after the IPv6 payload
    for (const auto& [toml, ports] : {std::pair{router_toml, router_ports()},
                                      std::pair{one_armed_bridge_toml, bridge_ports()}}) {
        for (bool fuse : {true, false}) {
            SCOPED_TRACE(fuse ? "fused" : "apart");
            const outcome o = run(toml, ports, in, {90, 20}, fuse);
            ASSERT_EQ(o.frames.size(), 1u);
            ASSERT_TRUE(o.generated[0]);
            EXPECT_TRUE(o.chain_ok[0]);
            EXPECT_EQ(o.segments[0], 1);
            const bytes& out = o.frames[0];
            ASSERT_EQ(out.size(), 86u);
            EXPECT_EQ(out[54], 136) << "neighbour advertisement";
            EXPECT_EQ(out[18] << 8 | out[19], 32) << "IPv6 payload length";
        }
    }
}

// fuzz/regress/fuzz_config/duplicate-interface-prefix-without-position.toml
// and duplicate-subnet-on-two-interfaces.toml: an [[interface]] repeating
// another's subnet was reported as "interface 'p2': route ... is defined
// twice", without the file or line.
TEST(fuzz_regression_config, a_repeated_interface_subnet_is_reported_at_its_interface) {
    config_result r = parse_config(R"([dataplane]
mode = "router"
[[interface]]
port = "p0"
addresses = ["192.0.2.1/24"]
[[interface]]
port = "p1"
addresses = ["198.51.100.1/24"]
[[interface]]
port = "p2"
addresses = ["198.51.100.2/24"]
)",
                                   "t.toml");
    std::vector<std::string> shown;
    for (const auto& e : r.errors) {
        shown.push_back(e.to_string());
    }
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(shown);
    check_config(r.config, r.errors);
    for (const auto& e : r.errors) {
        shown.push_back(e.to_string());
    }
    EXPECT_THAT(shown, ::testing::ElementsAre("t.toml:9:1: route 198.51.100.0/24 is defined twice "
                                              "(first at interface 'p1')"));
}

}  // namespace
}  // namespace dpdk_app
