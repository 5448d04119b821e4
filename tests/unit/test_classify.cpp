// The firewall: [firewall] parsing and its errors, the rte_acl rule set
// (first match wins, the default policy, every match field, IPv4 and IPv6,
// range and prefix edges, fragments, VLAN, count rules, in_port), the
// classify stage's drops and hit counters, and their carry-over by id.
#include <algorithm>
#include <array>
#include <fstream>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "classify/acl.hpp"
#include "classify/classify_stage.hpp"
#include "config/config.hpp"
#include "corpus.hpp"
#include "dataplane/compose.hpp"
#include "eal_env.hpp"
#include "firewall_util.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "parse/parse_stage.hpp"
#include "respond/build.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;
using ::testing::HasSubstr;
using unit::checked;
using unit::messages;

// ---- configuration ---------------------------------------------------------------------

TEST(firewall_config, reads_every_field) {
    const auto r = checked(R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "ssh"
comment = "admins only"
action = "accept"
in_port = "p0"
src = "10.0.0.0/8"
dst = "192.0.2.0/24"
proto = "tcp"
sport = "1024-65535"
dport = 22
tcp_flags = "SYN/SYN,ACK,RST,FIN"
dscp = 46
vlan = 100
fragment = "none"
[[firewall.rule]]
action = "count"
proto = "icmpv6"
icmp_type = 128
icmp_code = 0
[[firewall.rule]]
action = "drop"
proto = 47
fragment = "non-first"
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_TRUE(r.config.firewall);
    const auto& fw = *r.config.firewall;
    EXPECT_EQ(fw.default_action, firewall_action::drop);
    ASSERT_EQ(fw.rules.size(), 3u);
    const auto& a = fw.rules[0];
    EXPECT_EQ(a.id, "ssh");
    EXPECT_EQ(a.comment, "admins only");
    EXPECT_EQ(a.in_port, "p0");
    EXPECT_EQ(to_string(*a.src), "10.0.0.0/8");
    EXPECT_EQ(to_string(*a.dst), "192.0.2.0/24");
    EXPECT_EQ(a.v6, false);
    EXPECT_EQ(a.proto, 6);
    EXPECT_EQ(a.sport, (port_range{1024, 65535}));
    EXPECT_EQ(a.dport, (port_range{22, 22}));
    EXPECT_EQ(a.tcp_flags, 0x02);
    EXPECT_EQ(a.tcp_flags_mask, 0x17);
    EXPECT_EQ(a.dscp, 46);
    EXPECT_EQ(a.vlan, 100);
    EXPECT_EQ(a.fragment, fragment_match::none);
    EXPECT_EQ(fw.rules[1].action, firewall_action::count);
    EXPECT_EQ(fw.rules[1].v6, true) << "icmpv6 is IPv6 only";
    EXPECT_EQ(fw.rules[1].icmp_type, 128);
    EXPECT_EQ(fw.rules[2].proto, 47);
    EXPECT_FALSE(fw.rules[2].v6) << "no address, no ICMP: both families";
}

TEST(firewall_config, an_empty_section_accepts_everything) {
    const auto r = checked("[firewall]\n");
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.config.firewall);
    EXPECT_EQ(r.config.firewall->default_action, firewall_action::accept);
    EXPECT_THAT(compose_chain(r.config), ::testing::ElementsAre("rx", "parse", "classify",
                                                                "bridge", "respond", "tx"));
    EXPECT_THAT(compose_chain(checked("").config),
                ::testing::ElementsAre("rx", "parse", "bridge", "respond", "tx"))
        << "no [firewall]: no classify stage";
}

struct bad_case {
    std::string name;
    std::string text;
    std::string message;
};

void PrintTo(const bad_case& c, std::ostream* os) {
    *os << c.name;
}

class firewall_config_errors : public ::testing::TestWithParam<bad_case> {};

TEST_P(firewall_config_errors, are_reported_with_their_position) {
    const auto r = checked(GetParam().text);
    ASSERT_FALSE(r.ok()) << "accepted:\n" << GetParam().text;
    const auto all = messages(r.errors);
    EXPECT_THAT(all, ::testing::Contains(HasSubstr(GetParam().message)))
        << ::testing::PrintToString(all);
    for (const auto& e : r.errors) {
        EXPECT_GT(e.where.line, 0u) << e.to_string();
    }
}

const std::string rule = "[firewall]\ndefault = \"drop\"\n[[firewall.rule]]\n";

INSTANTIATE_TEST_SUITE_P(
    cases, firewall_config_errors,
    ::testing::Values(
        bad_case{"no_default", "[firewall]\n[[firewall.rule]]\naction = \"accept\"\n",
                 "a rule list needs default"},
        bad_case{"no_action", rule + "proto = \"tcp\"\n", "every rule needs action"},
        bad_case{"bad_action", rule + "action = \"allow\"\n", "expected one of"},
        bad_case{"police_unknown", rule + "action = \"accept\"\npolice = \"p\"\n",
                 "firewall.rule.police: no [[policer]] is named 'p'"},
        bad_case{"police_on_drop", rule + "action = \"drop\"\npolice = \"p\"\n",
                 "firewall.rule.police: only a rule with action = \"accept\" polices"},
        bad_case{"police_not_a_name", rule + "action = \"accept\"\npolice = 3\n",
                 "firewall.rule.police: expected the name of a [[policer]]"},
        bad_case{"bad_state", rule + "action = \"accept\"\nstate = [\"new\", \"open\"]\n",
                 "firewall.rule.state: expected one or a list"},
        bad_case{"ports_need_proto", rule + "action = \"accept\"\ndport = 22\n",
                 "dport: needs proto"},
        bad_case{"ports_need_l4_proto", rule + "action = \"accept\"\nproto = \"icmp\"\nsport = 1\n",
                 "sport: needs proto"},
        bad_case{"bad_range", rule + "action = \"accept\"\nproto = \"udp\"\ndport = \"9-3\"\n",
                 "expected a port 0..65535 or a range"},
        bad_case{"port_too_big", rule + "action = \"accept\"\nproto = \"udp\"\ndport = 65536\n",
                 "expected a port"},
        bad_case{"icmp_type_needs_icmp", rule + "action = \"accept\"\nicmp_type = 8\n",
                 "icmp_type: needs proto"},
        bad_case{"icmp_family", rule + "action = \"accept\"\nproto = \"icmp\"\nsrc = \"2001:db8::/32\"\n",
                 "proto icmp with IPv6 addresses"},
        bad_case{"families", rule + "action = \"accept\"\nsrc = \"10.0.0.0/8\"\ndst = \"2001:db8::/32\"\n",
                 "different address families"},
        bad_case{"host_bits", rule + "action = \"accept\"\nsrc = \"10.0.0.1/8\"\n",
                 "firewall.rule.src"},
        bad_case{"bad_proto", rule + "action = \"accept\"\nproto = \"tcpp\"\n",
                 "expected a protocol number"},
        bad_case{"bad_flags", rule + "action = \"accept\"\nproto = \"tcp\"\ntcp_flags = \"SYN\"\n",
                 "expected \"SET/EXAMINED\""},
        bad_case{"flags_outside_mask",
                 rule + "action = \"accept\"\nproto = \"tcp\"\ntcp_flags = \"SYN,ACK/SYN\"\n",
                 "expected \"SET/EXAMINED\""},
        bad_case{"flags_need_tcp", rule + "action = \"accept\"\nproto = \"udp\"\ntcp_flags = \"SYN/SYN\"\n",
                 "tcp_flags needs proto"},
        bad_case{"dscp_range", rule + "action = \"accept\"\ndscp = 64\n", "0..63"},
        bad_case{"vlan_range", rule + "action = \"accept\"\nvlan = 4096\n", "0..4095"},
        bad_case{"fragment_value", rule + "action = \"accept\"\nfragment = \"all\"\n",
                 "expected one of"},
        bad_case{"nonfirst_with_ports",
                 rule + "action = \"accept\"\nproto = \"udp\"\ndport = 53\nfragment = \"non-first\"\n",
                 "a non-first fragment has no L4 header"},
        bad_case{"duplicate_id",
                 rule + "id = \"a\"\naction = \"accept\"\n[[firewall.rule]]\nid = \"a\"\naction = \"drop\"\n",
                 "id 'a' is used twice"},
        bad_case{"unknown_key", rule + "action = \"accept\"\nsource = \"10.0.0.0/8\"\n",
                 "unknown key 'firewall.rule.source'"},
        bad_case{"unknown_port",
                 "[[port]]\nname = \"p0\"\n[[port]]\nname = \"p1\"\n" + rule +
                     "action = \"accept\"\nin_port = \"p9\"\n",
                 "in_port 'p9' is not one of the [[port]] tables"},
        bad_case{"needs_validation", "[dataplane]\nvalidate = false\n[firewall]\n",
                 "needs dataplane.validate = true"}));

