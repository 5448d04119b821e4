// Router mode's fused parse+route stage against the parse and route stages
// run one after the other: on random bursts mixing plain IPv4 to a gateway
// (the fused fast path) with everything else (malformed frames, TTL expiry,
// martians, local, connected, unrouted, unresolved and too-big
// destinations, IPv6, ARP, VLAN, chained mbufs), both must leave the same
// frames in the same order with the same egress ports, the same punt marks
// and move the same drop counters.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "config/config.hpp"
#include "corpus.hpp"
#include "eal_env.hpp"
#include "generation_util.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "parse/parse_stage.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/stage.hpp"
#include "route/fib.hpp"
#include "route/route_stage.hpp"

namespace dpdk_app {
namespace {

using corpus::bytes;

constexpr unsigned pool_size = 1023;
constexpr uint16_t rx_port = 0;
const rte_ether_addr port0_mac = {{0x02, 0, 0, 0, 0, 0x01}};
const rte_ether_addr port1_mac = {{0x02, 0, 0, 0, 0x01, 0x01}};
constexpr uint16_t port1_mtu = 1000;  // 203.0.113.0/24 leaves here: too_big above it

ip_prefix prefix(const char* text, bool host_bits) {
    std::string why;
    auto p = parse_ip_prefix(text, host_bits, why);
    EXPECT_TRUE(p.has_value()) << text << ": " << why;
    return p.value_or(ip_prefix{});
}

ip_address address(const char* text) {
    auto a = parse_ip_address(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(ip_address{});
}

// One item of a burst: the frame, how it is laid out, the PMD's flags.
struct item {
    bytes frame;
    std::vector<std::size_t> segments;  // chained: bytes per segment
    uint64_t ol_flags = 0;
};

struct outcome {
    std::array<uint16_t, 2> port_runs{};
    std::vector<bytes> frames;
    std::vector<uint16_t> ports;
    std::vector<punt_kind> punts;  // read only when has_punts (what the responder does)
    std::vector<uint32_t> punt_args;
    bool has_punts = false;
    std::vector<uint64_t> drops;
};

class fused_route_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        error_.clear();
        if (unit::dpdk_environment::pool() == nullptr) {
            return;
        }
        static unsigned instance = 0;
        ++instance;
        pool_ = rte_pktmbuf_pool_create(("frt_pool" + std::to_string(instance)).c_str(),
                                        pool_size, 0, packet_meta_priv_size,
                                        RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
        if (pool_ == nullptr) {
            error_ = "cannot create the pool";
            return;
        }
        neighbors_ = neighbor_table::create(64, "frt" + std::to_string(instance), error_);
        if (!neighbors_) {
            return;
        }
        router_config c;
        interface_config a;
        a.port = "p0";
        a.addresses = {prefix("192.0.2.1/24", true), prefix("2001:db8:1::1/64", true)};
        interface_config b;
        b.port = "p1";
        b.addresses = {prefix("198.51.100.1/24", true), prefix("2001:db8:2::1/64", true)};
        c.interfaces = {a, b};
        c.routes.push_back({prefix("203.0.113.0/24", false), address("198.51.100.9"), "", "t:1"});
        c.routes.push_back({prefix("198.18.0.0/15", false), address("198.51.100.20"), "", "t:2"});
        c.routes.push_back({prefix("10.1.0.0/16", false), address("192.0.2.9"), "", "t:3"});
        c.routes.push_back({prefix("10.2.0.0/16", false), address("198.51.100.7"), "", "t:7"});
        // Martian destinations with a route: the route stage drops them anyway.
        c.routes.push_back({prefix("169.254.0.0/16", false), address("198.51.100.9"), "", "t:5"});
        c.routes.push_back({prefix("224.0.0.0/3", false), address("198.51.100.9"), "", "t:6"});
        c.routes.push_back(
            {prefix("2001:db8:99::/48", false), address("2001:db8:2::2"), "", "t:4"});
        for (const auto& [ip, last] : std::vector<std::pair<const char*, uint8_t>>{
                 {"198.51.100.9", 9}, {"198.51.100.7", 7}, {"192.0.2.9", 0x19},
                 {"2001:db8:2::2", 0x22}}) {
            neighbor_config n;
            n.address = address(ip);
            n.mac = {0x02, 0, 0, 0, 0x0a, last};
            c.neighbors.push_back(n);
        }
        std::vector<config_error> errors;
        const resolved_router r = resolve_router(c, "t", errors);
        if (!errors.empty()) {
            error_ = "resolve_router: " + errors.front().to_string();
            return;
        }
        fib_port p0;
        p0.id = 0;
        p0.mac = port0_mac;
        p0.addr4 = {htonl(0xc0000201)};  // 192.0.2.1
        fib_port p1;
        p1.id = 1;
        p1.mac = port1_mac;
        p1.mtu = port1_mtu;
        p1.addr4 = {htonl(0xc6336401)};  // 198.51.100.1
        auto f = fib::build(r, {{"p0", p0}, {"p1", p1}}, 1, *neighbors_, true, error_);
        if (!f) {
            return;
        }
        store_ = unit::store_with(std::move(f));
    }

    static void TearDownTestSuite() {
        store_.reset();
        neighbors_.reset();
        if (pool_ != nullptr) {
            rte_mempool_free(pool_);
            pool_ = nullptr;
        }
    }

    void SetUp() override {
        if (unit::dpdk_environment::pool() == nullptr) {
            GTEST_SKIP() << unit::dpdk_environment::error();
        }
        ASSERT_EQ(error_, "");
        ASSERT_TRUE(store_);
    }

    void TearDown() override {
        if (pool_ != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(pool_), pool_size) << "mbufs leaked";
        }
    }

