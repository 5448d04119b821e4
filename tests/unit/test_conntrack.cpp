// Connection tracking: [firewall.conntrack] and the state match in the
// configuration and in iptables files; the classify stage with its lane's
// connection table on a simulated clock: TCP handshake and teardown, UDP,
// ICMP echo, related ICMP errors, invalid packets, untracked fragments and
// NDP, timeouts, the full table, amortised expiry, connections that outlive
// a reload, IPv6.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "classify/acl.hpp"
#include "classify/classify_stage.hpp"
#include "classify/conntrack.hpp"
#include "classify/exact.hpp"
#include "config/config.hpp"
#include "config/iptables.hpp"
#include "corpus.hpp"
#include "dataplane/compose.hpp"
#include "dataplane/dataplane.hpp"
#include "eal_env.hpp"
#include "firewall_util.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "parse/parse_stage.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;
using ::testing::HasSubstr;
using unit::checked;
using unit::messages;

const std::string ports = "[[port]]\nname = \"p0\"\n[[port]]\nname = \"p1\"\n";

// "allow established and related, allow new from p0 (A), drop the rest".
const std::string host_firewall = ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "established"
state = ["established", "related"]
action = "accept"
[[firewall.rule]]
id = "new-from-a"
state = "new"
in_port = "p0"
action = "accept"
)";

// ---- configuration ---------------------------------------------------------------------

TEST(conntrack_config, reads_the_section_and_the_state_match) {
    const auto r = checked(host_firewall + R"(
[firewall.conntrack]
capacity = 4096
drop_invalid = false
[firewall.conntrack.timeouts]
tcp_syn = 5
tcp_established = 600
tcp_fin = 20
tcp_closed = 2
udp = 10
udp_stream = 60
icmp = 7
other = 100
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const auto& fw = *r.config.firewall;
    EXPECT_EQ(fw.rules[0].state, ct_established | ct_related);
    EXPECT_EQ(fw.rules[1].state, ct_new);
    EXPECT_TRUE(fw.tracks_connections());
    const auto& ct = fw.conntrack;
    EXPECT_EQ(ct.capacity, 4096u);
    EXPECT_FALSE(ct.drop_invalid);
    EXPECT_EQ(ct.tcp_syn, 5u);
    EXPECT_EQ(ct.tcp_established, 600u);
    EXPECT_EQ(ct.tcp_fin, 20u);
    EXPECT_EQ(ct.tcp_closed, 2u);
    EXPECT_EQ(ct.udp, 10u);
    EXPECT_EQ(ct.udp_stream, 60u);
    EXPECT_EQ(ct.icmp, 7u);
    EXPECT_EQ(ct.other, 100u);
}

TEST(conntrack_config, tracking_is_on_with_the_section_or_a_state_rule_only) {
    EXPECT_FALSE(checked("[firewall]\n").config.firewall->tracks_connections());
    EXPECT_TRUE(checked("[firewall]\n[firewall.conntrack]\n").config.firewall->tracks_connections());
    EXPECT_TRUE(checked(host_firewall).config.firewall->tracks_connections());
    EXPECT_FALSE(checked("[firewall]\n[firewall.conntrack]\nenabled = false\n")
                     .config.firewall->tracks_connections());
    const auto off = checked(host_firewall + "[firewall.conntrack]\nenabled = false\n");
    EXPECT_THAT(messages(off.errors),
                ::testing::Contains(HasSubstr("matches a connection state, but "
                                              "firewall.conntrack.enabled = false")));
}

TEST(conntrack_config, errors_name_the_key_and_position) {
    const std::string rule = "[firewall]\ndefault = \"drop\"\n[[firewall.rule]]\naction = \"accept\"\n";
    const std::pair<std::string, std::string> cases[] = {
        {rule + "state = \"open\"\n", "firewall.rule.state: expected one or a list"},
        {rule + "state = []\n", "firewall.rule.state: expected one or a list"},
        {rule + "state = [\"new\", 3]\n", "firewall.rule.state: expected one or a list"},
        {"[firewall]\n[firewall.conntrack]\ncapacity = 10\n", "capacity: expected an integer in 1024"},
        {"[firewall]\n[firewall.conntrack]\nsize = 10\n", "unknown key 'firewall.conntrack.size'"},
        {"[firewall]\n[firewall.conntrack.timeouts]\nudp = 0\n", "timeouts.udp: expected an integer"},
        {"[firewall]\n[firewall.conntrack.timeouts]\ntcp = 5\n",
         "unknown key 'firewall.conntrack.timeouts.tcp'"},
        {"[firewall]\n[firewall.conntrack]\ndrop_invalid = 1\n", "expected true or false"},
    };
    for (const auto& [text, message] : cases) {
        const auto r = checked(text);
        EXPECT_THAT(messages(r.errors), ::testing::Contains(HasSubstr(message))) << text;
        for (const auto& e : r.errors) {
            EXPECT_GT(e.where.line, 0u) << e.to_string();
        }
    }
}

TEST(conntrack_config, iptables_ctstate_and_state_import) {
    firewall_config fw;
    std::vector<config_error> errors;
    std::optional<firewall_action> policy;
    parse_iptables_save(
        "*filter\n:FORWARD DROP [0:0]\n"
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A FORWARD -m state --state NEW -i p0 -j ACCEPT\n"
        "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n"
        "-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT\nCOMMIT\n",
        "fw.rules", fw, policy, errors);
    const auto& rules = fw.rules;
    ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(messages(errors));
    ASSERT_EQ(rules.size(), 4u);
    EXPECT_EQ(rules[0].state, ct_established | ct_related);
    EXPECT_EQ(rules[1].state, ct_new);
    EXPECT_EQ(rules[2].state, ct_invalid);
    EXPECT_EQ(rules[3].state, ct_untracked);
    fw.rules.clear();
    parse_iptables_save("*filter\n:FORWARD DROP [0:0]\n"
                        "-A FORWARD -m conntrack --ctstate ESTABLISHED,SNAT -j ACCEPT\nCOMMIT\n",
                        "fw.rules", fw, policy, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0].to_string(), HasSubstr("fw.rules:3:"));
    EXPECT_THAT(errors[0].to_string(), HasSubstr("--ctstate: expected STATE"));
}