// ---- the rule set on packets (EAL) -------------------------------------------------------

struct frame_in {
    bytes frame;
    uint16_t port = 0;
};

bytes v4(uint8_t proto, const bytes& l4, std::array<uint8_t, 4> src = {10, 1, 2, 3},
         std::array<uint8_t, 4> dst = {192, 0, 2, 10}, uint16_t frag = 0, uint8_t tos = 0,
         std::vector<vlan_tag> tags = {}) {
    ipv4_header h;
    h.proto = proto;
    h.src = src;
    h.dst = dst;
    h.frag = frag;
    h.tos = tos;
    return cat(ethernet(ether_ipv4, tags), ipv4(h, l4));
}

bytes v6(uint8_t next, const bytes& l4, uint8_t tc = 0) {
    ipv6_header h;
    h.next = next;
    h.traffic_class = tc;
    return cat(ethernet(ether_ipv6), ipv6(h, l4));
}

class classify_test : public unit::pool_test<classify_test> {
  public:
    static constexpr const char* pool_name = "classify_pool";
    static constexpr unsigned pool_size = 511;

  protected:
    // Compiles the [firewall] of text (two ports, p0 = 0 and p1 = 1) into a
    // generation of its own.
    std::unique_ptr<generation> compile(const std::string& text) {
        const auto r = checked(text);
        EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
        std::vector<std::string> errors;
        auto t = acl_table::build(*r.config.firewall, ports_, 1, errors);
        EXPECT_TRUE(t) << ::testing::PrintToString(errors);
        auto g = std::make_unique<generation>(1);
        if (t) {
            g->add(std::move(t));
        }
        return g;
    }

    // Runs frames through parse and classify as one burst: "pass" or the
    // drop reason of each frame, in order.
    std::vector<std::string> run(const generation& g, const std::vector<frame_in>& frames) {
        if (frames.size() > max_burst) {  // one burst at a time
            std::vector<std::string> all;
            for (std::size_t k = 0; k < frames.size(); k += max_burst) {
                const std::vector<frame_in> part(
                    frames.begin() + static_cast<std::ptrdiff_t>(k),
                    frames.begin() + static_cast<std::ptrdiff_t>(std::min(frames.size(), k + max_burst)));
                const auto v = run(g, part);
                all.insert(all.end(), v.begin(), v.end());
            }
            return all;
        }
        burst b;
        std::vector<rte_mbuf*> sent;
        for (const auto& f : frames) {
            rte_mbuf* m = unit::make_mbuf(pool_, f.frame, f.port);
            if (m == nullptr) {
                return {};
            }
            b.pkts[b.count++] = m;
            sent.push_back(m);
        }
        segment_counters counters;
        stage_context ctx(counters, &g);
        parse_burst(b, 0, ctx);
        EXPECT_EQ(b.count, frames.size()) << "a test frame was malformed";
        std::vector<uint64_t> before(drop_reason_count);
        classify_stage stage(0);
        // One frame at a time, to know which reason dropped which frame.
        std::vector<std::string> out;
        const burst parsed = b;
        for (uint16_t i = 0; i < parsed.count; ++i) {
            burst one;
            one.pkts[0] = parsed.pkts[i];
            one.count = 1;
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                before[r] = counters.drops[r].get();
            }
            stage.process(one, ctx);
            std::string v = "pass";
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                if (counters.drops[r].get() != before[r]) {
                    v = std::string(drop_reason_names[r]);
                }
            }
            EXPECT_EQ(one.count, v == "pass" ? 1 : 0);
            if (one.count == 1) {
                rte_pktmbuf_free(one.pkts[0]);
            }
            out.push_back(v);
        }
        ctx.free_discarded();
        return out;
    }

    std::string one(const std::string& text, const bytes& frame, uint16_t port = 0) {
        const auto g = compile(text);
        const auto v = run(*g, {{frame, port}});
        return v.size() == 1 ? v[0] : "error";
    }

    const std::vector<port_plan> ports_ = {port_plan{0, "p0", 1}, port_plan{1, "p1", 0}};
};

const std::string drop_all = "[firewall]\ndefault = \"drop\"\n";
std::string accept_if(const std::string& match) {
    return drop_all + "[[firewall.rule]]\naction = \"accept\"\n" + match;
}

TEST_F(classify_test, first_match_wins_then_the_default) {
    const std::string text = drop_all + R"(
[[firewall.rule]]
action = "drop"
proto = "tcp"
dport = 22
src = "10.9.0.0/16"
[[firewall.rule]]
action = "accept"
proto = "tcp"
dport = 22
[[firewall.rule]]
action = "drop"
proto = "tcp"
)";
    const auto g = compile(text);
    EXPECT_EQ(run(*g, {{v4(proto_tcp, tcp(999, 22, 0x02), {10, 9, 1, 1})},
                       {v4(proto_tcp, tcp(999, 22, 0x02), {10, 8, 1, 1})},
                       {v4(proto_tcp, tcp(999, 23, 0x02))},
                       {v4(proto_udp, udp(999, 22))}}),
              (std::vector<std::string>{"acl_deny", "pass", "acl_deny", "acl_default"}));
    EXPECT_EQ(one("[firewall]\ndefault = \"accept\"\n", v4(proto_udp, udp(1, 2))), "pass");
    EXPECT_EQ(one("[firewall]\n", v6(proto_udp, udp(1, 2))), "pass");
}

