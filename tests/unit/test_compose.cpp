// The composer (lib/dataplane/compose.hpp): the chain of each configuration,
// the placement and feature checks, restart-only settings, stage making
// with and without fusion, generations compiled from a configuration, and
// a randomised equivalence of fused and unfused chains for every chain the
// composer can build.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "classify/acl.hpp"
#include "config/config.hpp"
#include "corpus.hpp"
#include "dataplane/compose.hpp"
#include "dataplane/dataplane.hpp"
#include "eal_env.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generated.hpp"
#include "pipeline/generation.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

namespace dpdk_app {
namespace {

using ::testing::ElementsAre;
using bytes = std::vector<uint8_t>;

app_config parsed(const std::string& text) {
    config_result r = parse_config(text, "t.toml");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    return r.config;
}

std::vector<std::string> messages(const std::vector<config_error>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) {
        out.push_back(e.to_string());
    }
    return out;
}

// ---- the chain ------------------------------------------------------------------

TEST(compose_chain, of_each_mode) {
    app_config c;
    EXPECT_THAT(compose_chain(c), ElementsAre("rx", "parse", "bridge", "respond", "tx"));
    c.validate = false;
    EXPECT_THAT(compose_chain(c), ElementsAre("rx", "bridge", "tx"));
    c.validate = true;
    c.mode = forwarding_mode::router;
    EXPECT_THAT(compose_chain(c), ElementsAre("rx", "parse", "route", "respond", "tx"));
}

TEST(compose_chain, the_flow_stage_sits_where_flow_packets_says) {
    app_config c = parsed("[dataplane]\nmode = \"router\"\n[[interface]]\nport = \"p0\"\n"
                          "addresses = [\"192.0.2.1/24\"]\n[flow]\n");
    EXPECT_THAT(compose_chain(c), ElementsAre("rx", "parse", "route", "respond", "flow", "tx"));
    c.flow->packets = flow_packets::received;
    EXPECT_THAT(compose_chain(c), ElementsAre("rx", "parse", "flow", "route", "respond", "tx"));
}

TEST(compose_chain, stages_sort_by_their_position_not_by_registration) {
    const std::vector<app_config> configs = {
        app_config{},
        parsed("[dataplane]\nmode = \"router\"\n[[interface]]\nport = \"p0\"\n"
               "addresses = [\"192.0.2.1/24\"]\n"),
        parsed("[flow]\n"), parsed("[flow]\npackets = \"received\"\n")};
    // A name may be registered at two places (flow), but never turned on at
    // both by one configuration.
    const auto& all = stage_registrations();
    for (std::size_t i = 0; i < all.size(); ++i) {
        for (std::size_t j = i + 1; j < all.size(); ++j) {
            if (all[i].name != all[j].name) {
                continue;
            }
            EXPECT_NE(all[i].position, all[j].position) << all[i].name;
            for (const auto& c : configs) {
                EXPECT_FALSE(all[i].enabled(c) && all[j].enabled(c)) << "on twice: " << all[i].name;
            }
        }
    }
    for (const app_config& c : configs) {
        const auto chain = compose_chain(c);
        chain_position last = chain_position::parse;
        for (std::size_t k = 1; k + 1 < chain.size(); ++k) {
            const auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) {
                return r.name == chain[k] && r.enabled(c);
            });
            ASSERT_NE(it, all.end()) << chain[k];
            EXPECT_GE(it->position, last) << chain[k];
            last = it->position;
        }
    }
}

TEST(compose_chain, every_fusion_is_a_run_of_adjacent_stages_of_some_chain) {
    app_config router;
    router.mode = forwarding_mode::router;
    const std::vector<std::vector<std::string>> chains = {compose_chain(app_config{}),
                                                          compose_chain(router)};
    for (const auto& f : fusion_registrations()) {
        bool found = false;
        for (const auto& chain : chains) {
            found = found || std::search(chain.begin(), chain.end(), f.stages.begin(),
                                         f.stages.end()) != chain.end();
        }
        EXPECT_TRUE(found) << f.stages.front() << "...";
    }
}

// ---- checks ---------------------------------------------------------------------

struct placement_case {
    const char* label;
    const char* text;
    uint32_t line;
    uint32_t column;
    const char* message;
};

