// Router tables: route resolution, routes files, addresses, the incremental
// checksum, and rte_lpm / rte_lpm6 lookups checked against a brute-force
// longest-prefix match on random routes and addresses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include <rte_ip.h>
#include <rte_malloc.h>

#include "config/config.hpp"
#include "eal_env.hpp"
#include "packet/checksum.hpp"
#include "pipeline/generation.hpp"
#include "route/fib.hpp"
#include "config/ip.hpp"

using namespace dpdk_app;
using ::testing::HasSubstr;

namespace {

ip_prefix pfx(const char* text) {
    std::string why;
    auto p = parse_ip_prefix(text, false, why);
    EXPECT_TRUE(p.has_value()) << text << ": " << why;
    return p.value_or(ip_prefix{});
}

ip_address addr(const char* text) {
    auto a = parse_ip_address(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(ip_address{});
}

std::vector<std::string> messages(const std::vector<config_error>& errors) {
    std::vector<std::string> m;
    for (const auto& e : errors) {
        m.push_back(e.to_string());
    }
    return m;
}

TEST(ip, parses_and_masks) {
    EXPECT_EQ(to_string(pfx("192.0.2.0/24")), "192.0.2.0/24");
    EXPECT_EQ(to_string(pfx("2001:db8::/32")), "2001:db8::/32");
    EXPECT_EQ(to_string(pfx("0.0.0.0/0")), "0.0.0.0/0");
    EXPECT_EQ(to_string(masked(addr("192.0.2.77"), 26).address), "192.0.2.64");
    EXPECT_EQ(to_string(masked(addr("2001:db8:ffff::1"), 36).address), "2001:db8:f000::");
    EXPECT_TRUE(pfx("192.0.2.0/24").contains(addr("192.0.2.255")));
    EXPECT_FALSE(pfx("192.0.2.0/24").contains(addr("192.0.3.0")));
    EXPECT_FALSE(pfx("0.0.0.0/0").contains(addr("::1")));
    EXPECT_EQ(addr("10.1.2.3").v4_host(), 0x0a010203u);
}

TEST(ip, rejects_bad_prefixes_with_reasons) {
    std::string why;
    EXPECT_FALSE(parse_ip_prefix("192.0.2.1/24", false, why));
    EXPECT_EQ(why, "'192.0.2.1/24' has host bits set (did you mean 192.0.2.0/24?)");
    EXPECT_TRUE(parse_ip_prefix("192.0.2.1/24", true, why));
    EXPECT_FALSE(parse_ip_prefix("192.0.2.0/33", false, why));
    EXPECT_EQ(why, "prefix length must be 0..32, got '33'");
    EXPECT_FALSE(parse_ip_prefix("2001:db8::/129", false, why));
    EXPECT_EQ(why, "prefix length must be 0..128, got '129'");
    EXPECT_FALSE(parse_ip_prefix("192.0.2.0", false, why));
    EXPECT_THAT(why, HasSubstr("expected an address/length prefix"));
    EXPECT_FALSE(parse_ip_prefix("300.0.0.0/8", false, why));
    EXPECT_EQ(why, "'300.0.0.0' is not an IPv4 or IPv6 address");
    EXPECT_FALSE(parse_ip_prefix("10.0.0.0/x", false, why));
    EXPECT_FALSE(parse_ip_prefix("10.0.0.0/", false, why));
}

TEST(mac, parses_and_prints) {
    auto m = parse_mac("02:00:5e:10:00:ff");
    ASSERT_TRUE(m);
    EXPECT_EQ(to_string(*m), "02:00:5e:10:00:ff");
    EXPECT_FALSE(parse_mac("02:00:5e:10:00"));
    EXPECT_FALSE(parse_mac("02-00-5e-10-00-ff"));
    EXPECT_FALSE(parse_mac("02:00:5e:10:00:fg"));
}

TEST(routes_file, parses_lines_and_reports_errors_by_line) {
    std::vector<route_config> routes;
    std::vector<config_error> errors;
    parse_routes_text(
        "# comment\n"
        "198.51.100.0/24 via 192.0.2.2\n"
        "\n"
        "203.0.113.0/24 dev net_tap1   # connected\n"
        "2001:db8:5::/48 via 2001:db8::2 dev net_tap0\n"
        "10.0.0.1/8 via 192.0.2.2\n"
        "10.0.0.0/8 via nowhere\n"
        "10.0.0.0/8 through 192.0.2.2\n"
        "10.0.0.0/8 via\n",
        "routes.txt", routes, errors);
    ASSERT_EQ(routes.size(), 3u);
    EXPECT_EQ(to_string(routes[0].prefix), "198.51.100.0/24");
    EXPECT_EQ(to_string(*routes[0].via), "192.0.2.2");
    EXPECT_EQ(routes[0].origin, "routes.txt:2:1");
    EXPECT_FALSE(routes[1].via);
    EXPECT_EQ(routes[1].port, "net_tap1");
    EXPECT_EQ(routes[2].port, "net_tap0");
    EXPECT_THAT(messages(errors),
                ::testing::ElementsAre(
                    "routes.txt:6:1: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)",
                    "routes.txt:7:1: 'nowhere' is not an IPv4 or IPv6 address",
                    "routes.txt:8:1: unknown word 'through' (expected via or dev)",
                    "routes.txt:9:1: expected PREFIX [via ADDRESS] [dev PORT]"));
}

ip_prefix iface_addr(const char* text) {
    std::string why;
    auto p = parse_ip_prefix(text, true, why);
    EXPECT_TRUE(p.has_value()) << text << ": " << why;
    return p.value_or(ip_prefix{});
}

router_config two_interfaces() {
    router_config c;
    interface_config a;
    a.port = "p0";
    a.addresses = {iface_addr("192.0.2.1/24"), iface_addr("2001:db8:1::1/64")};
    interface_config b;
    b.port = "p1";
    b.addresses = {iface_addr("198.51.100.1/24")};
    c.interfaces = {a, b};
    return c;
}

TEST(resolve_router, derives_connected_and_local_routes) {
    std::vector<config_error> errors;
    const auto r = resolve_router(two_interfaces(), "t", errors);
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(messages(errors));
    ASSERT_EQ(r.routes.size(), 6u);
    EXPECT_EQ(to_string(r.routes[0].prefix), "192.0.2.0/24");
    EXPECT_EQ(r.routes[0].kind, next_hop_kind::connected);
    EXPECT_EQ(to_string(r.routes[1].prefix), "192.0.2.1/32");
    EXPECT_EQ(r.routes[1].kind, next_hop_kind::local);
    EXPECT_EQ(to_string(r.routes[3].prefix), "2001:db8:1::1/128");
    EXPECT_EQ(r.routes[5].port, "p1");
}

TEST(resolve_router, gateway_picks_the_interface_of_its_subnet) {
    router_config c = two_interfaces();
    c.routes.push_back({pfx("203.0.113.0/24"), addr("198.51.100.9"), "", "t:1:1"});
    c.routes.push_back({pfx("0.0.0.0/0"), addr("192.0.2.254"), "", "t:2:1"});
    c.routes.push_back({pfx("2001:db8:9::/48"), addr("2001:db8:1::2"), "", "t:3:1"});
    std::vector<config_error> errors;
    const auto r = resolve_router(c, "t", errors);
    ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(messages(errors));
    ASSERT_EQ(r.routes.size(), 9u);
    EXPECT_EQ(r.routes[6].port, "p1");
    EXPECT_EQ(r.routes[7].port, "p0");
    EXPECT_EQ(r.routes[8].port, "p0");
    EXPECT_EQ(r.routes[6].kind, next_hop_kind::forward);
}

TEST(resolve_router, reports_every_bad_route) {
    router_config c = two_interfaces();
    c.routes.push_back({pfx("203.0.113.0/24"), addr("10.0.0.1"), "", "t:1:1"});
    c.routes.push_back({pfx("203.0.113.0/25"), addr("2001:db8:1::2"), "", "t:2:1"});
    c.routes.push_back({pfx("203.0.113.128/25"), addr("192.0.2.1"), "", "t:3:1"});
    c.routes.push_back({pfx("203.0.113.64/26"), std::nullopt, "", "t:4:1"});
    c.routes.push_back({pfx("203.0.113.0/27"), addr("192.0.2.5"), "p7", "t:5:1"});
    c.routes.push_back({pfx("192.0.2.0/24"), addr("198.51.100.5"), "", "t:6:1"});
    neighbor_config n;
    n.address = addr("10.9.9.9");
    n.where = {7, 1};
    c.neighbors.push_back(n);
    std::vector<config_error> errors;
    resolve_router(c, "t", errors);
    EXPECT_THAT(
        messages(errors),
        ::testing::ElementsAre(
            "t:1:1: route 203.0.113.0/24: next hop 10.0.0.1 is not inside any interface subnet "
            "(add port = \"...\" or an interface address covering it)",
            "t:2:1: route 203.0.113.0/25: next hop 2001:db8:1::2 is not of the prefix's address "
            "family",
            "t:3:1: route 203.0.113.128/25: next hop 192.0.2.1 is one of the appliance's own "
            "addresses",
            "t:4:1: route 203.0.113.64/26: needs via = \"ADDRESS\" or port = \"NAME\" (directly "
            "connected)",
            "t:5:1: route 203.0.113.0/27: port 'p7' has no [[interface]]",
            "t:6:1: route 192.0.2.0/24 is defined twice (first at interface 'p0')",
            "t:7:1: neighbor 10.9.9.9 is not inside any interface subnet (add port = \"...\")"));
}

TEST(checksum, incremental_ttl_update_matches_a_full_recompute) {
    std::mt19937 rng(42);
    for (int i = 0; i < 200000; ++i) {
        alignas(4) uint8_t raw[20];
        for (auto& b : raw) {
            b = static_cast<uint8_t>(rng());
        }
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(raw);
        ip->version_ihl = 0x45;
        ip->time_to_live = static_cast<uint8_t>(2 + rng() % 254);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        ipv4_decrement_ttl(ip);
        const uint16_t incremental = ip->hdr_checksum;
        ip->hdr_checksum = 0;
        const uint16_t full = rte_ipv4_cksum(ip);
        // Both are valid encodings of the same sum only if equal, except that
        // one's complement has two zeros: RFC 1624 never yields 0xffff.
        ASSERT_EQ(incremental, full) << "header " << i;
        ASSERT_NE(incremental, 0xffff);
    }
}

// ipv4_decrement_ttl's shortcut (~(~HC + 0xFFFE)) is RFC 1624's eqn. 3 as
// checksum_update16 computes it, for every checksum value and TTL 2..255.
TEST(checksum, ttl_decrement_shortcut_equals_rfc1624_for_every_checksum) {
    for (uint32_t hc = 0; hc <= 0xffff; ++hc) {
        for (uint32_t ttl : {2u, 3u, 64u, 128u, 255u}) {
            alignas(4) uint8_t raw[20] = {0x45};
            auto* ip = reinterpret_cast<rte_ipv4_hdr*>(raw);
            ip->time_to_live = static_cast<uint8_t>(ttl);
            ip->next_proto_id = static_cast<uint8_t>(hc * 7 + ttl);
            ip->hdr_checksum = static_cast<uint16_t>(hc);
            uint16_t old_word;
            std::memcpy(&old_word, raw + 8, 2);
            ipv4_decrement_ttl(ip);
            uint16_t new_word;
            std::memcpy(&new_word, raw + 8, 2);
            ASSERT_EQ(ip->time_to_live, ttl - 1);
            ASSERT_EQ(ip->hdr_checksum,
                      checksum_update16(static_cast<uint16_t>(hc), old_word, new_word))
                << "checksum " << hc << " ttl " << ttl;
        }
    }
}

TEST(checksum, ones_complement_sum_matches_rte_raw_cksum) {
    std::mt19937 rng(1071);
    std::vector<uint8_t> buf(2100);
    for (int round = 0; round < 20000; ++round) {
        const uint32_t offset = rng() % 16;  // every alignment
        const uint32_t len = round < 64 ? static_cast<uint32_t>(round) : rng() % 2048;
        for (uint32_t i = 0; i < len; ++i) {
            // Mostly 0xff bytes now and then, to push the carries.
            buf[offset + i] = (rng() % 4 == 0) ? 0xff : static_cast<uint8_t>(rng());
        }
        ASSERT_EQ(ones_complement_sum(buf.data() + offset, len),
                  rte_raw_cksum(buf.data() + offset, len))
            << "offset " << offset << " length " << len;
    }
    std::vector<uint8_t> ones(1500, 0xff);
    EXPECT_EQ(ones_complement_sum(ones.data(), 1500), rte_raw_cksum(ones.data(), 1500));
}

// ones_complement_ok (a multiple of 0xFFFF, not 0) agrees with folding the
// sum and comparing with 0xFFFF: on random data with its checksum set right
// (true), off by one (false), and on all-zero data (false: sums to 0).
TEST(checksum, ones_complement_ok_matches_the_folded_sum) {
    std::mt19937 rng(792);
    std::vector<uint8_t> buf(300);
    for (int round = 0; round < 20000; ++round) {
        const uint32_t len = 4 + static_cast<uint32_t>(rng() % 200);
        for (uint32_t i = 0; i < len; ++i) {
            buf[i] = (rng() % 3 == 0) ? 0xff : static_cast<uint8_t>(rng());
        }
        buf[2] = 0;
        buf[3] = 0;
        const uint16_t cksum = static_cast<uint16_t>(~rte_raw_cksum(buf.data(), len));
        std::memcpy(&buf[2], &cksum, 2);
        ASSERT_EQ(ones_complement_sum(buf.data(), len), 0xffff) << "length " << len;
        ASSERT_TRUE(ones_complement_ok(buf.data(), len)) << "length " << len;
        buf[rng() % len] ^= static_cast<uint8_t>(1u << (rng() % 8));
        ASSERT_EQ(ones_complement_ok(buf.data(), len),
                  ones_complement_sum(buf.data(), len) == 0xffff)
            << "length " << len;
    }
    const std::vector<uint8_t> zeros(64, 0);
    EXPECT_FALSE(ones_complement_ok(zeros.data(), 64));
    EXPECT_EQ(ones_complement_sum(zeros.data(), 64), 0);
}

TEST(checksum, rfc1624_corner_case) {
    // RFC 1624 section 3's example: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285
    // gives HC' = 0x0000 with eqn. 3 (eqn. 2 would give 0xffff).
    EXPECT_EQ(checksum_update16(rte_cpu_to_be_16(0xdd2f), rte_cpu_to_be_16(0x5555),
                                rte_cpu_to_be_16(0x3285)),
              rte_cpu_to_be_16(0x0000));
}

// --- LPM against brute force --------------------------------------------

class fib_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (unit::dpdk_environment::pool() == nullptr) {
            GTEST_SKIP() << unit::dpdk_environment::error();
        }
        static unsigned instance = 0;
        std::string error;
        neighbors_ = neighbor_table::create(8192, "ut" + std::to_string(++instance), error);
        ASSERT_TRUE(neighbors_) << error;
    }
    std::unique_ptr<neighbor_table> neighbors_;
};