TEST_F(classify_test, every_field_matches_and_misses) {
    struct field_case {
        std::string match;
        bytes hit;
        bytes miss;
        uint16_t hit_port = 0;
        uint16_t miss_port = 0;
    };
    const field_case cases[] = {
        {"src = \"10.1.0.0/16\"\n", v4(proto_udp, udp(1, 2), {10, 1, 9, 9}),
         v4(proto_udp, udp(1, 2), {10, 2, 0, 1})},
        {"dst = \"192.0.2.10/32\"\n", v4(proto_udp, udp(1, 2)),
         v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 11})},
        {"src = \"0.0.0.0/0\"\n", v4(proto_udp, udp(1, 2)), v6(proto_udp, udp(1, 2))},
        {"src = \"2001:db8::10/128\"\n", v6(proto_udp, udp(1, 2)), v4(proto_udp, udp(1, 2))},
        {"dst = \"2001:db8:1::/48\"\n", v6(proto_udp, udp(1, 2)), v4(proto_udp, udp(1, 2))},
        {"proto = \"udp\"\n", v4(proto_udp, udp(1, 2)), v4(proto_tcp, tcp(1, 2, 0x10))},
        {"proto = \"udp\"\nsport = 0\n", v4(proto_udp, udp(0, 2)), v4(proto_udp, udp(1, 2))},
        {"proto = \"udp\"\ndport = 65535\n", v6(proto_udp, udp(1, 65535)),
         v6(proto_udp, udp(1, 65534))},
        {"proto = \"tcp\"\ndport = \"80-443\"\n", v4(proto_tcp, tcp(1, 443, 0x10)),
         v4(proto_tcp, tcp(1, 444, 0x10))},
        {"proto = \"tcp\"\ndport = \"80-443\"\n", v4(proto_tcp, tcp(1, 80, 0x10)),
         v4(proto_tcp, tcp(1, 79, 0x10))},
        {"proto = \"icmp\"\nicmp_type = 8\n", v4(proto_icmp, icmp(8, 0)),
         v4(proto_icmp, icmp(0, 0))},
        {"proto = \"icmp\"\nicmp_type = 3\nicmp_code = 4\n", v4(proto_icmp, icmp(3, 4)),
         v4(proto_icmp, icmp(3, 3))},
        {"proto = \"icmpv6\"\nicmp_type = 128\n", v6(proto_icmpv6, icmp(128, 0)),
         v6(proto_icmpv6, icmp(129, 0))},
        {"proto = \"tcp\"\ntcp_flags = \"SYN/SYN,ACK\"\n", v4(proto_tcp, tcp(1, 2, 0x02)),
         v4(proto_tcp, tcp(1, 2, 0x12))},
        {"dscp = 46\n", v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 10}, 0, 46 << 2 | 1),
         v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 10}, 0, 10 << 2)},
        {"dscp = 46\n", v6(proto_udp, udp(1, 2), 46 << 2), v6(proto_udp, udp(1, 2), 0)},
        {"vlan = 100\n",
         v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 10}, 0, 0, {{0x8100, 100}}),
         v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 10}, 0, 0, {{0x8100, 101}})},
        {"vlan = 0\n", v4(proto_udp, udp(1, 2)),
         v4(proto_udp, udp(1, 2), {10, 1, 2, 3}, {192, 0, 2, 10}, 0, 0, {{0x8100, 7}})},
        {"fragment = \"first\"\n",
         v4(proto_udp, udp(1, 2, 16), {10, 1, 2, 3}, {192, 0, 2, 10}, 0x2000),
         v4(proto_udp, udp(1, 2))},
        {"fragment = \"non-first\"\n",
         v4(proto_udp, filler(16, 1), {10, 1, 2, 3}, {192, 0, 2, 10}, 0x0003),
         v4(proto_udp, udp(1, 2, 16), {10, 1, 2, 3}, {192, 0, 2, 10}, 0x2000)},
        {"fragment = \"none\"\n", v4(proto_udp, udp(1, 2)),
         v4(proto_udp, filler(16, 1), {10, 1, 2, 3}, {192, 0, 2, 10}, 0x2003)},
        {"proto = \"udp\"\ndport = \"0-65535\"\n", v4(proto_udp, udp(1, 2)),
         v4(proto_udp, filler(16, 1), {10, 1, 2, 3}, {192, 0, 2, 10}, 0x0003)},
        {"in_port = \"p1\"\n", v4(proto_udp, udp(1, 2)), v4(proto_udp, udp(1, 2)), 1, 0},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.match);
        EXPECT_EQ(one(accept_if(c.match), c.hit, c.hit_port), "pass");
        EXPECT_EQ(one(accept_if(c.match), c.miss, c.miss_port), "acl_default");
    }
}

TEST_F(classify_test, non_ip_frames_are_not_the_firewalls) {
    EXPECT_EQ(one(drop_all, cat(ethernet(ether_arp), arp())), "pass");
    EXPECT_EQ(one(drop_all, v4(proto_udp, udp(1, 2))), "acl_default");
}

// The host firewall of the issue, without connection state (not yet):
// ICMP echo, SSH from 10/8 only, HTTP and HTTPS, nothing else.
TEST_F(classify_test, a_classic_host_firewall) {
    const auto g = compile(R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "ping"
action = "accept"
proto = "icmp"
icmp_type = 8
[[firewall.rule]]
id = "ssh"
action = "accept"
proto = "tcp"
dport = 22
src = "10.0.0.0/8"
[[firewall.rule]]
id = "web"
action = "accept"
proto = "tcp"
dport = "80"
[[firewall.rule]]
id = "tls"
action = "accept"
proto = "tcp"
dport = 443
)");
    EXPECT_EQ(run(*g, {{v4(proto_icmp, icmp(8, 0, 56))},
                       {v4(proto_tcp, tcp(40000, 22, 0x02), {10, 200, 0, 1})},
                       {v4(proto_tcp, tcp(40000, 22, 0x02), {198, 51, 100, 7})},
                       {v4(proto_tcp, tcp(40000, 80, 0x02), {198, 51, 100, 7})},
                       {v4(proto_tcp, tcp(40000, 443, 0x02), {198, 51, 100, 7})},
                       {v4(proto_tcp, tcp(40000, 8080, 0x02))},
                       {v4(proto_udp, udp(5353, 53))},
                       {v4(proto_icmp, icmp(13, 0))}}),
              (std::vector<std::string>{"pass", "pass", "acl_default", "pass", "pass",
                                        "acl_default", "acl_default", "acl_default"}));
    firewall_totals totals;
    const auto rows = totals.report(*g->find<acl_table>());
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].id, "ping");
    EXPECT_EQ(rows[0].packets, 1u);
    EXPECT_EQ(rows[1].packets, 1u);
    EXPECT_EQ(rows[2].packets, 1u);
    EXPECT_EQ(rows[3].packets, 1u);
    EXPECT_TRUE(rows[4].is_default);
    EXPECT_EQ(rows[4].packets, 4u);
    EXPECT_EQ(rows[4].bytes, 54u + 54 + 42 + 42) << "frame bytes: two TCP, one UDP, one ICMP";
}