const placement_case placement_cases[] = {
    {"placement_wrong_order",
     "[pipeline]\nplacement = [[\"rx\"], [\"parse\", \"tx\", \"bridge\"]]\n", 2, 13,
     "pipeline.placement: the groups must list the stages of this mode in order (rx, parse, "
     "bridge, respond, tx), each exactly once"},
    {"placement_missing_stage", "[pipeline]\nplacement = [[\"rx\", \"parse\", \"tx\"]]\n", 2, 13,
     "pipeline.placement: the groups must list the stages of this mode in order (rx, parse, "
     "bridge, respond, tx), each exactly once"},
    {"placement_duplicate_stage",
     "[pipeline]\nplacement = [[\"rx\", \"parse\", \"bridge\"], [\"bridge\", \"tx\"]]\n", 2, 13,
     "pipeline.placement: the groups must list the stages of this mode in order (rx, parse, "
     "bridge, respond, tx), each exactly once"},
    {"placement_unknown_stage",
     "[pipeline]\nplacement = [[\"rx\", \"parse\", \"nat\", \"bridge\", \"tx\"]]\n", 2, 13,
     "pipeline.placement: the groups must list the stages of this mode in order (rx, parse, "
     "bridge, respond, tx), each exactly once"},
    {"placement_of_the_router_chain_in_bridge_mode",
     "[pipeline]\nplacement = [[\"rx\", \"parse\", \"route\", \"respond\", \"tx\"]]\n", 2, 13,
     "pipeline.placement: the groups must list the stages of this mode in order (rx, parse, "
     "bridge, respond, tx), each exactly once"},
};

class placement_check : public ::testing::TestWithParam<placement_case> {};

TEST_P(placement_check, names_the_chain_at_the_placement) {
    const placement_case& c = GetParam();
    config_result r = parse_config(c.text, "bad.toml");
    ASSERT_TRUE(r.ok()) << messages(r.errors)[0];
    std::vector<config_error> errors;
    check_config(r.config, errors);
    ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(messages(errors));
    EXPECT_EQ(errors[0].to_string(), "bad.toml:" + std::to_string(c.line) + ":" +
                                         std::to_string(c.column) + ": " + c.message);
}

INSTANTIATE_TEST_SUITE_P(all, placement_check, ::testing::ValuesIn(placement_cases),
                         [](const ::testing::TestParamInfo<placement_case>& info) {
                             return std::string(info.param.label);
                         });

TEST(check_config, a_placement_of_the_chain_passes) {
    const app_config c = parsed("[pipeline]\nplacement = [[\"rx\", \"parse\"], [\"bridge\", "
                                "\"respond\", \"tx\"]]\n");
    std::vector<config_error> errors;
    check_config(c, errors);
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(messages(errors));
}

TEST(check_config, a_bad_placement_shape_is_not_reported_twice) {
    config_result r = parse_config("[pipeline]\nplacement = [[], [\"rx\"]]\n", "bad.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    check_config(r.config, r.errors);
    EXPECT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r.errors));
}

TEST(check_config, the_route_feature_checks_its_routes) {
    const app_config c = parsed(R"([dataplane]
mode = "router"
[[interface]]
port = "p0"
addresses = ["192.0.2.1/24"]
[[route]]
prefix = "203.0.113.0/24"
via = "198.51.100.2"
)");
    std::vector<config_error> errors;
    check_config(c, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0].to_string(),
                ::testing::StartsWith("t.toml:6:1: route 203.0.113.0/24: next hop 198.51.100.2 "
                                      "is not inside any interface subnet"));
}

TEST(load_checked_config, the_embedded_default_is_valid) {
    const config_result r = load_checked_config(std::nullopt);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.config.source, "<embedded default>");
}