std::map<std::string, fib_port> test_ports() {
    fib_port p0;
    p0.id = 0;
    fib_port p1;
    p1.id = 1;
    return {{"p0", p0}, {"p1", p1}};
}

// Random routes via unique gateways (so every route has its own next hop),
// plus /0 and host routes, overlapping freely.
resolved_router random_router(bool v6, std::size_t count, std::mt19937& rng) {
    resolved_router r;
    const unsigned bits = v6 ? 128 : 32;
    std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen;
    uint32_t gw = 1;
    auto add = [&](ip_address a, uint8_t len) {
        ip_prefix p = masked(a, len);
        if (!seen.emplace(p.address.bytes, len).second) {
            return;
        }
        resolved_route rr;
        rr.prefix = p;
        rr.port = gw % 2 == 0 ? "p0" : "p1";
        ip_address g;
        g.v6 = v6;
        g.bytes[v6 ? 12 : 0] = 100;
        g.bytes[v6 ? 13 : 1] = static_cast<uint8_t>(gw >> 16);
        g.bytes[v6 ? 14 : 2] = static_cast<uint8_t>(gw >> 8);
        g.bytes[v6 ? 15 : 3] = static_cast<uint8_t>(gw);
        ++gw;
        rr.gateway = g;
        r.routes.push_back(rr);
    };
    ip_address zero;
    zero.v6 = v6;
    add(zero, 0);
    // A few "hot" regions so that prefixes overlap a lot.
    std::vector<ip_address> bases;
    for (int i = 0; i < 8; ++i) {
        ip_address a;
        a.v6 = v6;
        for (unsigned b = 0; b < bits / 8; ++b) {
            a.bytes[b] = static_cast<uint8_t>(rng());
        }
        bases.push_back(a);
    }
    while (r.routes.size() < count) {
        ip_address a = bases[rng() % bases.size()];
        const unsigned keep = rng() % bits;
        for (unsigned bit = keep; bit < bits; ++bit) {
            if (rng() % 2 != 0) {
                a.bytes[bit / 8] ^= static_cast<uint8_t>(0x80u >> (bit % 8));
            }
        }
        const unsigned pick = rng() % 10;
        const uint8_t len = static_cast<uint8_t>(pick == 0 ? bits : 1 + rng() % bits);
        add(a, len);
    }
    return r;
}