TEST_F(classify_test, count_rules_count_and_go_on) {
    const auto g = compile(drop_all + R"(
[[firewall.rule]]
id = "all-udp"
action = "count"
proto = "udp"
[[firewall.rule]]
id = "dns"
action = "accept"
proto = "udp"
dport = 53
[[firewall.rule]]
id = "late"
action = "count"
proto = "udp"
)");
    EXPECT_EQ(run(*g, {{v4(proto_udp, udp(1, 53))},
                       {v4(proto_udp, udp(1, 54))},
                       {v6(proto_udp, udp(1, 53))},
                       {v4(proto_tcp, tcp(1, 53, 0x10))}}),
              (std::vector<std::string>{"pass", "acl_default", "pass", "acl_default"}));
    firewall_totals totals;
    const auto rows = totals.report(*g->find<acl_table>());
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].packets, 3u) << "every UDP packet, before its verdict";
    EXPECT_EQ(rows[1].packets, 2u);
    EXPECT_EQ(rows[2].packets, 1u) << "only what no earlier terminal rule took";
    EXPECT_EQ(rows[3].packets, 2u);
}

TEST_F(classify_test, a_burst_keeps_the_order_of_what_passes) {
    const auto g = compile(accept_if("proto = \"udp\"\n"));
    burst b;
    std::vector<rte_mbuf*> expect;
    for (uint16_t i = 0; i < 40; ++i) {
        const bool udp_frame = (i * 7) % 3 != 0;
        rte_mbuf* m = unit::make_mbuf(pool_,
                                      udp_frame ? v4(proto_udp, udp(i, 2)) : v6(proto_tcp, tcp(i, 2, 0x10)),
                                      0);
        ASSERT_NE(m, nullptr);
        b.pkts[b.count++] = m;
        if (udp_frame) {
            expect.push_back(m);
        }
    }
    segment_counters counters;
    stage_context ctx(counters, g.get());
    parse_burst(b, 0, ctx);
    ASSERT_EQ(b.count, 40);
    classify_stage stage(0);
    stage.process(b, ctx);
    ASSERT_EQ(b.count, expect.size());
    for (uint16_t i = 0; i < b.count; ++i) {
        EXPECT_EQ(b.pkts[i], expect[i]) << i;
    }
    EXPECT_EQ(counters.drops[static_cast<std::size_t>(drop_reason::acl_default)].get(),
              40 - expect.size());
    rte_pktmbuf_free_bulk(b.pkts.data(), b.count);
    ctx.free_discarded();
}

TEST_F(classify_test, counters_carry_over_a_reload_by_id) {
    const std::string rules = drop_all + R"(
[[firewall.rule]]
id = "keep"
action = "accept"
proto = "udp"
[[firewall.rule]]
action = "accept"
proto = "tcp"
)";
    auto old = compile(rules);
    run(*old, {{v4(proto_udp, udp(1, 2))}, {v4(proto_tcp, tcp(1, 2, 0x10))}, {v6(47, filler(8, 1))}});
    auto next = compile(rules);
    firewall_totals totals;
    totals.retire(*old->find<acl_table>(), next->find<acl_table>());
    run(*next, {{v4(proto_udp, udp(1, 2))}});
    const auto rows = totals.report(*next->find<acl_table>());
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].packets, 2u) << "id 'keep': 1 before the reload, 1 after";
    EXPECT_EQ(rows[1].packets, 0u) << "a rule without id starts again";
    EXPECT_EQ(rows[2].packets, 1u) << "the default policy carries over";
}

TEST_F(classify_test, in_port_must_name_a_port_in_use) {
    const auto r = checked(accept_if("in_port = \"tap9\"\n"));
    ASSERT_TRUE(r.ok()) << "no [[port]]: checked when the ports are known";
    std::vector<std::string> errors;
    EXPECT_FALSE(acl_table::build(*r.config.firewall, ports_, 1, errors));
    EXPECT_THAT(errors, ::testing::ElementsAre(HasSubstr("in_port 'tap9' is not a port in use")));
}

// ---- differential: rte_acl against libpcap ---------------------------------------------

// One rule written as BPF filter expressions that libpcap evaluates on the
// same bytes: one for untagged frames, one for frames with one VLAN tag
// (BPF's "vlan" moves the offsets of what follows). in_port has no BPF
// form: the oracle checks it itself. An empty expression never matches.
struct oracle_rule {
    firewall_action action;
    std::optional<uint16_t> in_port;
    std::string untagged;
    std::string tagged;
};

struct rule_gen {
    std::string toml;
    oracle_rule oracle;
};

const char* const v4_nets[] = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.0.2.0/24",
                               "0.0.0.0/1", "128.0.0.0/1"};
const char* const v6_nets[] = {"2001:db8::/32", "2001:db8::10/128", "2001:db8:1::/48",
                               "::/1", "8000::/1", "2001:db8:0:0:8000::/65"};
const std::array<uint8_t, 4> v4_hosts[] = {
    {10, 1, 2, 3}, {10, 1, 9, 9}, {10, 200, 0, 1}, {192, 0, 2, 10}, {198, 51, 100, 7}, {203, 0, 113, 200}};
const std::array<uint8_t, 16> v6_hosts[] = {
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10},
    {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x01},
    {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
    {0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}};
const uint16_t some_ports[] = {0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65534, 65535};