TEST(restart_only_changes, names_every_key_that_needs_a_restart) {
    using keys = std::vector<std::string>;
    const app_config base = parsed("[dataplane]\nmode = \"router\"\n[[interface]]\nport = "
                                   "\"p0\"\naddresses = [\"192.0.2.1/24\"]\n");
    app_config c = base;
    c.router.interfaces[0].addresses[0].length = 25;
    c.router.routes.push_back({});
    EXPECT_EQ(restart_only_changes(base, c), keys{}) << "tables change in a new generation";
    c = base;
    c.mode = forwarding_mode::bridge;
    EXPECT_EQ(restart_only_changes(base, c), keys{"dataplane.mode"});
    c = base;
    c.validate = false;
    c.fuse = false;
    c.timing_sample = 1;
    EXPECT_EQ(restart_only_changes(base, c),
              (keys{"dataplane.validate", "pipeline.timing_sample", "pipeline.fuse"}))
        << "every key, not the first one";
    c = base;
    c.idle_rx_backoff = 1;
    c.tx_retries = 0;
    c.ring_full = ring_full_policy::drop;
    EXPECT_EQ(restart_only_changes(base, c),
              (keys{"dataplane.idle_rx_backoff", "pipeline.ring_full", "pipeline.tx_retries"}))
        << "read once at start: a reload must not pretend to apply them";
    c = base;
    c.responder.error_rate = 7;
    EXPECT_EQ(restart_only_changes(base, c), keys{"[responder]"});
    c = base;
    c.mbufs = 4095;
    EXPECT_EQ(restart_only_changes(base, c), keys{"mempool.mbufs"});
    c = base;
    c.mbuf_cache = 128;
    c.mbuf_data_room = 4096;
    EXPECT_EQ(restart_only_changes(base, c), (keys{"mempool.cache_size", "mempool.data_room"}))
        << "the names of the configuration file";
    c = base;
    c.ports.push_back({});
    EXPECT_EQ(restart_only_changes(base, c), keys{"[[port]] (count)"});
}

// ---- stages, generations, equivalence (EAL) -------------------------------------------

// The configurations whose chains the composer can build today, each with the
// ports its stages are made for.
struct chain_case {
    const char* name;
    std::string toml;
    std::vector<port_plan> ports;
    std::vector<uint16_t> in_ports;  // where bursts arrive
};

const std::string our_interface = R"(
[[interface]]
port = "p0"
mac = "02:00:00:00:00:02"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]
)";

std::vector<chain_case> chain_cases() {
    return {
        {"bridge_one_armed", "[[port]]\nname = \"p0\"\npeer = \"p0\"\n" + our_interface,
         {port_plan{0, "p0", 0}}, {0}},
        {"bridge_pair",
         "[[port]]\nname = \"p0\"\npeer = \"p1\"\n[[port]]\nname = \"p1\"\npeer = \"p0\"\n" +
             our_interface,
         {port_plan{0, "p0", 1}, port_plan{1, "p1", 0}}, {0, 1}},
        {"bridge_unvalidated", "[dataplane]\nvalidate = false\n",
         {port_plan{0, "p0", 1}, port_plan{1, "p1", 0}}, {0, 1}},
        {"router", R"([dataplane]
mode = "router"
[[port]]
name = "p0"
[[port]]
name = "p1"
)" + our_interface + R"(
[[interface]]
port = "p1"
mac = "02:00:00:00:01:01"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]
mtu = 1400
[[route]]
prefix = "203.0.113.0/24"
via = "198.51.100.2"
[[route]]
prefix = "2001:db8:99::/48"
via = "2001:db8:2::2"
[[neighbor]]
address = "198.51.100.2"
mac = "02:00:00:00:0a:02"
[[neighbor]]
address = "2001:db8:2::2"
mac = "02:00:00:00:0a:06"
[[neighbor]]
address = "198.51.100.7"
mac = "02:00:00:00:0a:07"
)",
         {port_plan{0, "p0", no_port}, port_plan{1, "p1", no_port}}, {0, 1}},
    };
}

// A firewall in front of a chain: it breaks the fusions' adjacency, drops
// some of the random traffic and counts some.
const std::string some_firewall = R"(
[firewall]
default = "accept"
[[firewall.rule]]
action = "count"
proto = "udp"
[[firewall.rule]]
action = "drop"
proto = "udp"
dst = "203.0.113.0/27"
[[firewall.rule]]
action = "drop"
proto = "icmpv6"
icmp_type = 128
[[firewall.rule]]
action = "reject"
proto = "udp"
dport = 7
)";

std::vector<chain_case> all_chain_cases() {
    auto all = chain_cases();
    for (auto c : chain_cases()) {
        if (c.toml.find("validate = false") != std::string::npos) {
            continue;  // the firewall needs the parse stage
        }
        c.name = c.name == std::string("router") ? "router_firewall" : "bridge_firewall";
        c.toml += some_firewall;
        if (std::none_of(all.begin(), all.end(),
                         [&](const chain_case& x) { return std::string(x.name) == c.name; })) {
            all.push_back(c);
        }
    }
    return all;
}