// Longest matching route's index, or -1.
int brute_force(const resolved_router& r, const ip_address& a) {
    int best = -1;
    int best_len = -1;
    for (std::size_t i = 0; i < r.routes.size(); ++i) {
        const auto& p = r.routes[i].prefix;
        if (p.contains(a) && p.length > best_len) {
            best = static_cast<int>(i);
            best_len = p.length;
        }
    }
    return best;
}

ip_address random_address(const resolved_router& r, bool v6, std::mt19937& rng) {
    ip_address a;
    a.v6 = v6;
    const unsigned bits = v6 ? 128 : 32;
    if (rng() % 4 != 0) {  // mostly near a route
        a = r.routes[rng() % r.routes.size()].prefix.address;
        const unsigned flip_from = rng() % (bits + 1);
        for (unsigned bit = flip_from; bit < bits; ++bit) {
            if (rng() % 2 != 0) {
                a.bytes[bit / 8] ^= static_cast<uint8_t>(0x80u >> (bit % 8));
            }
        }
        return a;
    }
    for (unsigned b = 0; b < bits / 8; ++b) {
        a.bytes[b] = static_cast<uint8_t>(rng());
    }
    return a;
}

TEST_F(fib_test, ipv4_lookups_match_brute_force) {
    std::mt19937 rng(4);
    const resolved_router r = random_router(false, 3000, rng);
    std::string error;
    auto f = fib::build(r, test_ports(), 9001, *neighbors_, true, error);
    ASSERT_TRUE(f) << error;
    EXPECT_EQ(f->routes4(), r.routes.size());
    std::array<uint32_t, 32> ips;
    std::array<int32_t, 32> res;
    std::array<ip_address, 32> addrs;
    for (int round = 0; round < 1000; ++round) {
        for (std::size_t k = 0; k < ips.size(); ++k) {
            addrs[k] = random_address(r, false, rng);
            ips[k] = addrs[k].v4_host();
        }
        f->lookup4_bulk(ips.data(), res.data(), ips.size());
        for (std::size_t k = 0; k < ips.size(); ++k) {
            const int expect = brute_force(r, addrs[k]);
            ASSERT_GE(expect, 0);  // 0.0.0.0/0 matches everything
            const auto& want = r.routes[static_cast<std::size_t>(expect)].prefix;
            const int32_t want_hop = f->rule4(want.address.v4_host(), want.length);
            ASSERT_GE(want_hop, 0) << to_string(want) << " is not in the table";
            ASSERT_EQ(res[k], want_hop)
                << to_string(addrs[k]) << " should match " << to_string(want);
        }
    }
}