TEST(conntrack_config, tracking_and_capacity_changes_need_a_restart) {
    const auto a = checked(host_firewall).config;
    auto b = a;
    b.firewall->conntrack.capacity = 2048;
    EXPECT_THAT(restart_only_changes(a, b), ::testing::ElementsAre("firewall.conntrack.capacity"));
    b = a;
    b.firewall->conntrack.udp = 5;  // timeouts reload
    b.firewall->rules.pop_back();
    EXPECT_TRUE(restart_only_changes(a, b).empty());
    b = a;
    b.firewall->rules.clear();
    EXPECT_THAT(restart_only_changes(a, b),
                ::testing::ElementsAre("firewall.conntrack (tracking turned on or off)"));
    b = a;
    b.firewall.reset();
    EXPECT_THAT(restart_only_changes(a, b), ::testing::ElementsAre("[firewall] (added or removed)"));
}

// ---- the classify stage with a connection table (EAL) -------------------------------------

constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;

using addr4 = std::array<uint8_t, 4>;
const addr4 host_a{192, 0, 2, 10};      // behind p0
const addr4 host_b{198, 51, 100, 20};   // behind p1

bytes v4(uint8_t proto, const bytes& l4, addr4 src, addr4 dst, uint16_t frag = 0) {
    ipv4_header h;
    h.proto = proto;
    h.src = src;
    h.dst = dst;
    h.frag = frag;
    return cat(ethernet(ether_ipv4), ipv4(h, l4));
}

bytes echo(uint8_t type, uint16_t id) {
    return {type, 0, 0, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 1};
}

// An ICMP error (type, code) quoting the first 28 bytes of an IPv4 packet.
bytes icmp_error(uint8_t type, uint8_t code, uint8_t proto, const bytes& l4, addr4 src, addr4 dst) {
    ipv4_header q;
    q.proto = proto;
    q.src = src;
    q.dst = dst;
    bytes quoted = ipv4(q, l4);
    quoted.resize(28);
    return cat({type, code, 0, 0, 0, 0, 0, 0}, quoted);
}

struct pkt {
    bytes frame;
    uint16_t port;
};