uint16_t ones_sum(const uint8_t* p, std::size_t n, uint32_t sum = 0) {
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

using ip4 = std::array<uint8_t, 4>;
using ip6 = std::array<uint8_t, 16>;

bytes frame4(const ip4& src, const ip4& dst, uint8_t proto, bytes l4, uint8_t ttl = 64,
             bool bad_checksum = false, uint16_t frag = 0) {
    if (proto == corpus::proto_icmp && l4.size() >= 4) {
        l4[2] = l4[3] = 0;
        const uint16_t c = static_cast<uint16_t>(~ones_sum(l4.data(), l4.size()));
        l4[2] = static_cast<uint8_t>(c >> 8);
        l4[3] = static_cast<uint8_t>(c);
    }
    corpus::ipv4_header h;
    h.src = src;
    h.dst = dst;
    h.proto = proto;
    h.ttl = ttl;
    h.bad_checksum = bad_checksum;
    h.frag = frag;
    return corpus::pad_to(corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4)),
                          60);
}

bytes frame6(const ip6& src, const ip6& dst, uint8_t next, bytes l4, uint8_t hops = 64) {
    if (next == corpus::proto_icmpv6 && l4.size() >= 4) {
        l4[2] = l4[3] = 0;
        bytes pseudo(src.begin(), src.end());
        pseudo.insert(pseudo.end(), dst.begin(), dst.end());
        const auto len = static_cast<uint32_t>(l4.size());
        for (uint8_t b : {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                          static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
                          uint8_t{0}, uint8_t{0}, uint8_t{0}, next}) {
            pseudo.push_back(b);
        }
        pseudo.insert(pseudo.end(), l4.begin(), l4.end());
        const uint16_t c = static_cast<uint16_t>(~ones_sum(pseudo.data(), pseudo.size()));
        l4[2] = static_cast<uint8_t>(c >> 8);
        l4[3] = static_cast<uint8_t>(c);
    }
    corpus::ipv6_header h;
    h.src = src;
    h.dst = dst;
    h.next = next;
    h.hop_limit = hops;
    return corpus::cat(corpus::ethernet(corpus::ether_ipv6), corpus::ipv6(h, l4));
}

bytes arp_request(const ip4& sender, const ip4& target) {
    bytes a = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x01};
    a.insert(a.end(), sender.begin(), sender.end());
    a.insert(a.end(), {0, 0, 0, 0, 0, 0});
    a.insert(a.end(), target.begin(), target.end());
    bytes f = corpus::ethernet(corpus::ether_arp);
    std::fill(f.begin(), f.begin() + 6, 0xff);
    return corpus::pad_to(corpus::cat(f, a), 60);
}