TEST_F(fib_test, ipv4_without_default_route_misses) {
    router_config c = two_interfaces();
    std::vector<config_error> errors;
    const auto r = resolve_router(c, "t", errors);
    std::string error;
    auto f = fib::build(r, test_ports(), 9006, *neighbors_, true, error);
    ASSERT_TRUE(f) << error;
    std::array<uint32_t, 3> ips = {addr("10.1.1.1").v4_host(), addr("192.0.2.9").v4_host(),
                                   addr("255.255.255.255").v4_host()};
    std::array<int32_t, 3> hops;
    f->lookup4_bulk(ips.data(), hops.data(), 3);
    EXPECT_EQ(hops[0], -1);
    EXPECT_GE(hops[1], 0);
    EXPECT_EQ(f->hop(static_cast<uint32_t>(hops[1])).kind, next_hop_kind::connected);
    EXPECT_EQ(hops[2], -1);
}

TEST_F(fib_test, ipv6_lookups_match_brute_force) {
    std::mt19937 rng(6);
    const resolved_router r = random_router(true, 2000, rng);
    std::string error;
    auto f = fib::build(r, test_ports(), 9002, *neighbors_, true, error);
    ASSERT_TRUE(f) << error;
    EXPECT_EQ(f->routes6(), r.routes.size());
    uint8_t ips[32][RTE_LPM6_IPV6_ADDR_SIZE];
    std::array<int32_t, 32> res;
    std::array<ip_address, 32> addrs;
    for (int round = 0; round < 300; ++round) {
        for (std::size_t k = 0; k < 32; ++k) {
            addrs[k] = random_address(r, true, rng);
            std::memcpy(ips[k], addrs[k].bytes.data(), 16);
        }
        rte_lpm6_lookup_bulk_func(f->lpm6(), ips, res.data(), 32);
        for (std::size_t k = 0; k < 32; ++k) {
            const int expect = brute_force(r, addrs[k]);
            ASSERT_GE(expect, 0);
            const auto& want = r.routes[static_cast<std::size_t>(expect)].prefix;
            const int32_t got = res[k] >= 0 ? res[k] : f->default6();
            int32_t want_hop = f->default6();
            if (want.length > 0) {
                uint32_t nh = 0;
                ASSERT_EQ(rte_lpm6_is_rule_present(f->lpm6(),
                                                   const_cast<uint8_t*>(want.address.bytes.data()),
                                                   want.length, &nh),
                          1);
                want_hop = static_cast<int32_t>(nh);
            }
            ASSERT_EQ(got, want_hop) << to_string(addrs[k]) << " should match " << to_string(want);
        }
    }
}