class conntrack_test : public unit::pool_test<conntrack_test> {
  public:
    static constexpr const char* pool_name = "ct_pool";
    static constexpr unsigned pool_size = 2047;

  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(pool_test::SetUp());
        hz_ = rte_get_tsc_hz();
    }
    void TearDown() override {
        stage_.reset();
        pool_test::TearDown();
    }

    // Loads the configuration: a new generation; the stage (and its
    // connections) is made on the first load only, as at start.
    void load(const std::string& text) {
        const auto r = checked(text);
        ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
        std::vector<std::string> errors;
        auto t = acl_table::build(*r.config.firewall, ports_, 1, errors);
        ASSERT_TRUE(t) << ::testing::PrintToString(errors);
        gen_ = std::make_unique<generation>(++number_);
        gen_->add(std::move(t));
        if (r.config.firewall->exact) {
            auto ex = exact_table::build(*r.config.firewall->exact, 1, errors);
            ASSERT_TRUE(ex) << ::testing::PrintToString(errors);
            gen_->add(std::move(ex));
        }
        if (!stage_) {
            std::string error;
            stage_ = classify_stage::create(0, *r.config.firewall, error);
            ASSERT_TRUE(stage_) << error;
        }
    }

    // Runs packets at second `at` as one burst: "pass" or the drop reason.
    std::vector<std::string> run(double at, const std::vector<pkt>& pkts) {
        std::vector<std::pair<bytes, uint16_t>> frames;
        for (const auto& p : pkts) {
            frames.emplace_back(p.frame, p.port);
        }
        return unit::run_burst(pool_, frames, {stage_.get()}, counters_, gen_.get(),
                               start_ + static_cast<uint64_t>(at * static_cast<double>(hz_)))
            .fate;
    }
    std::string one(double at, const bytes& frame, uint16_t port) {
        const auto v = run(at, {{frame, port}});
        return v.empty() ? "" : v[0];
    }
    uint64_t events(event e) const { return counters_.events[static_cast<std::size_t>(e)].get(); }
    // Packets rule i counted (the default policy: i = the number of rules).
    uint64_t hits(std::size_t i) const { return gen_->find<acl_table>()->hits(0)[i].packets.get(); }
    uint32_t live() const { return stage_->connections()->size(); }

    std::vector<port_plan> ports_ = {port_plan{.port_id = 0, .name = "p0"},
                                     port_plan{.port_id = 1, .name = "p1"}};
    std::unique_ptr<classify_stage> stage_;
    std::unique_ptr<generation> gen_;
    uint64_t number_ = 0;
    segment_counters counters_;
    uint64_t hz_ = 0;
    uint64_t start_ = 1'000'000'000;
};

// A's TCP connection: handshake, data both ways, teardown; B cannot start one.
TEST_F(conntrack_test, tcp_connection_from_a_works_both_ways_and_b_cannot_open_one) {
    load(host_firewall);
    auto a_to_b = [](uint8_t flags) { return v4(proto_tcp, tcp(40000, 80, flags), host_a, host_b); };
    auto b_to_a = [](uint8_t flags) { return v4(proto_tcp, tcp(80, 40000, flags), host_b, host_a); };
    EXPECT_EQ(one(0, a_to_b(syn), 0), "pass");
    EXPECT_EQ(events(event::connections_created), 1u);
    EXPECT_EQ(one(0.1, b_to_a(syn | ack), 1), "pass");
    EXPECT_EQ(one(0.2, a_to_b(ack), 0), "pass");
    EXPECT_EQ(one(0.3, a_to_b(ack | 0x08), 0), "pass");
    EXPECT_EQ(one(0.4, b_to_a(ack | 0x08), 1), "pass");
    EXPECT_EQ(one(0.5, a_to_b(fin | ack), 0), "pass");
    EXPECT_EQ(one(0.6, b_to_a(fin | ack), 1), "pass");
    EXPECT_EQ(one(0.7, a_to_b(ack), 0), "pass");
    EXPECT_EQ(live(), 1u);
    // tcp_fin (120 s) later the connection is gone: a late ACK is invalid.
    EXPECT_EQ(one(121, b_to_a(ack), 1), "conntrack_invalid");
    // B opening a connection: its SYN is new from p1.
    EXPECT_EQ(one(200, v4(proto_tcp, tcp(5555, 22, syn), host_b, host_a), 1), "acl_default");
    // A segment of no connection, bad flag sets: invalid.
    EXPECT_EQ(one(201, v4(proto_tcp, tcp(5555, 22, ack), host_b, host_a), 1), "conntrack_invalid");
    EXPECT_EQ(one(202, v4(proto_tcp, tcp(41000, 80, syn | fin), host_a, host_b), 0),
              "conntrack_invalid");
    EXPECT_EQ(one(203, v4(proto_tcp, tcp(41000, 80, 0), host_a, host_b), 0), "conntrack_invalid");
    EXPECT_EQ(one(204, v4(proto_tcp, tcp(41000, 80, fin), host_a, host_b), 0), "conntrack_invalid");
    EXPECT_EQ(events(event::connections_created), 1u) << "dropped packets leave no connection";
}