// A random frame of the mix every chain sees: echo requests for us (the
// fused bridge's fast head), routed UDP (the fused router's fast head), and
// everything that makes a stage leave its fast path.
bytes random_frame(std::mt19937& rng) {
    const ip4 us4{192, 0, 2, 1}, host4{192, 0, 2, 10};
    const ip6 us6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const ip6 host6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    const ip6 far6{0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    const std::size_t size = rng() % 120;
    const auto last = static_cast<uint8_t>(1 + rng() % 200);
    switch (rng() % 20) {
        case 0: case 1: case 2: case 3:
            return frame4(host4, us4, corpus::proto_icmp, corpus::icmp(8, 0, size));
        case 4: case 5: case 6: case 7:
            return frame4(host4, {203, 0, 113, last}, corpus::proto_udp, corpus::udp(9, 9, size));
        case 8:
            return frame4(host4, {203, 0, 113, last}, corpus::proto_udp, corpus::udp(9, 9, size),
                          static_cast<uint8_t>(rng() % 2));  // TTL 0 / 1
        case 9:
            return frame4(host4, {198, 51, 100, static_cast<uint8_t>(rng() % 2 ? 7 : 9)},
                          corpus::proto_udp, corpus::udp(9, 9, size));  // connected
        case 10:
            return frame4(host4, {100, 64, 0, last}, corpus::proto_udp, corpus::udp(9, 9, size));
        case 11:
            return frame4(host4, us4, corpus::proto_udp, corpus::udp(9, 7, size));
        case 12:
            return frame6(host6, us6, corpus::proto_icmpv6, corpus::icmp(128, 0, size));
        case 13:
            return frame6(host6, far6, corpus::proto_udp, corpus::udp(9, 9, size));
        case 14:
            return arp_request(host4, rng() % 2 ? us4 : ip4{192, 0, 2, 99});
        case 15:
            return frame4(host4, us4, corpus::proto_icmp, corpus::icmp(8, 0, size), 64, true);
        case 16:
            return corpus::truncated(
                frame4(host4, {203, 0, 113, last}, corpus::proto_udp, corpus::udp(9, 9, size)),
                14 + rng() % 30);
        case 17: {
            bytes f = corpus::cat(corpus::ethernet(corpus::ether_ipv4, {{corpus::ether_vlan, 5}}),
                                  corpus::ipv4({}, corpus::udp(9, 9, size)));
            return corpus::pad_to(f, 64);
        }
        case 18:  // too big for p1's MTU of 1400
            return frame4(host4, {203, 0, 113, last}, corpus::proto_udp,
                          corpus::udp(9, 9, 1380 + rng() % 100), 64, false,
                          static_cast<uint16_t>(rng() % 2 ? 0x4000 : 0));
        default:
            return frame4({198, 51, 100, 2}, {203, 0, 113, last}, corpus::proto_udp,
                          corpus::udp(9, 9, size));
    }
}

class compose_test : public ::testing::Test {
  protected:
    static constexpr unsigned pool_size = 2047;

    static void SetUpTestSuite() {
        if (unit::dpdk_environment::pool() == nullptr) {
            return;
        }
        pool_ = rte_pktmbuf_pool_create("compose_pool", pool_size, 0, packet_meta_priv_size,
                                        RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
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

    static inline rte_mempool* pool_ = nullptr;
};

TEST_F(compose_test, make_stages_fuses_only_where_asked_and_adjacent) {
    app_config router = parsed(chain_cases()[3].toml);
    std::string error;
    auto slow = slow_path::create(1, 64, error);
    ASSERT_TRUE(slow) << error;
    const std::vector<port_plan> ports = chain_cases()[3].ports;
    stage_deps deps{0, &router, &ports, slow.get(), rte_get_tsc_hz()};
    auto names_of = [&](const std::vector<std::string>& group, bool fuse) {
        std::vector<std::unique_ptr<stage>> out;
        std::string why;
        EXPECT_TRUE(make_stages(group, deps, fuse, out, why)) << why;
        std::vector<std::string> names;
        for (const auto& s : out) {
            names.emplace_back(s->name());
        }
        return names;
    };
    EXPECT_THAT(names_of({"parse", "route", "respond"}, true), ElementsAre("parse+route+respond"));
    EXPECT_THAT(names_of({"parse", "route", "respond"}, false),
                ElementsAre("parse", "route", "respond"));
    EXPECT_THAT(names_of({"parse", "route"}, true), ElementsAre("parse", "route"));
    EXPECT_THAT(names_of({"parse", "bridge", "respond"}, true),
                ElementsAre("parse+bridge+respond"));
    std::vector<std::unique_ptr<stage>> out;
    EXPECT_FALSE(make_stages({"parse", "nat"}, deps, true, out, error));
    EXPECT_EQ(error, "unknown stage 'nat'");
}

TEST_F(compose_test, a_generation_holds_the_fib_of_its_configuration) {
    std::string error;
    auto slow = slow_path::create(1, 64, error);
    ASSERT_TRUE(slow) << error;
    const chain_case c = chain_cases()[3];
    const app_config config = parsed(c.toml);
    std::vector<std::string> errors;
    const uint64_t alive = generation::alive();
    {
        auto g = compile_generation(config, {&c.ports, &slow->neighbors()}, 7, errors);
        ASSERT_TRUE(g) << ::testing::PrintToString(errors);
        EXPECT_EQ(g->number(), 7u);
        const fib* f = g->find<fib>();
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->generation(), 7u);
        EXPECT_EQ(f->routes4(), 5u);  // 2 connected, 2 local, 1 static
        EXPECT_TRUE(f->owns4(htonl(0xc0000201)));
        EXPECT_EQ(generation::alive(), alive + 1);
    }
    EXPECT_EQ(generation::alive(), alive);
    // A configuration whose interface names no port in use builds nothing.
    app_config bad = config;
    bad.router.interfaces[1].port = "p7";
    errors.clear();
    EXPECT_EQ(compile_generation(bad, {&c.ports, &slow->neighbors()}, 8, errors), nullptr);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0], ::testing::HasSubstr("interface port 'p7' is not one of the ports"));
    EXPECT_EQ(generation::alive(), alive);
}