    // The mbuf of it, its metadata area left as a previous packet left it:
    // an echo request to the appliance marked for the responder.
    static rte_mbuf* make_mbuf(const item& it) {
        rte_mbuf* m = unit::make_mbuf(pool_, it.frame, rx_port, it.segments);
        if (m != nullptr) {
            m->ol_flags |= it.ol_flags;
            *meta_of(m) = stale_meta();
        }
        return m;
    }

    static packet_meta stale_meta() {
        packet_meta pm{};
        pm.l3 = l3_kind::ipv4;
        pm.l4_proto = 1;
        pm.icmp_type = 8;
        pm.flags = meta_l4_valid;
        pm.punt = punt_kind::local;
        pm.punt_arg = 0xdeadbeef;
        return pm;
    }

    // Runs the burst through the fused stage (fused) or parse then route.
    static outcome run(const std::vector<item>& burst_items, bool fused) {
        outcome o;
        segment_counters counters;
        stage_context ctx(counters, store_->current());
        burst b;
        for (const item& it : burst_items) {
            if (rte_mbuf* m = make_mbuf(it)) {
                b.pkts[b.count++] = m;
            }
        }
        b.in_port = rx_port;
        if (fused) {
            parse_route_stage s;
            s.process(b, ctx);
        } else {
            parse_stage p;
            route_stage r;
            p.process(b, ctx);
            if (b.count > 0) {
                r.process(b, ctx);
            }
        }
        o.has_punts = b.has_punts;
        o.port_runs = b.port_runs;
        for (uint16_t k = 0; k < b.count; ++k) {
            rte_mbuf* m = b.pkts[k];
            bool chain_ok = false;
            o.frames.push_back(unit::frame_of(m, &chain_ok));
            EXPECT_TRUE(chain_ok);
            o.ports.push_back(b.out_port != no_port ? b.out_port : m->port);
            if (b.has_punts) {
                o.punts.push_back(meta_of(m)->punt);
                o.punt_args.push_back(meta_of(m)->punt != punt_kind::none ? meta_of(m)->punt_arg
                                                                          : 0);
            }
            rte_pktmbuf_free(m);
        }
        ctx.free_discarded();
        for (const counter& d : counters.drops) {
            o.drops.push_back(d.get());
        }
        uint64_t dropped = 0;
        for (uint64_t d : o.drops) {
            dropped += d;
        }
        EXPECT_EQ(b.count + dropped, burst_items.size()) << "every packet kept or dropped";
        return o;
    }

    static inline rte_mempool* pool_ = nullptr;
    static inline std::unique_ptr<neighbor_table> neighbors_;
    static inline std::unique_ptr<generation_store> store_;
    static inline std::string error_;
};

bytes ipv4_frame(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t ttl,
                 uint8_t proto, std::size_t payload, uint16_t frag = 0) {
    corpus::ipv4_header h;
    h.src = src;
    h.dst = dst;
    h.ttl = ttl;
    h.proto = proto;
    h.frag = frag;
    bytes l4;
    switch (proto) {
        case corpus::proto_udp:
            l4 = corpus::udp(1000, 53, payload);
            break;
        case corpus::proto_tcp:
            l4 = corpus::tcp(40000, 443, 0x10, 5, payload);
            break;
        case corpus::proto_icmp:
            l4 = corpus::icmp(8, 0, payload);
            break;
        default:
            l4 = corpus::filler(payload + 8, 7);
    }
    return corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4));
}