TEST_F(conntrack_test, handshake_states_in_order) {
    load(host_firewall);
    auto a_to_b = [](uint8_t flags) { return v4(proto_tcp, tcp(40001, 443, flags), host_a, host_b); };
    auto b_to_a = [](uint8_t flags) { return v4(proto_tcp, tcp(443, 40001, flags), host_b, host_a); };
    // Before the SYN/ACK, A's ACK fits no handshake; B's SYN/ACK without a SYN neither.
    EXPECT_EQ(one(0, b_to_a(syn | ack), 1), "conntrack_invalid");
    EXPECT_EQ(one(0, a_to_b(syn), 0), "pass");
    EXPECT_EQ(one(0, a_to_b(ack), 0), "conntrack_invalid");
    EXPECT_EQ(one(0, b_to_a(ack), 1), "conntrack_invalid") << "a reply without SYN";
    EXPECT_EQ(one(0, a_to_b(syn), 0), "pass") << "a retransmitted SYN";
    EXPECT_EQ(one(1, b_to_a(syn | ack), 1), "pass");
    EXPECT_EQ(one(1, a_to_b(ack), 0), "pass");
    // A RST closes it: after it only a new SYN from A (the ports reused).
    EXPECT_EQ(one(2, b_to_a(rst | ack), 1), "pass");
    EXPECT_EQ(one(2.5, b_to_a(ack), 1), "conntrack_invalid");
    EXPECT_EQ(one(3, a_to_b(syn), 0), "pass");
    EXPECT_EQ(events(event::connections_created), 2u);
    EXPECT_EQ(one(3.1, b_to_a(syn | ack), 1), "pass");
    // tcp_syn (30 s) without the last ACK... but SYN/ACK seen: tcp_syn still.
    EXPECT_EQ(one(40, a_to_b(ack), 0), "conntrack_invalid");
}

TEST_F(conntrack_test, syn_and_reply_in_one_burst) {
    load(host_firewall);
    const auto v = run(0, {{v4(proto_tcp, tcp(40002, 80, syn), host_a, host_b), 0},
                           {v4(proto_tcp, tcp(80, 40002, syn | ack), host_b, host_a), 1},
                           {v4(proto_tcp, tcp(40002, 80, ack), host_a, host_b), 0},
                           {v4(proto_tcp, tcp(6000, 80, syn), host_b, host_a), 1}});
    EXPECT_EQ(v, (std::vector<std::string>{"pass", "pass", "pass", "acl_default"}));
    EXPECT_EQ(events(event::connections_created), 1u);
}