// What a chain did with one burst.
struct outcome {
    std::vector<bytes> frames;
    std::vector<uint16_t> egress;
    std::vector<bool> generated;
    std::vector<uint64_t> counts;  // consumed, generated, generated_dropped, drops..., events...
    std::vector<bytes> held;       // punted to the control thread
    std::size_t learned = 0;
    bool operator==(const outcome&) const = default;
};

// Fresh stages of the configuration's chain (fused or not) on one lcore,
// one burst through them as a segment runs them, at TSC time 0.
outcome run_chain(const app_config& config, const std::vector<port_plan>& ports, slow_path& slow,
                  const generation& gen, rte_mempool* pool, const std::vector<bytes>& frames,
                  uint16_t in_port, bool fuse) {
    outcome o;
    const auto chain = compose_chain(config);
    const std::vector<std::string> middle(chain.begin() + 1, chain.end() - 1);
    stage_deps deps{0, &config, &ports, &slow, rte_get_tsc_hz()};
    std::vector<std::unique_ptr<stage>> stages;
    std::string error;
    EXPECT_TRUE(make_stages(middle, deps, fuse, stages, error)) << error;
    auto counters = std::make_unique<segment_counters>();
    stage_context ctx(*counters, &gen);
    ctx.set_now(0);
    burst b;
    for (const bytes& f : frames) {
        rte_mbuf* m = unit::make_mbuf(pool, f, in_port);
        if (m == nullptr) {
            return o;
        }
        std::memset(static_cast<void*>(meta_of(m)), 0xa5, sizeof(packet_meta));
        b.pkts[b.count++] = m;
    }
    b.in_port = in_port;
    for (auto& s : stages) {
        s->process(b, ctx);
        if (b.count == 0) {
            break;
        }
    }
    for (uint16_t k = 0; k < b.count; ++k) {
        o.frames.push_back(unit::frame_of(b.pkts[k]));
        o.egress.push_back(b.out_port != no_port ? b.out_port : b.pkts[k]->port);
        o.generated.push_back(is_generated(b.pkts[k]));
        rte_pktmbuf_free(b.pkts[k]);
    }
    ctx.free_discarded();
    o.counts = {counters->consumed.get(), counters->generated.get(),
                counters->generated_dropped.get()};
    for (const auto& d : counters->drops) {
        o.counts.push_back(d.get());
    }
    for (const auto& e : counters->events) {
        o.counts.push_back(e.get());
    }
    learn_message msg;
    while (rte_ring_sc_dequeue_elem(slow.learn(0), &msg, sizeof msg) == 0) {
        ++o.learned;
    }
    void* held = nullptr;
    while (rte_ring_sc_dequeue(slow.punt(0), &held) == 0) {
        o.held.push_back(unit::frame_of(static_cast<rte_mbuf*>(held)));
        rte_pktmbuf_free(static_cast<rte_mbuf*>(held));
    }
    // Nothing is lost: every packet left in the burst, was dropped, consumed
    // or held (a generated reply replaces the packet it answers).
    uint64_t dropped = 0;
    for (const auto& d : counters->drops) {
        dropped += d.get();
    }
    EXPECT_EQ(frames.size(), o.frames.size() - counters->generated.get() + dropped +
                                 counters->consumed.get() + o.held.size());
    return o;
}