// Plain IPv4 via one of three resolved gateways (203.0.113.0/24 and
// 10.2.0.0/16 on port 1, 10.1.0.0/16 on port 0): what the fast path
// forwards. Random protocol, TTL, size, padding.
item fast_item(std::mt19937& rng) {
    static constexpr uint8_t protos[] = {corpus::proto_udp, corpus::proto_tcp, corpus::proto_icmp,
                                         47};
    static constexpr std::array<uint8_t, 4> gateways[] = {
        {203, 0, 113, 0}, {10, 1, 0, 0}, {10, 2, 0, 0}};
    std::array<uint8_t, 4> dst = gateways[rng() % 3];
    dst[3] = static_cast<uint8_t>(rng());
    item it;
    it.frame = ipv4_frame({192, 0, 2, static_cast<uint8_t>(10 + rng() % 200)}, dst,
                          static_cast<uint8_t>(2 + rng() % 254), protos[rng() % 4], rng() % 200,
                          rng() % 2 != 0 ? 0x4000 : 0);
    if (rng() % 4 == 0) {
        it.frame = corpus::pad_to(it.frame, 60 + rng() % 8);  // Ethernet padding
    }
    if (rng() % 8 == 0) {
        it.ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    }
    return it;
}

// Anything else: every kind of packet the general path decides on.
item other_item(std::mt19937& rng) {
    static const std::vector<corpus::corpus_case> malformed = corpus::malformed_corpus();
    item it;
    const auto host = static_cast<uint8_t>(10 + rng() % 200);
    switch (rng() % 14) {
        case 0:
            it.frame = malformed[rng() % malformed.size()].frame;
            break;
        case 1:  // TTL expiring here
            it.frame = ipv4_frame({192, 0, 2, host}, {203, 0, 113, 5},
                                  static_cast<uint8_t>(rng() % 2), corpus::proto_udp, 10);
            break;
        case 2:  // martian source, then martian destination
            it.frame = ipv4_frame({127, 0, 0, 1}, {203, 0, 113, 5}, 64, corpus::proto_udp, 10);
            break;
        case 3: {
            static constexpr std::array<uint8_t, 4> martians[] = {
                {169, 254, 1, 1}, {224, 0, 0, 5}, {255, 255, 255, 255}, {240, 1, 2, 3}};
            it.frame = ipv4_frame({192, 0, 2, host}, martians[rng() % 4], 64, corpus::proto_udp, 10);
            break;
        }
        case 4:  // to the appliance
            it.frame = ipv4_frame({192, 0, 2, host}, {192, 0, 2, 1}, 64, corpus::proto_icmp, 16);
            break;
        case 5:  // connected destination with a neighbour entry, then without
            it.frame = ipv4_frame({192, 0, 2, host}, {198, 51, 100, 7}, 64, corpus::proto_udp, 10);
            break;
        case 6:
            it.frame = ipv4_frame({192, 0, 2, host}, {198, 51, 100, 8}, 64, corpus::proto_udp, 10);
            break;
        case 7:  // no route (there is no default route)
            it.frame = ipv4_frame({192, 0, 2, host}, {100, 64, 0, 1}, 64, corpus::proto_udp, 10);
            break;
        case 8:  // via a gateway still unresolved
            it.frame = ipv4_frame({192, 0, 2, host}, {198, 18, 3, 4}, 64, corpus::proto_tcp, 10);
            break;
        case 9:  // larger than port 1's MTU
            it.frame = ipv4_frame({192, 0, 2, host}, {203, 0, 113, 9}, 64, corpus::proto_udp,
                                  port1_mtu - 20 - 8 + 1 + rng() % 2);
            break;
        case 10: {  // IPv6 routed via a gateway
            corpus::ipv6_header h;
            h.src = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, host};
            h.dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            it.frame = corpus::cat(corpus::ethernet(corpus::ether_ipv6),
                                   corpus::ipv6(h, corpus::udp(1, 2, 10)));
            break;
        }
        case 11:
            it.frame = corpus::cat(corpus::ethernet(corpus::ether_arp), corpus::arp());
            break;
        case 12:  // back out of the port it came from, larger than port 1's MTU, not its own
            it.frame = ipv4_frame({192, 0, 2, host}, {10, 1, 2, 3}, 64, corpus::proto_udp,
                                  rng() % 2 == 0 ? 10 : port1_mtu + 200);
            break;
        default: {  // a plain packet, but chained, or with a bad checksum
            it = fast_item(rng);
            if (rng() % 2 == 0) {
                it.segments = {14 + rng() % 30};
            } else {
                it.frame[24] ^= 0x40;
            }
        }
    }
    return it;
}