TEST_F(conntrack_test, udp_reply_within_the_timeout_only) {
    load(host_firewall);
    const bytes query = v4(proto_udp, udp(5353, 53, 10), host_a, host_b);
    const bytes answer = v4(proto_udp, udp(53, 5353, 10), host_b, host_a);
    EXPECT_EQ(one(0, query, 0), "pass");
    EXPECT_EQ(one(29, answer, 1), "pass") << "udp = 30 s";
    // Both directions seen: udp_stream (120 s) from the last packet.
    EXPECT_EQ(one(140, answer, 1), "pass");
    EXPECT_EQ(one(261, answer, 1), "acl_default") << "timed out: new from B";
    // An unanswered query times out after udp (30 s).
    EXPECT_EQ(one(300, v4(proto_udp, udp(7000, 53), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(331, v4(proto_udp, udp(53, 7000), host_b, host_a), 1), "acl_default");
}

TEST_F(conntrack_test, timeouts_follow_a_reload) {
    load(host_firewall);
    EXPECT_EQ(one(0, v4(proto_udp, udp(1000, 53), host_a, host_b), 0), "pass");
    load(host_firewall + "[firewall.conntrack.timeouts]\nudp = 5\n");
    EXPECT_EQ(one(1, v4(proto_udp, udp(1000, 53), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(7, v4(proto_udp, udp(53, 1000), host_b, host_a), 1), "acl_default")
        << "the reloaded 5 s applied from the last packet";
}

TEST_F(conntrack_test, icmp_echo_and_related_errors) {
    load(host_firewall);
    EXPECT_EQ(one(0, v4(proto_icmp, echo(8, 77), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(0.1, v4(proto_icmp, echo(0, 77), host_b, host_a), 1), "pass");
    EXPECT_EQ(one(0.2, v4(proto_icmp, echo(0, 78), host_b, host_a), 1), "conntrack_invalid")
        << "a reply to no request";
    EXPECT_EQ(one(0.3, v4(proto_icmp, echo(8, 79), host_b, host_a), 1), "acl_default")
        << "B's ping is new from p1";
    // A's UDP to B, and B's port unreachable about it: related.
    EXPECT_EQ(one(1, v4(proto_udp, udp(33434, 33435), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(1.1,
                  v4(proto_icmp, icmp_error(3, 3, proto_udp, udp(33434, 33435), host_a, host_b),
                     host_b, host_a),
                  1),
              "pass");
    // The same error about a flow nobody opened: invalid.
    EXPECT_EQ(one(1.2,
                  v4(proto_icmp, icmp_error(3, 3, proto_udp, udp(1, 2), host_a, host_b), host_b,
                     host_a),
                  1),
              "conntrack_invalid");
    // A time exceeded from a router in the middle about A's ping: related.
    EXPECT_EQ(one(1.3,
                  v4(proto_icmp, icmp_error(11, 0, proto_icmp, echo(8, 77), host_a, host_b),
                     addr4{203, 0, 113, 1}, host_a),
                  1),
              "pass");
    EXPECT_EQ(events(event::connections_created), 2u) << "errors open no connection";
}

TEST_F(conntrack_test, invalid_goes_to_the_rules_when_not_dropped_first) {
    load(ports + R"(
[firewall]
default = "accept"
[firewall.conntrack]
drop_invalid = false
[[firewall.rule]]
id = "bad"
state = "invalid"
action = "drop"
[[firewall.rule]]
id = "frag"
state = "untracked"
action = "drop"
)");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(1, 2, ack), host_a, host_b), 0), "acl_deny");
    EXPECT_EQ(one(0, v4(proto_udp, udp(1, 2), host_a, host_b, 0x2000), 0), "acl_deny")
        << "a fragment is untracked";
    EXPECT_EQ(one(0, v4(proto_udp, udp(1, 2), host_a, host_b), 0), "pass");
    EXPECT_EQ(counters_.drops[static_cast<std::size_t>(drop_reason::conntrack_invalid)].get(), 0u);
}

TEST_F(conntrack_test, a_full_table_drops_new_connections_until_some_time_out) {
    load(host_firewall + "[firewall.conntrack]\ncapacity = 1024\n");
    const uint32_t capacity = stage_->connections()->capacity();
    uint32_t passed = 0;
    uint32_t full = 0;
    for (uint32_t i = 0; i < capacity + 100; i += 32) {
        std::vector<pkt> burst_of;
        for (uint32_t j = i; j < i + 32 && j < capacity + 100; ++j) {
            burst_of.push_back({v4(proto_udp, udp(static_cast<uint16_t>(1024 + j), 53), host_a, host_b), 0});
        }
        for (const auto& v : run(0, burst_of)) {
            passed += v == "pass";
            full += v == "conntrack_full";
        }
    }
    EXPECT_EQ(passed, capacity);
    EXPECT_EQ(full, 100u);
    EXPECT_EQ(live(), capacity);
    // Established connections still pass while full.
    EXPECT_EQ(one(1, v4(proto_udp, udp(53, 1024), host_b, host_a), 1), "pass");
    // After udp (30 s) a new connection frees timed-out slots and fits.
    EXPECT_EQ(one(40, v4(proto_udp, udp(9, 53), host_a, host_b), 0), "pass");
    EXPECT_GT(events(event::connections_expired), 0u);
}

TEST_F(conntrack_test, expiry_is_amortised_over_bursts) {
    load(host_firewall);
    for (uint32_t i = 0; i < 2000; i += 50) {
        std::vector<pkt> b;
        for (uint32_t j = i; j < i + 50; ++j) {
            b.push_back({v4(proto_udp, udp(static_cast<uint16_t>(2000 + j), 53), host_a, host_b), 0});
        }
        run(0, b);
    }
    ASSERT_EQ(live(), 2000u);
    // Long after the timeout, each burst looks at expire_per_burst slots
    // of each family: never the whole table at once.
    const uint32_t slots = static_cast<uint32_t>(stage_->connections()->capacity());
    uint32_t bursts = 0;
    uint32_t last = live();
    while (live() > 0 && bursts < 100000) {
        one(100, arp(), 0);  // not IP: passes, but the burst sweeps
        one(100, v4(proto_udp, udp(1, 53), host_b, host_a), 1);
        EXPECT_LE(last - live(), 2 * classify_stage::expire_per_burst);
        last = live();
        ++bursts;
    }
    EXPECT_EQ(live(), 0u);
    EXPECT_GE(bursts, 2000u / (2 * classify_stage::expire_per_burst));
    EXPECT_LE(bursts, slots / classify_stage::expire_per_burst + 2);
    EXPECT_EQ(events(event::connections_expired), 2000u);
}

TEST_F(conntrack_test, connections_outlive_a_reload_of_the_rules) {
    load(host_firewall);
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(40003, 80, syn), host_a, host_b), 0), "pass");
    // The new rule set no longer lets A open anything: A's connection goes on.
    load(ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "established"
state = ["established", "related"]
action = "accept"
)");
    EXPECT_EQ(one(1, v4(proto_tcp, tcp(80, 40003, syn | ack), host_b, host_a), 1), "pass");
    EXPECT_EQ(one(1, v4(proto_tcp, tcp(40003, 80, ack), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(1, v4(proto_tcp, tcp(40004, 80, syn), host_a, host_b), 0), "acl_default");
}

TEST_F(conntrack_test, ipv6_connections_and_untracked_ndp) {
    load(host_firewall);
    ipv6_header a_to_b;
    a_to_b.next = proto_tcp;
    ipv6_header b_to_a = a_to_b;
    std::swap(b_to_a.src, b_to_a.dst);
    auto frame = [](ipv6_header h, const bytes& l4) { return cat(ethernet(ether_ipv6), ipv6(h, l4)); };
    EXPECT_EQ(one(0, frame(a_to_b, tcp(50000, 22, syn)), 0), "pass");
    EXPECT_EQ(one(0, frame(b_to_a, tcp(22, 50000, syn | ack)), 1), "pass");
    EXPECT_EQ(one(0, frame(a_to_b, tcp(50000, 22, ack)), 0), "pass");
    EXPECT_EQ(one(0, frame(b_to_a, tcp(22, 50001, syn)), 1), "acl_default");
    // Neighbour solicitation: untracked, so only a rule for it would let it through.
    ipv6_header ns = b_to_a;
    ns.next = proto_icmpv6;
    ns.hop_limit = 255;
    EXPECT_EQ(one(0, frame(ns, icmp(135, 0, 16)), 1), "acl_default");
    // Echo v6.
    ipv6_header e = a_to_b;
    e.next = proto_icmpv6;
    ipv6_header r = b_to_a;
    r.next = proto_icmpv6;
    EXPECT_EQ(one(1, frame(e, echo(128, 9)), 0), "pass");
    EXPECT_EQ(one(1, frame(r, echo(129, 9)), 1), "pass");
    EXPECT_EQ(events(event::connections_created), 2u);
}

TEST_F(conntrack_test, stateless_rules_and_tracking_together) {
    // Tracking with no state rule (the section alone): only invalid packets
    // are dropped; the rules decide the rest as before.
    load(ports + R"(
[firewall]
default = "accept"
[firewall.conntrack]
[[firewall.rule]]
proto = "udp"
dport = 9
action = "drop"
)");
    EXPECT_EQ(one(0, v4(proto_udp, udp(1, 9), host_a, host_b), 0), "acl_deny");
    EXPECT_EQ(one(0, v4(proto_udp, udp(1, 10), host_a, host_b), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(1, 10, ack), host_a, host_b), 0), "conntrack_invalid");
    EXPECT_EQ(events(event::connections_created), 1u);
}

// The classic host firewall of docs/configuration.md: established and
// related, ping, SSH from 10.0.0.0/8 only, web, nothing else.
TEST_F(conntrack_test, the_classic_host_firewall) {
    load(ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "established"
action = "accept"
state = ["established", "related"]
[[firewall.rule]]
id = "ping"
action = "accept"
proto = "icmp"
icmp_type = 8
[[firewall.rule]]
id = "ssh-admins"
action = "accept"
proto = "tcp"
dport = 22
src = "10.0.0.0/8"
[[firewall.rule]]
id = "web"
action = "accept"
proto = "tcp"
dport = "80-80"
[[firewall.rule]]
id = "tls"
action = "accept"
proto = "tcp"
dport = 443
)");
    const addr4 admin{10, 9, 8, 7};
    const addr4 server{192, 0, 2, 80};
    const addr4 outsider{203, 0, 113, 5};
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50000, 22, syn), admin, server), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(22, 50000, syn | ack), server, admin), 1), "pass")
        << "the server's answer is established";
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50000, 22, ack), admin, server), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50001, 22, syn), outsider, server), 0), "acl_default");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50002, 80, syn), outsider, server), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50003, 443, syn), outsider, server), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(50004, 8080, syn), outsider, server), 0), "acl_default");
    EXPECT_EQ(one(0, v4(proto_icmp, echo(8, 1), outsider, server), 0), "pass");
    EXPECT_EQ(one(0, v4(proto_icmp, echo(0, 1), server, outsider), 1), "pass");
    EXPECT_EQ(one(0, v4(proto_udp, udp(5000, 53), outsider, server), 0), "acl_default");
    // The server starting a connection outward: nothing lets it.
    EXPECT_EQ(one(0, v4(proto_tcp, tcp(40000, 25, syn), server, outsider), 1), "acl_default");
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