TEST_F(fib_test, next_hops_and_neighbours) {
    router_config c = two_interfaces();
    c.routes.push_back({pfx("203.0.113.0/24"), addr("198.51.100.9"), "", "t:1:1"});
    c.routes.push_back({pfx("198.18.0.0/15"), addr("198.51.100.9"), "", "t:2:1"});
    neighbor_config n;
    n.address = addr("198.51.100.9");
    n.mac = {2, 0, 0, 0, 0, 9};
    c.neighbors.push_back(n);
    std::vector<config_error> errors;
    const auto r = resolve_router(c, "t", errors);
    ASSERT_TRUE(errors.empty());
    std::string error;
    auto f = fib::build(r, test_ports(), 9003, *neighbors_, true, error);
    ASSERT_TRUE(f) << error;
    std::array<uint32_t, 3> ips = {addr("203.0.113.7").v4_host(), addr("198.19.1.1").v4_host(),
                                   addr("192.0.2.1").v4_host()};
    std::array<int32_t, 3> hops;
    f->lookup4_bulk(ips.data(), hops.data(), 3);
    ASSERT_GE(hops[0], 0);
    ASSERT_GE(hops[2], 0);
    const auto a = static_cast<uint32_t>(hops[0]);
    const auto b = static_cast<uint32_t>(hops[1]);
    EXPECT_EQ(a, b) << "two routes via one gateway share one next hop";
    const next_hop& h = f->hop(a);
    EXPECT_EQ(h.kind, next_hop_kind::forward);
    EXPECT_EQ(h.port, 1);
    const neighbor_view nb = neighbor_table::unpack(neighbors_->load(h.neighbor));
    EXPECT_EQ(nb.state, neighbor_state::permanent);
    EXPECT_EQ(nb.mac.addr_bytes[5], 9);
    EXPECT_EQ(nb.port, 1);
    EXPECT_EQ(f->hop(static_cast<uint32_t>(hops[2])).kind, next_hop_kind::local);
    // The static neighbour is also found for connected destinations.
    alignas(8) uint8_t key[16];  // rte_jhash reads 32-bit words
    std::memcpy(key, addr("198.51.100.9").bytes.data(), 16);
    void* data = nullptr;
    EXPECT_GE(rte_hash_lookup_data(neighbors_->hash4(), key, &data), 0);
    EXPECT_EQ(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)), h.neighbor);
    std::memcpy(key, addr("198.51.100.10").bytes.data(), 16);
    EXPECT_LT(rte_hash_lookup_data(neighbors_->hash4(), key, &data), 0);
}