// What each egress port gets, in order: the frames with their punt marks.
// The fused stage may leave the packets grouped by port (burst::port_runs);
// what must not change is each port's sequence.
using per_port = std::map<uint16_t, std::vector<std::tuple<bytes, punt_kind, uint32_t>>>;
per_port by_port(const outcome& o) {
    per_port r;
    for (std::size_t k = 0; k < o.frames.size(); ++k) {
        r[o.ports[k]].emplace_back(o.frames[k], o.has_punts ? o.punts[k] : punt_kind::none,
                                   o.has_punts ? o.punt_args[k] : 0);
    }
    return r;
}

// port_runs, when set, describe the burst: runs[0] packets to one port, then
// runs[1] to another.
void expect_runs_hold(const outcome& o, int round) {
    if (o.port_runs[0] == 0) {
        return;
    }
    ASSERT_EQ(o.port_runs[0] + o.port_runs[1], o.ports.size()) << "round " << round;
    for (std::size_t k = 1; k < o.ports.size(); ++k) {
        const bool same_run = k != o.port_runs[0];
        ASSERT_EQ(o.ports[k] == o.ports[k - 1], same_run) << "round " << round << " packet " << k;
    }
}

TEST_F(fused_route_test, matches_parse_then_route_on_random_bursts) {
    std::mt19937 rng(20261130);
    std::size_t fast_heads = 0;  // bursts whose first packet the fast path takes
    std::size_t grouped = 0;     // bursts left grouped by port over two ports
    for (int round = 0; round < 3000; ++round) {
        const unsigned n = 1 + rng() % max_burst;
        const unsigned others = rng() % 3 == 0 ? 0 : rng() % 4;  // 0: all fast
        std::vector<item> items;
        for (unsigned k = 0; k < n; ++k) {
            items.push_back(k < others || rng() % 16 == 0 ? other_item(rng) : fast_item(rng));
        }
        std::shuffle(items.begin(), items.end(), rng);
        fast_heads += items.front().segments.empty() && items.front().frame.size() > 30 &&
                      (items.front().frame[30] == 203 || items.front().frame[30] == 10);
        const outcome want = run(items, false);
        const outcome got = run(items, true);
        ASSERT_EQ(got.frames.size(), want.frames.size()) << "round " << round;
        ASSERT_EQ(got.has_punts, want.has_punts) << "round " << round;
        ASSERT_TRUE(by_port(got) == by_port(want)) << "round " << round;
        ASSERT_EQ(got.drops, want.drops) << "round " << round;
        expect_runs_hold(got, round);
        grouped += got.port_runs[0] != 0 && got.port_runs[1] != 0;
    }
    EXPECT_GT(fast_heads, 1000u) << "the fast path must be exercised";
    EXPECT_GT(grouped, 100u) << "bursts to two ports must come out grouped";
}