// ---- the state shortcut ---------------------------------------------------------------

std::unique_ptr<acl_table> table_of(const std::string& text) {
    const auto r = unit::checked(text);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    std::vector<std::string> errors;
    const std::vector<port_plan> plans = {port_plan{.port_id = 0, .name = "p0"},
                                          port_plan{.port_id = 1, .name = "p1"}};
    auto t = r.ok() ? acl_table::build(*r.config.firewall, plans, 1, errors) : nullptr;
    EXPECT_TRUE(t) << ::testing::PrintToString(errors);
    return t;
}

TEST(conntrack_shortcut, the_first_rule_that_can_match_a_state_decides_it_alone_or_not) {
    auto t = table_of(host_firewall);
    ASSERT_TRUE(t);
    for (bool v6 : {false, true}) {
        EXPECT_EQ(t->verdict_by_state(v6, ct_established), 0);
        EXPECT_EQ(t->verdict_by_state(v6, ct_related), 0);
        EXPECT_EQ(t->verdict_by_state(v6, ct_new), verdict_classify) << "rule 2 matches in_port";
        EXPECT_EQ(t->verdict_by_state(v6, ct_invalid), verdict_default) << "no rule can match";
        EXPECT_EQ(t->verdict_by_state(v6, ct_untracked), verdict_default);
        EXPECT_EQ(t->verdict_by_state(v6, 0), verdict_classify);
    }
    // A count rule first: every state goes through rte_acl.
    t = table_of(ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
action = "count"
proto = "gre"
[[firewall.rule]]
state = ["established", "related"]
action = "accept"
)");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->verdict_by_state(false, ct_established), verdict_classify);
    // A rule of one family first: the other family's packets skip it.
    t = table_of(ports + R"(
[firewall]
default = "accept"
[[firewall.rule]]
action = "drop"
src = "10.0.0.0/8"
[[firewall.rule]]
state = "established"
action = "reject"
[[firewall.rule]]
state = "new"
action = "drop"
)");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->verdict_by_state(false, ct_established), verdict_classify);
    EXPECT_EQ(t->verdict_by_state(true, ct_established), 1);
    EXPECT_EQ(t->verdict_by_state(false, ct_new), verdict_classify);
    EXPECT_EQ(t->verdict_by_state(true, ct_new), 2);
    EXPECT_EQ(t->verdict_by_state(true, ct_related), verdict_default);
}