rule_gen random_rule(std::mt19937& rng, std::size_t index) {
    rule_gen g;
    std::vector<std::string> bpf;  // and-ed
    unsigned family = rng() % 3;  // 0 both, 1 v4, 2 v6
    const char* ip = "ip";
    const unsigned kind = rng() % 10;
    g.oracle.action = kind < 2 ? firewall_action::count
                      : kind < 6 ? firewall_action::accept
                                 : firewall_action::drop;
    g.toml = "[[firewall.rule]]\nid = \"r" + std::to_string(index) + "\"\naction = \"" +
             (g.oracle.action == firewall_action::count    ? "count"
              : g.oracle.action == firewall_action::accept ? "accept"
                                                           : "drop") +
             "\"\n";
    std::vector<std::string> nets;
    bool pinned = false;  // the rule names its family (an address, or ICMP)
    for (const char* dir : {"src", "dst"}) {
        if (family != 0 && rng() % 2 == 0) {
            const std::string net = family == 1 ? v4_nets[rng() % std::size(v4_nets)]
                                                : v6_nets[rng() % std::size(v6_nets)];
            g.toml += std::string(dir) + " = \"" + net + "\"\n";
            nets.push_back(std::string(dir) + " net " + net);
            pinned = true;
        }
    }
    // proto and what goes with it
    const unsigned p = rng() % 5;  // 0 none, 1 udp, 2 tcp, 3 icmp(v6), 4 other
    if (!pinned && p != 3) {
        family = 0;  // without an address or ICMP a rule matches both families
    }
    ip = family == 2 ? "ip6" : "ip";
    bpf.push_back(family == 1 ? "ip" : family == 2 ? "ip6" : "(ip or ip6)");
    bpf.insert(bpf.end(), nets.begin(), nets.end());
    const bool v6 = family == 2;
    auto proto_expr = [&](int n) {
        return family == 0 ? "(ip proto " + std::to_string(n) + " or ip6 proto " + std::to_string(n) + ")"
                           : std::string(ip) + " proto " + std::to_string(n);
    };
    const bool first_only = rng() % 2 == 0;  // l4 fields (never a non-first fragment)
    bool l4 = false;
    if (p == 1 || p == 2) {
        const int n = p == 1 ? 17 : 6;
        g.toml += std::string("proto = \"") + (p == 1 ? "udp" : "tcp") + "\"\n";
        bpf.push_back(proto_expr(n));
        for (const char* dir : {"sport", "dport"}) {
            if (first_only && rng() % 2 == 0) {
                uint16_t a = some_ports[rng() % std::size(some_ports)];
                uint16_t b = rng() % 3 == 0 ? a : some_ports[rng() % std::size(some_ports)];
                if (a > b) {
                    std::swap(a, b);
                }
                g.toml += std::string(dir) + " = \"" + std::to_string(a) + "-" + std::to_string(b) + "\"\n";
                bpf.push_back(std::string(dir[0] == 's' ? "src" : "dst") + " portrange " +
                              std::to_string(a) + "-" + std::to_string(b));
                l4 = true;
            }
        }
        if (p == 2 && first_only && rng() % 3 == 0) {
            const uint8_t mask = static_cast<uint8_t>(rng() | 1);
            const uint8_t value = static_cast<uint8_t>(rng() & mask);
            auto names = [](uint8_t bits) {
                static const char* n[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
                std::string s;
                for (int i = 0; i < 8; ++i) {
                    if (bits & (1 << i)) {
                        s += (s.empty() ? "" : ",") + std::string(n[i]);
                    }
                }
                return s.empty() ? std::string("NONE") : s;
            };
            g.toml += "tcp_flags = \"" + names(value) + "/" + names(mask) + "\"\n";
            // tcp[] is IPv4 only in BPF; IPv6 frames here have no extension headers.
            const std::string m = std::to_string(mask), v = std::to_string(value);
            bpf.push_back("((ip and (tcp[13] & " + m + ") == " + v + ") or (ip6 and (ip6[53] & " +
                          m + ") == " + v + "))");
            l4 = true;
        }
    } else if (p == 3 && family != 0) {
        g.toml += std::string("proto = \"") + (v6 ? "icmpv6" : "icmp") + "\"\n";
        bpf.push_back(proto_expr(v6 ? 58 : 1));
        if (first_only && rng() % 2 == 0) {
            const int type = rng() % 2 ? 8 : 128;
            g.toml += "icmp_type = " + std::to_string(v6 ? type == 8 ? 128 : 129 : type == 8 ? 8 : 0) + "\n";
            bpf.push_back(v6 ? "ip6[40] == " + std::to_string(type == 8 ? 128 : 129)
                             : "icmp[0] == " + std::to_string(type == 8 ? 8 : 0));
            l4 = true;
        }
    } else if (p == 4) {
        g.toml += "proto = 47\n";
        bpf.push_back(proto_expr(47));
    }
    if (l4) {  // never a non-first fragment (IPv6 frames here have no fragment header)
        bpf.push_back("(ip6 or ip[6:2] & 0x1fff == 0)");
    }
    if (rng() % 4 == 0) {
        const unsigned dscp = rng() % 2 ? 46 : rng() % 64;
        g.toml += "dscp = " + std::to_string(dscp) + "\n";
        bpf.push_back("((ip and (ip[1] & 0xfc) == " + std::to_string(dscp << 2) +
                      ") or (ip6 and (ip6[0:2] & 0x0fc0) == " + std::to_string(dscp << 6) + "))");
    }
    if (family != 2 && !l4 && rng() % 5 == 0) {
        const unsigned f = rng() % 3;
        g.toml += std::string("fragment = \"") + (f == 0 ? "none" : f == 1 ? "first" : "non-first") + "\"\n";
        bpf.push_back(f == 0   ? "(ip6 or ip[6:2] & 0x3fff == 0)"
                      : f == 1 ? "(ip and ip[6:2] & 0x2000 != 0 and ip[6:2] & 0x1fff == 0)"
                               : "(ip and ip[6:2] & 0x1fff != 0)");
    }
    if (rng() % 6 == 0) {
        g.oracle.in_port = static_cast<uint16_t>(rng() % 2);
        g.toml += std::string("in_port = \"p") + std::to_string(*g.oracle.in_port) + "\"\n";
    }
    std::string rest;
    for (const auto& e : bpf) {
        rest += (rest.empty() ? "" : " and ") + e;
    }
    std::optional<uint16_t> vlan;
    if (rng() % 6 == 0) {
        vlan = rng() % 3 == 0 ? 0 : 100;
        g.toml += "vlan = " + std::to_string(*vlan) + "\n";
    }
    g.oracle.untagged = !vlan || *vlan == 0 ? rest : "";
    g.oracle.tagged = !vlan ? "vlan and " + rest : *vlan == 0 ? "" : "vlan " + std::to_string(*vlan) + " and " + rest;
    return g;
}

struct packet_gen {
    bytes frame;
    uint16_t port;
    bool tagged;
};

packet_gen random_packet(std::mt19937& rng) {
    packet_gen p;
    p.port = static_cast<uint16_t>(rng() % 2);
    p.tagged = rng() % 5 == 0;
    std::vector<vlan_tag> tags;
    if (p.tagged) {
        tags.push_back({ether_vlan, static_cast<uint16_t>(rng() % 2 ? 100 : 5)});
    }
    const uint16_t sport = some_ports[rng() % std::size(some_ports)];
    const uint16_t dport = rng() % 4 == 0 ? static_cast<uint16_t>(rng()) : some_ports[rng() % std::size(some_ports)];
    const uint8_t dscp = static_cast<uint8_t>(rng() % 2 ? 46 : rng() % 64);
    const unsigned l4 = rng() % 4;  // udp, tcp, icmp, gre
    if (rng() % 3 != 0) {
        ipv4_header h;
        h.src = v4_hosts[rng() % std::size(v4_hosts)];
        h.dst = v4_hosts[rng() % std::size(v4_hosts)];
        h.tos = static_cast<uint8_t>(dscp << 2 | (rng() % 4));
        bytes payload;
        if (l4 == 0) {
            h.proto = proto_udp;
            const unsigned frag = rng() % 6;  // 0: first fragment, 1: non-first, else whole
            if (frag == 0) {
                h.frag = 0x2000;
                payload = udp(sport, dport, 16);
            } else if (frag == 1) {
                h.frag = static_cast<uint16_t>((rng() % 2 ? 0x2000 : 0) | (1 + rng() % 100));
                payload = filler(24, 3);
            } else {
                payload = udp(sport, dport, rng() % 20);
            }
        } else if (l4 == 1) {
            h.proto = proto_tcp;
            payload = tcp(sport, dport, static_cast<uint8_t>(rng()));
        } else if (l4 == 2) {
            h.proto = proto_icmp;
            payload = icmp(rng() % 2 ? 8 : 0, 0, 8);
        } else {
            h.proto = 47;
            payload = filler(12, 4);
        }
        p.frame = cat(ethernet(ether_ipv4, tags), ipv4(h, payload));
    } else {
        ipv6_header h;
        h.src = v6_hosts[rng() % std::size(v6_hosts)];
        h.dst = v6_hosts[rng() % std::size(v6_hosts)];
        h.traffic_class = static_cast<uint8_t>(dscp << 2 | (rng() % 4));
        bytes payload;
        if (l4 == 0) {
            h.next = proto_udp;
            payload = udp(sport, dport, rng() % 20);
        } else if (l4 == 1) {
            h.next = proto_tcp;
            payload = tcp(sport, dport, static_cast<uint8_t>(rng()));
        } else if (l4 == 2) {
            h.next = proto_icmpv6;
            payload = icmp(rng() % 2 ? 128 : 129, 0, 8);
        } else {
            h.next = 47;
            payload = filler(12, 4);
        }
        p.frame = cat(ethernet(ether_ipv6, tags), ipv6(h, payload));
    }
    return p;
}

class pcap_filter {
  public:
    pcap_filter() : pcap_(pcap_open_dead(DLT_EN10MB, 65535)) {}
    ~pcap_filter() {
        if (compiled_) {
            pcap_freecode(&prog_);
        }
        pcap_close(pcap_);
    }
    // An empty expression matches nothing.
    bool set(const std::string& expr) {
        if (compiled_) {
            pcap_freecode(&prog_);
            compiled_ = false;
        }
        expr_ = expr;
        if (expr.empty()) {
            return true;
        }
        if (pcap_compile(pcap_, &prog_, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
            ADD_FAILURE() << "pcap_compile(\"" << expr << "\"): " << pcap_geterr(pcap_);
            return false;
        }
        compiled_ = true;
        return true;
    }
    bool matches(const bytes& f) const {
        if (!compiled_) {
            return false;
        }
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
        return pcap_offline_filter(&prog_, &h, f.data()) != 0;
    }

  private:
    pcap_t* pcap_;
    bpf_program prog_{};
    bool compiled_ = false;
    std::string expr_;
};

TEST_F(classify_test, verdicts_and_counts_equal_libpcaps_on_random_rules_and_packets) {
    std::mt19937 rng(4242);
    std::size_t passed = 0, denied = 0, defaulted = 0, counted = 0;
    for (int round = 0; round < 60; ++round) {
        const std::size_t n_rules = 1 + rng() % 24;
        std::string text = std::string("[firewall]\ndefault = \"") + (round % 2 ? "drop" : "accept") + "\"\n";
        std::vector<oracle_rule> oracle;
        unsigned counts = 0;
        for (std::size_t i = 0; i < n_rules; ++i) {
            rule_gen g = random_rule(rng, i);
            if (g.oracle.action == firewall_action::count && ++counts > max_count_rules) {
                continue;
            }
            text += g.toml;
            oracle.push_back(g.oracle);
        }
        SCOPED_TRACE("round " + std::to_string(round) + "\n" + text);
        const auto gen = compile(text);
        const acl_table* table = gen->find<acl_table>();
        ASSERT_NE(table, nullptr);
        std::vector<packet_gen> packets;
        for (int k = 0; k < 64; ++k) {
            packets.push_back(random_packet(rng));
        }
        // The oracle: each rule's BPF on each packet, first terminal wins.
        std::vector<pcap_filter> filters(oracle.size() * 2);
        for (std::size_t i = 0; i < oracle.size(); ++i) {
            ASSERT_TRUE(filters[2 * i].set(oracle[i].untagged));
            ASSERT_TRUE(filters[2 * i + 1].set(oracle[i].tagged));
        }
        std::vector<std::string> expect;
        std::vector<uint64_t> expect_hits(oracle.size() + 1, 0);
        for (const auto& p : packets) {
            std::string verdict;
            for (std::size_t i = 0; i < oracle.size() && verdict.empty(); ++i) {
                const bool hit = (!oracle[i].in_port || *oracle[i].in_port == p.port) &&
                                 filters[2 * i + (p.tagged ? 1 : 0)].matches(p.frame);
                if (!hit) {
                    continue;
                }
                ++expect_hits[i];
                if (oracle[i].action != firewall_action::count) {
                    verdict = oracle[i].action == firewall_action::drop ? "acl_deny" : "pass";
                }
            }
            if (verdict.empty()) {
                ++expect_hits[oracle.size()];
                verdict = round % 2 ? "acl_default" : "pass";
            }
            expect.push_back(verdict);
        }
        std::vector<frame_in> in;
        for (const auto& p : packets) {
            in.push_back({p.frame, p.port});
        }
        const auto got = run(*gen, in);
        ASSERT_EQ(got.size(), expect.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
            ASSERT_EQ(got[k], expect[k]) << "packet " << k << " (port " << packets[k].port
                                         << ", " << packets[k].frame.size() << " bytes)";
        }
        firewall_totals none;
        const auto rows = none.report(*table);
        ASSERT_EQ(rows.size(), expect_hits.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            EXPECT_EQ(rows[i].packets, expect_hits[i]) << "rule " << i;
        }
        for (std::size_t i = 0; i < oracle.size(); ++i) {
            counted += oracle[i].action == firewall_action::count ? expect_hits[i] : 0;
        }
        for (const auto& v : expect) {
            passed += v == "pass";
            denied += v == "acl_deny";
            defaulted += v == "acl_default";
        }
    }
    // The random mix exercised every outcome.
    EXPECT_GT(passed, 300u);
    EXPECT_GT(denied, 300u);
    EXPECT_GT(defaulted, 300u);
    EXPECT_GT(counted, 100u);
}

// ---- reject: the TCP RST --------------------------------------------------------------

struct reset_case {
    const char* name;
    bool v6;
    uint8_t flags;
    std::size_t data;
    uint32_t want_seq;
    uint32_t want_ack;
    uint8_t want_flags;
};

TEST_F(classify_test, a_rejected_tcp_segment_becomes_the_rst_that_refuses_it) {
    const reset_case cases[] = {
        {"syn", false, 0x02, 0, 0, 0x01020304u + 1, 0x14},         // RST+ACK, ack = seq + SYN
        {"ack_with_data", false, 0x18, 10, 0x0a0b0c0du, 0, 0x04},  // RST, seq = their ack
        {"syn_v6", true, 0x02, 0, 0, 0x01020304u + 1, 0x14},
        {"fin_with_data_v6", true, 0x01, 5, 0, 0x01020304u + 6, 0x14},
    };
    const rte_ether_addr our{{0x02, 0, 0, 0, 0, 0x77}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        bytes seg = tcp(40000, 23, c.flags, 5, c.data);
        seg[4] = 0x01, seg[5] = 0x02, seg[6] = 0x03, seg[7] = 0x04;    // seq
        seg[8] = 0x0a, seg[9] = 0x0b, seg[10] = 0x0c, seg[11] = 0x0d;  // ack
        const bytes f = c.v6 ? v6(proto_tcp, seg) : v4(proto_tcp, seg);
        rte_mbuf* m = unit::make_mbuf(pool_, f, 1);
        ASSERT_NE(m, nullptr);
        packet_meta& pm = *meta_of(m);
        ASSERT_FALSE(parse_packet(m, pm));
        ASSERT_TRUE(tcp_reset_in_place(m, pm, our));
        EXPECT_EQ(m->port, 1);
        const bytes out = unit::frame_of(m);
        const std::size_t ip_len = c.v6 ? 40 : 20;
        ASSERT_EQ(out.size(), 14 + ip_len + 20);
        EXPECT_TRUE(std::equal(out.begin(), out.begin() + 6, f.begin() + 6)) << "back to the sender";
        EXPECT_TRUE(std::equal(out.begin() + 6, out.begin() + 12, our.addr_bytes));
        const auto* ip = out.data() + 14;
        const auto* t = ip + ip_len;
        if (c.v6) {
            EXPECT_EQ(ip[6], proto_tcp);
            EXPECT_TRUE(std::equal(ip + 8, ip + 24, f.begin() + 14 + 24)) << "from their destination";
            EXPECT_TRUE(std::equal(ip + 24, ip + 40, f.begin() + 14 + 8)) << "to their source";
            EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(ip), t), 0);
        } else {
            EXPECT_EQ(ip[9], proto_tcp);
            EXPECT_TRUE(std::equal(ip + 12, ip + 16, f.begin() + 14 + 16));
            EXPECT_TRUE(std::equal(ip + 16, ip + 20, f.begin() + 14 + 12));
            EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff) << "IPv4 header checksum";
            EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(ip), t), 0);
        }
        EXPECT_EQ(t[0] << 8 | t[1], 23) << "from their destination port";
        EXPECT_EQ(t[2] << 8 | t[3], 40000);
        EXPECT_EQ(static_cast<uint32_t>(t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7]), c.want_seq);
        EXPECT_EQ(static_cast<uint32_t>(t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11]), c.want_ack);
        EXPECT_EQ(t[13], c.want_flags);
        rte_pktmbuf_free(m);
    }
    // A RST is never answered.
    rte_mbuf* m = unit::make_mbuf(pool_, v4(proto_tcp, tcp(1, 23, 0x04)), 0);
    ASSERT_NE(m, nullptr);
    ASSERT_FALSE(parse_packet(m, *meta_of(m)));
    EXPECT_FALSE(tcp_reset_in_place(m, *meta_of(m), our));
    rte_pktmbuf_free(m);
}