// A burst the fast path takes whole: rewritten in place (next hop's MAC,
// port 1's MAC, TTL - 1 with the checksum updated, padding cut), egress port
// 1, and the metadata area not written at all.
TEST_F(fused_route_test, forwards_plain_ipv4_without_writing_metadata) {
    std::vector<item> items;
    for (uint8_t k = 0; k < 32; ++k) {
        item it;
        it.frame = ipv4_frame({192, 0, 2, 10}, {203, 0, 113, k}, static_cast<uint8_t>(2 + k),
                              corpus::proto_udp, k);
        it.frame = corpus::pad_to(it.frame, 60);
        items.push_back(it);
    }
    segment_counters counters;
    stage_context ctx(counters, store_->current());
    burst b;
    for (const item& it : items) {
        rte_mbuf* m = make_mbuf(it);
        ASSERT_NE(m, nullptr);
        std::memset(static_cast<void*>(meta_of(m)), 0xa5, sizeof(packet_meta));
        b.pkts[b.count++] = m;
    }
    parse_route_stage s;
    EXPECT_EQ(s.name(), "parse+route");
    s.process(b, ctx);
    ASSERT_EQ(b.count, 32);
    EXPECT_FALSE(b.has_punts);
    for (uint16_t k = 0; k < b.count; ++k) {
        rte_mbuf* m = b.pkts[k];
        bytes want = items[k].frame;
        const std::size_t ip_end = 14 + 20 + 8 + k;
        want.resize(ip_end);  // the Ethernet padding goes
        const uint8_t gateway_mac[6] = {0x02, 0, 0, 0, 0x0a, 9};
        std::memcpy(want.data(), gateway_mac, 6);
        std::memcpy(want.data() + 6, port1_mac.addr_bytes, 6);
        want[22] = static_cast<uint8_t>(want[22] - 1);
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(want.data() + 14);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);  // full recompute, not incremental
        const auto* got = rte_pktmbuf_mtod(m, const uint8_t*);
        EXPECT_EQ(bytes(got, got + m->data_len), want) << "packet " << k;
        EXPECT_EQ(m->pkt_len, ip_end);
        EXPECT_EQ(m->port, 1);
        const auto* meta = reinterpret_cast<const uint8_t*>(meta_of(m));
        EXPECT_TRUE(std::all_of(meta, meta + sizeof(packet_meta),
                                [](uint8_t v) { return v == 0xa5; }))
            << "packet " << k << ": metadata written";
        rte_pktmbuf_free(m);
    }
    ctx.free_discarded();
    for (const counter& d : counters.drops) {
        EXPECT_EQ(d.get(), 0u);
    }
}

// With a stage after it that reads packet_meta (the flow stage), the fast
// path writes it, exactly as the parse stage would have for the frame.
TEST_F(fused_route_test, writes_the_metadata_the_parse_stage_would_when_asked) {
    std::vector<item> items;
    for (uint8_t k = 0; k < 32; ++k) {
        item it;
        it.frame = ipv4_frame({192, 0, 2, 10}, {203, 0, 113, k}, static_cast<uint8_t>(2 + k),
                              k % 2 == 0 ? corpus::proto_udp : corpus::proto_tcp, k);
        items.push_back(it);
    }
    segment_counters counters;
    stage_context ctx(counters, store_->current());
    burst b;
    std::vector<packet_meta> want;
    for (const item& it : items) {
        rte_mbuf* m = make_mbuf(it);
        ASSERT_NE(m, nullptr);
        packet_meta pm;
        ASSERT_FALSE(parse_packet(m, pm));
        want.push_back(pm);
        std::memset(static_cast<void*>(meta_of(m)), 0xa5, sizeof(packet_meta));
        b.pkts[b.count++] = m;
    }
    parse_route_stage s(true);
    s.process(b, ctx);
    ASSERT_EQ(b.count, 32);
    for (uint16_t k = 0; k < b.count; ++k) {
        rte_mbuf* m = b.pkts[k];
        EXPECT_EQ(std::memcmp(meta_of(m), &want[k], sizeof(packet_meta)), 0) << "packet " << k;
        EXPECT_EQ(m->port, 1) << "the egress, after the metadata took the input port";
        rte_pktmbuf_free(m);
    }
    ctx.free_discarded();
}

// When the rest of a burst has punts, the responder reads every packet's
// punt mark: the forwarded head must not keep a stale one.
TEST_F(fused_route_test, a_burst_with_punts_clears_stale_marks_of_the_forwarded_head) {
    std::vector<item> items;
    for (uint8_t k = 0; k < 5; ++k) {
        item it;
        it.frame = ipv4_frame({192, 0, 2, 10}, {203, 0, 113, k}, 64, corpus::proto_udp, 4);
        items.push_back(it);
    }
    item expiring;
    expiring.frame = ipv4_frame({192, 0, 2, 10}, {203, 0, 113, 1}, 1, corpus::proto_udp, 4);
    items.push_back(expiring);
    const outcome o = run(items, true);
    ASSERT_TRUE(o.has_punts);
    ASSERT_EQ(o.punts.size(), 6u);
    for (std::size_t k = 0; k < 5; ++k) {
        EXPECT_EQ(o.punts[k], punt_kind::none) << "packet " << k;
        EXPECT_EQ(o.ports[k], 1);
    }
    EXPECT_EQ(o.punts[5], punt_kind::ttl_exceeded);
    EXPECT_EQ(o.ports[5], rx_port);
}

}  // namespace
}  // namespace dpdk_app