// The shortcut changes no verdict and no count: one conversation through
// the host firewall, then again with a count rule first (no shortcut).
TEST_F(conntrack_test, the_shortcut_gives_the_verdicts_and_counts_of_the_rules) {
    const std::string counted = ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "gre"
proto = "gre"
action = "count"
)" + host_firewall.substr(host_firewall.find("[[firewall.rule]]"));
    auto conversation = [&] {
        auto a_to_b = [](uint8_t flags) { return v4(proto_tcp, tcp(40000, 80, flags), host_a, host_b); };
        auto b_to_a = [](uint8_t flags) { return v4(proto_tcp, tcp(80, 40000, flags), host_b, host_a); };
        std::vector<std::string> out;
        auto add = [&](const std::vector<std::string>& v) { out.insert(out.end(), v.begin(), v.end()); };
        // Handshake and data in one burst, then apart; B's SYN; an echo and
        // its reply; an error about the connection; a reply to nothing.
        add(run(0, {{a_to_b(syn), 0}, {b_to_a(syn | ack), 1}, {a_to_b(ack), 0}, {b_to_a(ack), 1}}));
        add(run(1, {{a_to_b(ack | 0x08), 0}, {b_to_a(ack | 0x08), 1}}));
        add(run(2, {{v4(proto_tcp, tcp(5555, 22, syn), host_b, host_a), 1}}));
        add(run(3, {{v4(proto_icmp, echo(8, 7), host_a, host_b), 0},
                    {v4(proto_icmp, echo(0, 7), host_b, host_a), 1},
                    {v4(proto_icmp, icmp_error(3, 4, proto_tcp, tcp(40000, 80, ack), host_a, host_b),
                        host_b, host_a), 1},
                    {v4(proto_icmp, echo(0, 99), host_b, host_a), 1}}));
        add(run(4, {{b_to_a(fin | ack), 1}, {a_to_b(fin | ack), 0}, {b_to_a(ack), 1}}));
        return out;
    };
    load(host_firewall);
    ASSERT_EQ(gen_->find<acl_table>()->verdict_by_state(false, ct_established), 0);
    const auto fast = conversation();
    const std::vector<uint64_t> fast_hits = {hits(0), hits(1), hits(2)};
    stage_.reset();
    load(counted);
    ASSERT_EQ(gen_->find<acl_table>()->verdict_by_state(false, ct_established), verdict_classify);
    const auto slow = conversation();
    EXPECT_EQ(fast, slow);
    EXPECT_EQ(fast_hits, (std::vector<uint64_t>{hits(1), hits(2), hits(3)}));
    const std::vector<std::string> expect = {
        "pass", "pass", "pass", "pass",  // handshake: new, then established
        "pass", "pass",                  // data
        "acl_default",                   // B's SYN: new from p1
        "pass", "pass", "pass", "conntrack_invalid",  // echo, reply, related error, stray reply
        "pass", "pass", "pass"};                      // teardown
    EXPECT_EQ(fast, expect);
    EXPECT_EQ(fast_hits, (std::vector<uint64_t>{10, 2, 1}))
        << "established and related; new from A; the default";
}