TEST_F(classify_test, a_reject_rule_marks_its_packets_for_the_responder) {
    const auto g = compile(drop_all + "[[firewall.rule]]\naction = \"reject\"\nproto = \"tcp\"\n");
    burst b;
    for (const auto& f : {v4(proto_tcp, tcp(1, 23, 0x02)), v4(proto_udp, udp(1, 2))}) {
        b.pkts[b.count++] = unit::make_mbuf(pool_, f, 0);
        ASSERT_NE(b.pkts[b.count - 1], nullptr);
    }
    segment_counters counters;
    stage_context ctx(counters, g.get());
    parse_burst(b, 0, ctx);
    classify_stage stage(0);
    EXPECT_TRUE(stage.marks().punts);
    stage.process(b, ctx);
    ASSERT_EQ(b.count, 1) << "the UDP datagram met the default";
    EXPECT_TRUE(b.has_punts);
    EXPECT_EQ(meta_of(b.pkts[0])->punt, punt_kind::prohibited);
    rte_pktmbuf_free(b.pkts[0]);
    ctx.free_discarded();
}

// ---- iptables-save import --------------------------------------------------------------

// Writes fw.toml (with rules_file_iptables = "fw.rules") and fw.rules in a
// temporary directory and loads them as dpdk-app does.
config_result load_with_rules(const std::string& rules, const std::string& toml_extra = "") {
    const std::string dir = ::testing::TempDir();
    std::ofstream(dir + "fw.rules") << rules;
    std::ofstream(dir + "fw.toml") << "[firewall]\nrules_file_iptables = \"fw.rules\"\n" + toml_extra;
    return load_config_file(dir + "fw.toml");
}