// A fib reaches the workers as a table of a generation.
TEST_F(fib_test, generation_store_publishes_and_frees_after_grace_period) {
    const std::size_t size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
    auto* qs = static_cast<rte_rcu_qsbr*>(rte_zmalloc("unit_qsbr", size, RTE_CACHE_LINE_SIZE));
    ASSERT_NE(qs, nullptr);
    ASSERT_EQ(rte_rcu_qsbr_init(qs, RTE_MAX_LCORE), 0);
    const uint64_t alive_before = generation::alive();
    {
        generation_store store(qs);
        EXPECT_EQ(store.current(), nullptr);
        std::vector<config_error> errors;
        const auto r = resolve_router(two_interfaces(), "t", errors);
        std::string error;
        auto f1 = fib::build(r, test_ports(), 9004, *neighbors_, true, error);
        ASSERT_TRUE(f1) << error;
        const fib* first = f1.get();
        auto g1 = std::make_unique<generation>(1);
        g1->add(std::move(f1));
        store.publish(std::move(g1), RTE_QSBR_THRID_INVALID);
        ASSERT_NE(store.current(), nullptr);
        EXPECT_EQ(store.current()->number(), 1u);
        EXPECT_EQ(store.current()->find<fib>(), first);
        EXPECT_EQ(generation::alive(), alive_before + 1);
        auto f2 = fib::build(r, test_ports(), 9005, *neighbors_, true, error);
        ASSERT_TRUE(f2) << error;
        const fib* second = f2.get();
        auto g2 = std::make_unique<generation>(2);
        g2->add(std::move(f2));
        // No reader is registered, so the grace period ends at once and the
        // first generation (with its fib) is freed.
        store.publish(std::move(g2), RTE_QSBR_THRID_INVALID);
        EXPECT_EQ(store.current()->number(), 2u);
        EXPECT_EQ(store.current()->find<fib>(), second);
        EXPECT_EQ(store.current()->find<fib>()->generation(), 9005u);
        EXPECT_EQ(generation::alive(), alive_before + 1);
    }
    EXPECT_EQ(generation::alive(), alive_before);
    rte_free(qs);
}

}  // namespace