TEST_F(compose_test, fused_and_unfused_chains_give_the_same_frames_order_and_counters) {
    for (const chain_case& c : all_chain_cases()) {
        SCOPED_TRACE(c.name);
        const app_config config = parsed(c.toml);
        std::string error;
        auto slow = slow_path::create(1, 64, error);
        ASSERT_TRUE(slow) << error;
        std::vector<std::string> errors;
        const auto gen = compile_generation(config, {&c.ports, &slow->neighbors()}, 1, errors);
        ASSERT_TRUE(gen) << ::testing::PrintToString(errors);
        std::mt19937 rng(1009);
        std::size_t forwarded = 0, generated = 0, dropped_bursts = 0;
        uint64_t rejected = 0;  // by the firewall's reject rule, answered or not
        for (int round = 0; round < 400; ++round) {
            std::vector<bytes> frames;
            const unsigned n = 1 + rng() % 48;
            for (unsigned k = 0; k < n; ++k) {
                frames.push_back(random_frame(rng));
            }
            const uint16_t in_port = c.in_ports[rng() % c.in_ports.size()];
            const outcome fused =
                run_chain(config, c.ports, *slow, *gen, pool_, frames, in_port, true);
            const outcome apart =
                run_chain(config, c.ports, *slow, *gen, pool_, frames, in_port, false);
            ASSERT_EQ(fused.frames.size(), apart.frames.size()) << "round " << round;
            ASSERT_TRUE(fused == apart) << "round " << round;
            forwarded += static_cast<std::size_t>(
                std::count(fused.generated.begin(), fused.generated.end(), false));
            generated += static_cast<std::size_t>(
                std::count(fused.generated.begin(), fused.generated.end(), true));
            dropped_bursts += fused.frames.size() < frames.size();
            rejected += fused.counts[3 + static_cast<std::size_t>(drop_reason::rejected)];
            ASSERT_EQ(rte_mempool_avail_count(pool_), pool_size) << "round " << round;
        }
        // The mix exercised what the chain does.
        EXPECT_GT(forwarded, gen->find<acl_table>() != nullptr ? 700u : 1000u);
        if (config.validate) {
            EXPECT_GT(generated, 100u);
            EXPECT_GT(dropped_bursts, 100u);
        }
        if (const acl_table* fw = gen->find<acl_table>()) {
            EXPECT_GT(fw->hits(0)[0].packets.get(), 100u) << "the count rule saw UDP";
            EXPECT_GT(fw->hits(0)[1].packets.get(), 10u) << "the drop rule dropped";
            EXPECT_GT(fw->hits(0)[3].packets.get(), 10u) << "the reject rule matched";
            EXPECT_EQ(2 * rejected, fw->hits(0)[3].packets.get())
                << "every rejected packet reached the responder, none was routed (the hits "
                   "count the fused and the unfused run)";
        }
    }
}