TEST(iptables_import, reads_every_supported_option) {
    const auto r = load_with_rules(R"(# Generated by iptables-save v1.8.9 on Thu Dec  3 08:00:00 2026
*filter
:INPUT ACCEPT [10:1000]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [5:500]
-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A FORWARD -s 10.0.0.0/8 -i p0 -p tcp -m tcp --dport 22 -m comment --comment "ssh from admins" -j ACCEPT
-A FORWARD -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
-A FORWARD -d 192.0.2.7 -p udp -m udp --sport 1024: --dport 53 -j ACCEPT
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,ACK,FIN SYN -j DROP
-A FORWARD -m dscp --dscp 0x2e -j DROP
-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
-A FORWARD -f -j DROP
-A FORWARD -p tcp -j REJECT --reject-with tcp-reset
COMMIT
# Completed on Thu Dec  3 08:00:00 2026
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const auto& fw = *r.config.firewall;
    EXPECT_EQ(fw.default_action, firewall_action::drop) << "the FORWARD policy";
    ASSERT_EQ(fw.rules.size(), 11u) << "multiport makes one rule per port or range";
    EXPECT_EQ(fw.rules[0].proto, 1);
    EXPECT_EQ(fw.rules[0].icmp_type, 8);
    EXPECT_EQ(fw.rules[0].v6, false);
    EXPECT_EQ(to_string(*fw.rules[1].src), "10.0.0.0/8");
    EXPECT_EQ(fw.rules[1].in_port, "p0");
    EXPECT_EQ(fw.rules[1].dport, (port_range{22, 22}));
    EXPECT_EQ(fw.rules[1].comment, "ssh from admins");
    EXPECT_EQ(fw.rules[2].dport, (port_range{80, 80}));
    EXPECT_EQ(fw.rules[3].dport, (port_range{443, 443}));
    EXPECT_EQ(fw.rules[4].dport, (port_range{8000, 8080}));
    EXPECT_EQ(to_string(*fw.rules[5].dst), "192.0.2.7/32");
    EXPECT_EQ(fw.rules[5].sport, (port_range{1024, 65535}));
    EXPECT_EQ(fw.rules[6].tcp_flags, 0x02);
    EXPECT_EQ(fw.rules[6].tcp_flags_mask, 0x17);
    EXPECT_EQ(fw.rules[6].action, firewall_action::drop);
    EXPECT_EQ(fw.rules[7].dscp, 46);
    EXPECT_EQ(fw.rules[8].proto, 58);
    EXPECT_EQ(fw.rules[8].icmp_type, 128);
    EXPECT_EQ(fw.rules[8].v6, true);
    EXPECT_EQ(fw.rules[9].fragment, fragment_match::non_first);
    EXPECT_EQ(fw.rules[10].action, firewall_action::reject);
    EXPECT_THAT(fw.rules[1].source, HasSubstr("fw.rules"));
    EXPECT_EQ(fw.rules[1].where.line, 7u);
}

TEST(iptables_import, the_toml_default_wins_and_toml_rules_come_first) {
    const auto r = load_with_rules("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp -j DROP\nCOMMIT\n",
                                   "default = \"accept\"\n[[firewall.rule]]\naction = \"accept\"\n"
                                   "proto = \"udp\"\ndport = 53\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.config.firewall->default_action, firewall_action::accept);
    ASSERT_EQ(r.config.firewall->rules.size(), 2u);
    EXPECT_EQ(r.config.firewall->rules[0].dport, (port_range{53, 53}));
    EXPECT_EQ(r.config.firewall->rules[1].action, firewall_action::drop);
}

struct ipt_bad {
    std::string line;
    std::string message;
    uint32_t column;
};

TEST(iptables_import, rejects_what_does_not_map_naming_the_line_and_option) {
    const ipt_bad cases[] = {
        {"-A FORWARD -m conntrack --ctstate RELATED,DNAT -j ACCEPT", "--ctstate: expected STATE", 35},
        {"-A FORWARD -m state --state -j ACCEPT", "--state needs a value", 21},
        {"-A FORWARD -o p1 -j ACCEPT", "option '-o' does not map", 12},
        {"-A FORWARD ! -s 10.0.0.0/8 -j DROP", "negation", 12},
        {"-A FORWARD -m limit --limit 5/s -j ACCEPT", "-m limit: this match does not map", 15},
        {"-A FORWARD -j LOG", "-j LOG: only ACCEPT, DROP and REJECT map", 15},
        {"-A FORWARD -j MYCHAIN", "-j MYCHAIN", 15},
        {"-A INPUT -p tcp --dport 22 -j ACCEPT", "chain INPUT: only FORWARD maps", 4},
        {"-A FORWARD -p tcp", "a rule without -j", 1},
        {"-A FORWARD --dport 22 -j ACCEPT", "ports need -p tcp, udp or sctp", 1},
        {"-A FORWARD -p tcp --dport 70000 -j ACCEPT", "--dport: expected PORT", 27},
        {"-A FORWARD -p tcp --dport 9:3 -j ACCEPT", "--dport: expected PORT", 27},
        {"-A FORWARD -p tcpx -j ACCEPT", "-p: unknown protocol 'tcpx'", 15},
        {"-A FORWARD -s 10.0.0.1/8 -j ACCEPT", "-s: ", 15},
        {"-A FORWARD -p icmp --icmp-type bogus -j ACCEPT", "unknown ICMP type 'bogus'", 32},
        {"-A FORWARD -p tcp --tcp-flags SYN SYN,ACK -j DROP", "--tcp-flags: expected MASK COMP", 31},
        {"-A FORWARD -p tcp -j REJECT --reject-with icmp-port-unreachable",
         "--reject-with icmp-port-unreachable", 43},
        {"-A FORWARD -m dscp --dscp 64 -j DROP", "--dscp: expected 0..63", 27},
        {"-A FORWARD -s 10.0.0.0/8 -d 2001:db8::/32 -j DROP", "different address families", 29},
        {"-N MYCHAIN", "'-N' does not map onto the firewall", 1},
        {":MYCHAIN - [0:0]", "user-defined chain 'MYCHAIN'", 1},
        {"-A FORWARD -s", "-s needs a value", 12},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.line);
        const auto r = load_with_rules("*filter\n:FORWARD ACCEPT [0:0]\n" + c.line + "\nCOMMIT\n");
        ASSERT_FALSE(r.ok());
        ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r.errors));
        EXPECT_THAT(r.errors[0].message, HasSubstr(c.message));
        EXPECT_THAT(r.errors[0].source, HasSubstr("fw.rules"));
        EXPECT_EQ(r.errors[0].where.line, 3u);
        EXPECT_EQ(r.errors[0].where.column, c.column);
    }
    const auto nat = load_with_rules("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    ASSERT_FALSE(nat.ok());
    EXPECT_THAT(nat.errors[0].message, HasSubstr("only the *filter table"));
    const auto open = load_with_rules("*filter\n:FORWARD ACCEPT [0:0]\n");
    ASSERT_FALSE(open.ok());
    EXPECT_THAT(open.errors[0].message, HasSubstr("has no COMMIT"));
    const auto missing = load_config_file(::testing::TempDir() + "no-such-dir/fw.toml");
    EXPECT_FALSE(missing.ok());
}