// [firewall.exact] comes before the state check and the rules: an accept
// entry lets B open a connection (its replies are then established) and
// passes even an invalid segment; a drop entry drops established traffic.
TEST_F(conntrack_test, exact_entries_come_before_the_state_and_the_rules) {
    const addr4 host_c{203, 0, 113, 30};
    load(host_firewall + R"(
[firewall.exact]
entries = ["accept src 198.51.100.20", "drop src 203.0.113.30"]
)");
    auto b_to_a = [](uint8_t flags) { return v4(proto_tcp, tcp(5555, 22, flags), host_b, host_a); };
    auto a_to_b = [](uint8_t flags) { return v4(proto_tcp, tcp(22, 5555, flags), host_a, host_b); };
    EXPECT_EQ(one(0, b_to_a(syn), 1), "pass") << "B is listed: the rules do not see it";
    EXPECT_EQ(events(event::connections_created), 1u) << "its connection is tracked";
    EXPECT_EQ(one(0.1, a_to_b(syn | ack), 0), "pass") << "A's answer is established";
    EXPECT_EQ(one(0.2, v4(proto_tcp, tcp(6000, 80, ack), host_b, host_a), 1), "pass")
        << "invalid, but listed";
    EXPECT_EQ(one(0.3, v4(proto_tcp, tcp(40000, 80, syn), host_a, host_c), 0), "pass");
    EXPECT_EQ(one(0.4, v4(proto_tcp, tcp(80, 40000, syn | ack), host_c, host_a), 1), "exact_deny")
        << "C is denied even where the rules would call it established";
    EXPECT_EQ(one(0.5, v4(proto_tcp, tcp(80, 40000, ack), host_b, host_a), 1), "pass");
    const exact_table* ex = gen_->find<exact_table>();
    ASSERT_NE(ex, nullptr);
    EXPECT_EQ(ex->hits().accept_packets, 3u);
    EXPECT_EQ(ex->hits().drop_packets, 1u);
    EXPECT_EQ(hits(0), 1u) << "only A's answer went to the rules as established";
}

}  // namespace
}  // namespace dpdk_app