// The dataplane of a router on two ring ports, run from a file: reload
// swaps the generation when the file is valid and needs no restart, and
// changes nothing otherwise.
TEST_F(compose_test, dataplane_reload_swaps_the_generation_or_keeps_it) {
    std::vector<rte_ring*> rings;
    std::vector<std::string> names;
    for (int p = 0; p < 2; ++p) {
        rte_ring* rx = rte_ring_create(("cmp_rx" + std::to_string(p)).c_str(), 256, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
        rte_ring* tx = rte_ring_create(("cmp_tx" + std::to_string(p)).c_str(), 256, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_NE(rx, nullptr);
        ASSERT_NE(tx, nullptr);
        rings.insert(rings.end(), {rx, tx});
        const std::string name = "cmp" + std::to_string(p);
        ASSERT_GE(rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, rte_socket_id()), 0);
        names.push_back("net_ring_" + name);
    }
    const std::string base = "[dataplane]\nmode = \"router\"\n[mempool]\nmbufs = 4095\n"
                             "[[port]]\nname = \"" + names[0] + "\"\nrx_desc = 128\n"
                             "tx_desc = 128\n[[port]]\nname = \"" + names[1] +
                             "\"\nrx_desc = 128\ntx_desc = 128\n"
                             "[[interface]]\nport = \"" + names[0] +
                             "\"\naddresses = [\"192.0.2.1/24\"]\n[[interface]]\nport = \"" +
                             names[1] + "\"\naddresses = [\"198.51.100.1/24\"]\n";
    const std::string path = ::testing::TempDir() + "compose_dataplane.toml";
    auto write = [&](const std::string& text) { std::ofstream(path) << text; };
    write(base);
    const config_result cfg = load_checked_config(path);
    ASSERT_TRUE(cfg.ok()) << ::testing::PrintToString(messages(cfg.errors));
    const uint64_t alive = generation::alive();
    {
        std::string error;
        dataplane::start_failure failure = dataplane::start_failure::runtime;
        auto dp = dataplane::start(cfg.config, error, failure);
        ASSERT_TRUE(dp) << error;
        EXPECT_EQ(failure, dataplane::start_failure::none);
        EXPECT_EQ(dp->info().number, 1u);
        EXPECT_EQ(dp->info().routes4, 4u);  // 2 connected, 2 local
        EXPECT_EQ(generation::alive(), alive + 1);
        EXPECT_EQ(dp->pipe().stats().stages.size(), 3u);  // rx, parse+route+respond, tx

        const reload_outcome none = dp->reload(std::nullopt);
        EXPECT_FALSE(none.ok);
        EXPECT_THAT(none.lines, ElementsAre("dpdk-app: reload: running on the embedded "
                                            "configuration, nothing to re-read"));

        write(base + "[[route]]\nprefix = \"203.0.113.0/24\"\nvia = \"198.51.100.2\"\n");
        const reload_outcome ok = dp->reload(path);
        EXPECT_TRUE(ok.ok) << ::testing::PrintToString(ok.lines);
        EXPECT_EQ(dp->info().number, 2u);
        EXPECT_EQ(dp->info().routes4, 5u);
        EXPECT_EQ(dp->config().router.routes.size(), 1u);
        EXPECT_EQ(generation::alive(), alive + 1) << "the old generation is freed";

        const std::pair<std::string, std::string> rejected[] = {
            {base + "[[route]\n", "reload rejected: 1 configuration error(s); generation 2 "
                                  "stays in use"},
            {base + "[[route]]\nprefix = \"203.0.113.0/24\"\nvia = \"10.0.0.1\"\n",
             "reload rejected: 1 configuration error(s); generation 2 stays in use"},
            {base + "[pipeline]\nfuse = false\n",
             "reload rejected: pipeline.fuse changed, which needs a restart; generation 2 stays "
             "in use"},
        };
        for (const auto& [text, verdict] : rejected) {
            write(text);
            const reload_outcome r = dp->reload(path);
            EXPECT_FALSE(r.ok);
            ASSERT_FALSE(r.lines.empty());
            EXPECT_EQ(r.lines.back(), "dpdk-app: " + verdict);
            EXPECT_EQ(dp->info().number, 2u);
            EXPECT_EQ(dp->info().routes4, 5u);
            EXPECT_EQ(dp->config().router.routes.size(), 1u);
            EXPECT_EQ(generation::alive(), alive + 1);
        }
        EXPECT_EQ(dp->info().reloads, 1u);
        EXPECT_EQ(dp->info().reload_failures, 4u);
    }
    EXPECT_EQ(generation::alive(), alive);
    std::remove(path.c_str());
    for (const auto& name : names) {
        uint16_t id = 0;
        if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) {
            rte_eth_dev_close(id);
        }
    }
    for (rte_ring* r : rings) {
        rte_ring_free(r);
    }
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

// A policer is applied by the police stage, in the chain between classify
// and the forwarding stage once a port or a rule names one; a shaper is
// refused until a stage applies it.
TEST(check_config, a_policer_puts_the_police_stage_in_the_chain_once_attached) {
    const std::string policer =
        "[[policer]]\nname = \"ssh\"\nkind = \"srtcm\"\ncir = \"1000pps\"\ncbs = \"10packets\"\n";
    config_result alone = parse_config(policer, "p.toml");
    check_config(alone.config, alone.errors);
    EXPECT_TRUE(alone.ok()) << (alone.errors.empty() ? "" : alone.errors[0].to_string());
    EXPECT_EQ(compose_chain(alone.config),
              (std::vector<std::string>{"rx", "parse", "bridge", "respond", "tx"}));

    config_result on_port = parse_config(
        "[[port]]\nname = \"p0\"\npolice = \"ssh\"\n[firewall]\n" + policer, "p.toml");
    check_config(on_port.config, on_port.errors);
    EXPECT_TRUE(on_port.ok()) << (on_port.errors.empty() ? "" : on_port.errors[0].to_string());
    EXPECT_EQ(compose_chain(on_port.config),
              (std::vector<std::string>{"rx", "parse", "classify", "police", "bridge", "respond",
                                        "tx"}));

    config_result shaper = parse_config(
        "[[policer]]\nname = \"out\"\nkind = \"shaper\"\nrate = \"10Mbit\"\nqueue = \"100packets\"\n",
        "p.toml");
    check_config(shaper.config, shaper.errors);
    ASSERT_EQ(shaper.errors.size(), 1u);
    EXPECT_EQ(shaper.errors[0].to_string(),
              "p.toml:1:1: policer 'out': shaper policers are not applied yet (this release "
              "applies the srtcm, trtcm and rfc4115 meters); remove it or make it a meter");
}

}  // namespace
}  // namespace dpdk_app