// The same policy written both ways classifies every packet the same.
TEST_F(classify_test, iptables_rules_classify_like_the_same_toml_rules) {
    const auto from_ipt = load_with_rules(R"(*filter
:FORWARD DROP [0:0]
-A FORWARD -p icmp -m icmp --icmp-type echo-request -j ACCEPT
-A FORWARD -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -p tcp -m multiport --dports 80,443 -j ACCEPT
-A FORWARD -p udp -m udp --dport 1000:2000 -j REJECT
COMMIT
)");
    ASSERT_TRUE(from_ipt.ok()) << ::testing::PrintToString(messages(from_ipt.errors));
    const std::string toml = drop_all + R"(
[[firewall.rule]]
action = "accept"
proto = "icmp"
icmp_type = 8
[[firewall.rule]]
action = "accept"
proto = "tcp"
dport = 22
src = "10.0.0.0/8"
[[firewall.rule]]
action = "accept"
proto = "tcp"
dport = 80
[[firewall.rule]]
action = "accept"
proto = "tcp"
dport = 443
[[firewall.rule]]
action = "reject"
proto = "udp"
dport = "1000-2000"
)";
    std::vector<std::string> errors;
    auto t = acl_table::build(*from_ipt.config.firewall, ports_, 1, errors);
    ASSERT_TRUE(t) << ::testing::PrintToString(errors);
    generation ipt(1);
    ipt.add(std::move(t));
    const auto native = compile(toml);
    std::mt19937 rng(77);
    std::vector<frame_in> frames;
    for (int k = 0; k < 300; ++k) {
        const auto p = random_packet(rng);
        frames.push_back({p.frame, p.port});
    }
    const auto a = run(ipt, frames);
    const auto b = run(*native, frames);
    EXPECT_EQ(a, b);
    EXPECT_GT(std::count(a.begin(), a.end(), "pass"), 10);
    EXPECT_GT(std::count(a.begin(), a.end(), "acl_default"), 10);
}

}  // namespace
}  // namespace dpdk_app
