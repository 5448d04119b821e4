// The policers' foundation: rate and burst units, [[policer]] parsing and
// its errors, the meters (srTCM, trTCM, RFC 4115) against references written
// from the RFC text, their rates and bursts on a simulated clock, the
// refill's precision against rte_meter's own profiles, and the shaper.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_meter.h>

#include "config/config.hpp"
#include "config/units.hpp"
#include "eal_env.hpp"
#include "firewall_util.hpp"
#include "police/meter.hpp"
#include "police/shaper.hpp"

namespace dpdk_app {
namespace {

using ::testing::HasSubstr;
using unit::messages;

__extension__ typedef unsigned __int128 wide;

constexpr uint64_t ghz_2_6 = 2'600'000'000;

// The cases of a parameterised test print as their name.
template <typename Case>
requires requires(const Case& c) {
    c.name;
}
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

// ---- units -------------------------------------------------------------------------------

TEST(police_units, rates_scale_exactly) {
    const std::vector<std::pair<std::string, traffic_rate>> cases = {
        {"100Mbit", {12'500'000, traffic_unit::bytes}},
        {"1.5Gbit", {187'500'000, traffic_unit::bytes}},
        {"10kbit", {1250, traffic_unit::bytes}},
        {"8bit", {1, traffic_unit::bytes}},
        {"12345bit", {1543, traffic_unit::bytes}},  // 1543.125 bytes/s, rounded
        {"12348bit", {1544, traffic_unit::bytes}},  // 1543.5, rounded up
        {"64kbyte", {64'000, traffic_unit::bytes}},
        {"2.5Mbyte", {2'500'000, traffic_unit::bytes}},
        {"1Gbyte", {1'000'000'000, traffic_unit::bytes}},
        {"7byte", {7, traffic_unit::bytes}},
        {"100kpps", {100'000, traffic_unit::packets}},
        {"1.25Mpps", {1'250'000, traffic_unit::packets}},
        {"1000pps", {1000, traffic_unit::packets}},
        {" 10 Mbit ", {1'250'000, traffic_unit::bytes}},
        {"8000Gbit", {1'000'000'000'000, traffic_unit::bytes}},
    };
    for (const auto& [text, want] : cases) {
        std::string error;
        const auto got = parse_rate(text, error);
        ASSERT_TRUE(got) << text << ": " << error;
        EXPECT_EQ(*got, want) << text;
    }
}

TEST(police_units, bursts_scale_exactly) {
    const std::vector<std::pair<std::string, traffic_burst>> cases = {
        {"1500byte", {1500, burst_kind::bytes}},   {"64kbyte", {64'000, burst_kind::bytes}},
        {"1.5kbyte", {1500, burst_kind::bytes}},   {"2Mbyte", {2'000'000, burst_kind::bytes}},
        {"10packet", {10, burst_kind::packets}},   {"10packets", {10, burst_kind::packets}},
        {"1packet", {1, burst_kind::packets}},     {"50ms", {50'000'000, burst_kind::time}},
        {"1s", {1'000'000'000, burst_kind::time}}, {"200us", {200'000, burst_kind::time}},
        {"0.5ms", {500'000, burst_kind::time}},
    };
    for (const auto& [text, want] : cases) {
        std::string error;
        const auto got = parse_burst(text, error);
        ASSERT_TRUE(got) << text << ": " << error;
        EXPECT_EQ(*got, want) << text;
    }
}

TEST(police_units, wrong_quantities_name_the_accepted_forms) {
    const std::vector<std::pair<std::string, std::string>> rates = {
        {"1000", "has no unit"},
        {"10Mbps", "unknown unit 'Mbps'"},
        {"10mbit", "unknown unit 'mbit'"},
        {"-5Mbit", "must be positive"},
        {"0Mbit", "must be more than zero"},
        {"0.0kpps", "must be more than zero"},
        {"3bit", "less than one byte per second"},
        {"1.5pps", "not a whole number of packets per second"},
        {"0.5byte", "not a whole number of bytes per second"},
        {"9000Gbit", "too large"},
        {"99999999999999999999Gbit", "too many digits"},
        {"Mbit", "does not start with a number"},
        {"", "does not start with a number"},
        {"1.2.3Mbit", "unknown unit '.3Mbit'"},
        {"100ms", "unknown unit 'ms'"},
    };
    for (const auto& [text, why] : rates) {
        std::string error;
        EXPECT_FALSE(parse_rate(text, error)) << text;
        EXPECT_THAT(error, HasSubstr(why)) << text;
        EXPECT_THAT(error, HasSubstr(std::string(rate_forms))) << text;
    }
    const std::vector<std::pair<std::string, std::string>> bursts = {
        {"1500", "has no unit"},
        {"10pkts", "unknown unit 'pkts'"},
        {"1.5packets", "not a whole number of packets"},
        {"0ms", "must be more than zero"},
        {"0.1ns", "unknown unit 'ns'"},
        {"0.0001us", "not a whole number of nanoseconds"},
        {"3601s", "too long"},
        {"2000Gbyte", "too large"},
        {"10Mbit", "unknown unit 'Mbit'"},
    };
    for (const auto& [text, why] : bursts) {
        std::string error;
        EXPECT_FALSE(parse_burst(text, error)) << text;
        EXPECT_THAT(error, HasSubstr(why)) << text;
        EXPECT_THAT(error, HasSubstr(std::string(burst_forms))) << text;
    }
}

TEST(police_units, a_time_burst_is_what_the_rate_sends_in_it) {
    std::string error;
    const traffic_rate mbit100{12'500'000, traffic_unit::bytes};
    const traffic_rate kpps1{1000, traffic_unit::packets};
    EXPECT_EQ(burst_at_rate({50'000'000, burst_kind::time}, mbit100, error), 625'000u);
    EXPECT_EQ(burst_at_rate({50'000'000, burst_kind::time}, kpps1, error), 50u);
    EXPECT_EQ(burst_at_rate({1'500'000, burst_kind::time}, kpps1, error), 1u) << "rounded down";
    EXPECT_EQ(burst_at_rate({1500, burst_kind::bytes}, mbit100, error), 1500u);
    EXPECT_EQ(burst_at_rate({10, burst_kind::packets}, kpps1, error), 10u);
    EXPECT_FALSE(burst_at_rate({999'999, burst_kind::time}, kpps1, error));
    EXPECT_THAT(error, HasSubstr("less than one packet"));
    EXPECT_FALSE(burst_at_rate({1500, burst_kind::bytes}, kpps1, error));
    EXPECT_THAT(error, HasSubstr("a packet rate (pps) needs a burst in packets or time"));
    EXPECT_FALSE(burst_at_rate({10, burst_kind::packets}, mbit100, error));
    EXPECT_THAT(error, HasSubstr("a byte or bit rate needs a burst in bytes or time"));
    EXPECT_FALSE(burst_at_rate({3'600'000'000'000, burst_kind::time},
                               {max_traffic_amount, traffic_unit::bytes}, error));
    EXPECT_THAT(error, HasSubstr("more than 2^40"));
}

TEST(police_units, dscp_names_and_numbers) {
    const std::vector<std::pair<std::string, int>> cases = {
        {"0", 0},       {"63", 63},   {"46", 46},   {"ef", 46},   {"EF", 46},   {"be", 0},
        {"default", 0}, {"le", 1},    {"va", 44},   {"cs0", 0},   {"cs1", 8},   {"cs7", 56},
        {"af11", 10},   {"af12", 12}, {"af13", 14}, {"af21", 18}, {"af33", 30}, {"af41", 34},
        {"af43", 38},   {"64", -1},   {"af14", -1}, {"af51", -1}, {"cs8", -1},  {"", -1},
        {"-1", -1},     {"4x", -1},
    };
    for (const auto& [text, want] : cases) {
        const auto got = parse_dscp(text);
        EXPECT_EQ(got ? int{*got} : -1, want) << text;
    }
}

// ---- [[policer]] -------------------------------------------------------------------------

TEST(police_config, reads_every_kind_and_key) {
    const auto r = parse_config(R"([[policer]]
name = "ssh-syn"
kind = "srtcm"
cir = "1kpps"
cbs = "100packets"
ebs = "50ms"
scope = "per-source"
prefix_v4 = 24
prefix_v6 = 56
max_keys = 100000
idle_timeout = 30
red = "drop"

[[policer]]
name = "customer.a"
kind = "trtcm"
cir = "100Mbit"
pir = "1.5Gbit"
cbs = "50ms"
pbs = "64kbyte"
length = "l1"
color_aware = true
green = "remark:af11"
yellow = "remark:12"
red = "remark:cs1"

[[policer]]
name = "rfc"
kind = "rfc4115"
cir = "10Mbyte"
eir = "40Mbit"
cbs = "1500byte"
ebs = "1ms"
length = "l3"
scope = "per-flow"

[[policer]]
name = "shape-1"
kind = "shaper"
rate = "1Gbit"
queue = "2ms"

[[policer]]
name = "shape-2"
kind = "shaper"
rate = "10kpps"
queue = "64kbyte"
length = "l3"
)",
                                "police.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    ASSERT_EQ(r.config.policers.size(), 5u);
    const policer_config& a = r.config.policers[0];
    EXPECT_EQ(a.name, "ssh-syn");
    EXPECT_EQ(a.kind, policer_kind::srtcm);
    EXPECT_EQ(a.unit, traffic_unit::packets);
    EXPECT_EQ(a.cir, 1000u);
    EXPECT_EQ(a.cbs, 100u);
    EXPECT_EQ(a.ebs, 50u) << "50 ms at 1000 pps";
    EXPECT_EQ(a.scope, policer_scope::per_source);
    EXPECT_EQ(a.prefix_v4, 24);
    EXPECT_EQ(a.prefix_v6, 56);
    EXPECT_EQ(a.max_keys, 100000u);
    EXPECT_EQ(a.idle_timeout, 30u);
    EXPECT_EQ(a.green, color_action{color_action::verb::transmit});
    EXPECT_EQ(a.yellow, color_action{color_action::verb::transmit});
    EXPECT_EQ(a.red, color_action{color_action::verb::drop});
    EXPECT_EQ(a.where.line, 1u);
    const policer_config& b = r.config.policers[1];
    EXPECT_EQ(b.kind, policer_kind::trtcm);
    EXPECT_EQ(b.unit, traffic_unit::bytes);
    EXPECT_EQ(b.cir, 12'500'000u);
    EXPECT_EQ(b.pir, 187'500'000u);
    EXPECT_EQ(b.cbs, 625'000u) << "50 ms at cir";
    EXPECT_EQ(b.pbs, 64'000u);
    EXPECT_EQ(b.length, length_mode::l1);
    EXPECT_TRUE(b.color_aware);
    EXPECT_EQ(b.green, (color_action{color_action::verb::remark, 10}));
    EXPECT_EQ(b.yellow, (color_action{color_action::verb::remark, 12}));
    EXPECT_EQ(b.red, (color_action{color_action::verb::remark, 8}));
    EXPECT_EQ(b.scope, policer_scope::aggregate);
    const policer_config& c = r.config.policers[2];
    EXPECT_EQ(c.kind, policer_kind::rfc4115);
    EXPECT_EQ(c.cir, 10'000'000u);
    EXPECT_EQ(c.eir, 5'000'000u);
    EXPECT_EQ(c.cbs, 1500u);
    EXPECT_EQ(c.ebs, 5'000u) << "1 ms at eir, not cir";
    EXPECT_EQ(c.length, length_mode::l3);
    EXPECT_EQ(c.scope, policer_scope::per_flow);
    const policer_config& d = r.config.policers[3];
    EXPECT_EQ(d.kind, policer_kind::shaper);
    EXPECT_EQ(d.rate, 125'000'000u);
    EXPECT_EQ(d.queue, 250'000u);
    EXPECT_EQ(d.queue_unit, traffic_unit::bytes);
    const policer_config& e = r.config.policers[4];
    EXPECT_EQ(e.unit, traffic_unit::packets);
    EXPECT_EQ(e.rate, 10'000u);
    EXPECT_EQ(e.queue, 64'000u);
    EXPECT_EQ(e.queue_unit, traffic_unit::bytes);
    EXPECT_EQ(e.length, length_mode::l3) << "a byte queue counts lengths";
}

TEST(police_config, defaults) {
    const auto r = parse_config(
        "[[policer]]\nname = \"p\"\nkind = \"srtcm\"\ncir = \"1Mbit\"\n"
        "cbs = \"10kbyte\"\nebs = \"20kbyte\"\n",
        "police.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const policer_config& p = r.config.policers.at(0);
    EXPECT_EQ(p.length, length_mode::l2);
    EXPECT_FALSE(p.color_aware);
    EXPECT_EQ(p.green.what, color_action::verb::transmit);
    EXPECT_EQ(p.yellow.what, color_action::verb::transmit);
    EXPECT_EQ(p.red.what, color_action::verb::drop);
    EXPECT_EQ(p.scope, policer_scope::aggregate);
    EXPECT_EQ(p.prefix_v4, 32);
    EXPECT_EQ(p.prefix_v6, 64);
    EXPECT_TRUE(parse_config("", "x").config.policers.empty());
}

// The two policers of the use case in docs/configuration.md: "no source
// may send more than 1,000 pps of new TCP SYNs to port 22; the whole of
// 198.51.100.0/24 gets 100 Mbit/s with a 50 ms burst".
TEST(police_config, the_documented_use_case) {
    const auto r = parse_config(R"(
[[policer]]
name = "ssh-syn"
kind = "srtcm"
cir = "1000pps"
cbs = "50ms"
scope = "per-source"

[[policer]]
name = "doc-net"
kind = "srtcm"
cir = "100Mbit"
cbs = "50ms"
)",
                                "x");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const policer_config& ssh = r.config.policers[0];
    EXPECT_EQ(ssh.unit, traffic_unit::packets);
    EXPECT_EQ(ssh.cir, 1000u);
    EXPECT_EQ(ssh.cbs, 50u);
    EXPECT_EQ(ssh.ebs, 0u) << "no excess bucket: above the rate is red, and red drops";
    EXPECT_EQ(ssh.scope, policer_scope::per_source);
    EXPECT_EQ(ssh.prefix_v4, 32);
    const policer_config& net = r.config.policers[1];
    EXPECT_EQ(net.cir, 12'500'000u);
    EXPECT_EQ(net.cbs, 625'000u);
    EXPECT_EQ(net.red.what, color_action::verb::drop);
    EXPECT_EQ(net.scope, policer_scope::aggregate);
    std::string error;
    EXPECT_TRUE(meter_profile::build(meter_params_of(ssh), ghz_2_6, error)) << error;
}

struct policer_error_case {
    std::string name;
    std::string text;  // after "[[policer]]\nname = \"p\"\n" unless it starts with '['
    std::string message;
    uint32_t line;
    uint32_t column;
};

class police_config_errors : public ::testing::TestWithParam<policer_error_case> {};

TEST_P(police_config_errors, carry_their_position) {
    const auto& c = GetParam();
    const std::string text = c.text.starts_with("[") || c.text.starts_with("policer =")
                                 ? c.text
                                 : "[[policer]]\nname = \"p\"\n" + c.text;
    const auto r = parse_config(text, "police.toml");
    ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
    const auto all = messages(r.errors);
    const auto hit = std::find_if(r.errors.begin(), r.errors.end(), [&](const config_error& e) {
        return e.message.find(c.message) != std::string::npos;
    });
    ASSERT_NE(hit, r.errors.end()) << ::testing::PrintToString(all);
    EXPECT_EQ(hit->where.line, c.line) << hit->to_string();
    EXPECT_EQ(hit->where.column, c.column) << hit->to_string();
    EXPECT_EQ(hit->source, "police.toml");
    std::size_t tables = 0;
    for (auto at = text.find("[[policer]]"); at != std::string::npos;
         at = text.find("[[policer]]", at + 1)) {
        ++tables;
    }
    EXPECT_LT(r.config.policers.size(), std::max<std::size_t>(tables, 1))
        << "a policer with an error is not kept";
}

const std::string srtcm =
    "kind = \"srtcm\"\ncir = \"1Mbit\"\ncbs = \"10kbyte\"\nebs = \"10kbyte\"\n";

INSTANTIATE_TEST_SUITE_P(
    police, police_config_errors,
    ::testing::Values(
        policer_error_case{"no_name", "[[policer]]\n" + srtcm, "needs name", 1, 1},
        policer_error_case{"bad_name", "[[policer]]\nname = \"a b\"\n" + srtcm, "is not a name", 2,
                           8},
        policer_error_case{
            "duplicate_name",
            "[[policer]]\nname = \"p\"\n" + srtcm + "[[policer]]\nname = \"p\"\n" + srtcm,
            "already the name of the policer at 2:8", 8, 8},
        policer_error_case{"no_kind", "cir = \"1Mbit\"\n", "needs kind", 1, 1},
        policer_error_case{"bad_kind", "kind = \"token\"\n", "expected one of \"srtcm\"", 3, 8},
        policer_error_case{
            "missing_rate",
            "kind = \"trtcm\"\ncir = \"1Mbit\"\ncbs = \"1kbyte\"\npbs = \"1kbyte\"\n",
            "kind \"trtcm\" needs pir", 1, 1},
        policer_error_case{
            "missing_burst",
            "kind = \"rfc4115\"\ncir = \"1Mbit\"\neir = \"1Mbit\"\ncbs = \"1kbyte\"\n",
            "kind \"rfc4115\" needs ebs", 1, 1},
        policer_error_case{"missing_cbs", "kind = \"srtcm\"\ncir = \"1Mbit\"\nebs = \"1kbyte\"\n",
                           "policer 'p': kind \"srtcm\" needs cbs", 1, 1},
        policer_error_case{
            "bare_number", "kind = \"srtcm\"\ncir = 1000\ncbs = \"1kbyte\"\nebs = \"1kbyte\"\n",
            "policer.cir: a number without a unit: expected a number with a unit", 4, 7},
        policer_error_case{
            "bare_burst", "kind = \"srtcm\"\ncir = \"1Mbit\"\ncbs = 1500\nebs = \"1kbyte\"\n",
            "policer.cbs: a number without a unit: expected a number with a unit: byte", 5, 7},
        policer_error_case{
            "unknown_unit",
            "kind = \"srtcm\"\ncir = \"1Mbps\"\ncbs = \"1kbyte\"\nebs = \"1kbyte\"\n",
            "unknown unit 'Mbps': expected a number with a unit", 4, 7},
        policer_error_case{
            "zero", "kind = \"srtcm\"\ncir = \"0Mbit\"\ncbs = \"1kbyte\"\nebs = \"1kbyte\"\n",
            "must be more than zero", 4, 7},
        policer_error_case{
            "negative", "kind = \"srtcm\"\ncir = \"1Mbit\"\ncbs = \"-1kbyte\"\nebs = \"1kbyte\"\n",
            "must be positive", 5, 7},
        policer_error_case{
            "overflow",
            "kind = \"srtcm\"\ncir = \"100000Gbit\"\ncbs = \"1kbyte\"\nebs = \"1kbyte\"\n",
            "too large", 4, 7},
        policer_error_case{
            "packet_rate_byte_burst",
            "kind = \"srtcm\"\ncir = \"1kpps\"\ncbs = \"1500byte\"\nebs = \"1packet\"\n",
            "policer.cbs: \"1500byte\" a packet rate (pps) needs a burst in packets", 5, 7},
        policer_error_case{
            "byte_rate_packet_burst",
            "kind = \"srtcm\"\ncir = \"1Mbit\"\ncbs = \"1kbyte\"\nebs = \"10packets\"\n",
            "a byte or bit rate needs a burst in bytes or time, not packets", 6, 7},
        policer_error_case{"mixed_rates",
                           "kind = \"trtcm\"\ncir = \"1Mbit\"\npir = \"1kpps\"\ncbs = "
                           "\"1kbyte\"\npbs = \"1kbyte\"\n",
                           "policer.pir: counts packets but cir does not", 5, 7},
        policer_error_case{"pir_below_cir",
                           "kind = \"trtcm\"\ncir = \"2Mbit\"\npir = \"1Mbit\"\ncbs = "
                           "\"1kbyte\"\npbs = \"1kbyte\"\n",
                           "policer.pir: must be at least cir", 5, 7},
        policer_error_case{
            "time_too_short",
            "kind = \"srtcm\"\ncir = \"1kpps\"\ncbs = \"10packets\"\nebs = \"100us\"\n",
            "\"100us\" is less than one packet at the rate", 6, 7},
        policer_error_case{"key_of_another_kind", srtcm + "pir = \"2Mbit\"\n",
                           "policer.pir: not a key of kind \"srtcm\" (it takes cir, cbs, ebs)", 7,
                           7},
        policer_error_case{"unknown_key", srtcm + "burst = \"1kbyte\"\n",
                           "unknown key 'policer.burst'", 7, 1},
        policer_error_case{"bad_length", srtcm + "length = \"l4\"\n", "expected one of \"l1\"", 7,
                           10},
        policer_error_case{"length_of_packets",
                           "kind = \"srtcm\"\ncir = \"1kpps\"\ncbs = \"10packets\"\nebs = "
                           "\"10packets\"\nlength = \"l3\"\n",
                           "this policer counts packets, not lengths", 7, 10},
        policer_error_case{"bad_action", srtcm + "red = \"remark\"\n",
                           "policer.red: expected \"transmit\", \"drop\" or \"remark:DSCP\"", 7, 7},
        policer_error_case{"bad_dscp", srtcm + "yellow = \"remark:64\"\n", "got \"remark:64\"", 7,
                           10},
        policer_error_case{"action_not_string", srtcm + "green = 1\n",
                           "policer.green: expected a string", 7, 9},
        policer_error_case{"color_aware_not_bool", srtcm + "color_aware = \"yes\"\n",
                           "expected true or false", 7, 15},
        policer_error_case{"bad_scope", srtcm + "scope = \"per-port\"\n",
                           "expected one of \"aggregate\"", 7, 9},
        policer_error_case{"prefix_needs_per_source",
                           srtcm + "scope = \"per-flow\"\nprefix_v4 = 24\n",
                           "policer.prefix_v4: only with scope = \"per-source\"", 8, 13},
        policer_error_case{"max_keys_needs_keys", srtcm + "max_keys = 10\n",
                           "policer.max_keys: only with scope = \"per-source\" or \"per-flow\"", 7,
                           12},
        policer_error_case{"idle_needs_keys", srtcm + "idle_timeout = 10\n",
                           "policer.idle_timeout: only with scope", 7, 16},
        policer_error_case{"prefix_range", srtcm + "scope = \"per-source\"\nprefix_v6 = 129\n",
                           "policer.prefix_v6: expected an integer in 1..128", 8, 13},
        policer_error_case{"max_keys_range", srtcm + "scope = \"per-flow\"\nmax_keys = 0\n",
                           "policer.max_keys: expected an integer in 1..16777216", 8, 12},
        policer_error_case{
            "shaper_colours",
            "kind = \"shaper\"\nrate = \"1Mbit\"\nqueue = \"10packets\"\nred = \"drop\"\n",
            "policer.red: a shaper has no colours", 6, 7},
        policer_error_case{
            "shaper_scope",
            "kind = \"shaper\"\nrate = \"1Mbit\"\nqueue = \"10packets\"\nscope = \"per-source\"\n",
            "a shaper is one queue", 6, 9},
        policer_error_case{"shaper_queue_too_long",
                           "kind = \"shaper\"\nrate = \"1Mbit\"\nqueue = \"2000000packets\"\n",
                           "policer.queue: at most 1048576 packets", 5, 9},
        policer_error_case{"shaper_without_queue", "kind = \"shaper\"\nrate = \"1Mbit\"\n",
                           "kind \"shaper\" needs queue", 1, 1},
        policer_error_case{"not_a_table", "policer = [1]\n", "expected [[policer]] tables", 1,
                           12}));

TEST(police_config, collects_every_error) {
    const auto r = parse_config(R"([[policer]]
name = "a"
kind = "srtcm"
cir = 100
cbs = "1kpps"
ebs = "10packets"
[[policer]]
kind = "trtcm"
cir = "1Mbit"
pir = "1kbit"
cbs = "1kbyte"
pbs = "1kbyte"
color_aware = 1
)",
                                "police.toml");
    const auto all = messages(r.errors);
    EXPECT_THAT(all,
                ::testing::UnorderedElementsAre(
                    HasSubstr("police.toml:4:7: policer.cir: a number without a unit"),
                    HasSubstr("police.toml:5:7: policer.cbs: \"1kpps\" has an unknown unit"),
                    HasSubstr("police.toml:7:1: policer: every [[policer]] needs name"),
                    HasSubstr("police.toml:10:7: policer.pir: must be at least cir"),
                    HasSubstr("police.toml:13:15: policer.color_aware: expected true or false")));
}

// ---- references from the RFC text (not from rte_meter) -------------------------------------
//
// "The token count Tc is incremented by one CIR times per second": the
// k-th token of a bucket arrives at t0 + k / rate seconds, i.e. after
// floor((t - t0) * rate / hz) tokens at TSC t; each one is added by the
// RFC's own rule, one at a time.

enum class ref_color { green, yellow, red };

ref_color of(meter_color c) {
    return c == meter_color::green    ? ref_color::green
           : c == meter_color::yellow ? ref_color::yellow
                                      : ref_color::red;
}

// The tokens that arrive at rate between t0 and now, not yet handed out.
struct token_clock {
    uint64_t rate;
    uint64_t hz;
    uint64_t t0;
    uint64_t issued = 0;
    uint64_t due(uint64_t now) const {
        return static_cast<uint64_t>(static_cast<wide>(now - t0) * rate / hz);
    }
};

// RFC 2697 section 3: "Tc and Te are initially full ... Thereafter, the
// token counts Tc and Te are updated CIR times per second as follows: If Tc
// is less than CBS, Tc is incremented by one, else if Te is less then EBS,
// Te is incremented by one, else neither Tc nor Te is incremented."
// Section 4: the colour-aware marking (colour-blind: every packet green).
struct rfc2697 {
    uint64_t cbs, ebs;
    token_clock clock;
    uint64_t tc = cbs, te = ebs;

    ref_color mark(uint64_t now, uint64_t b, ref_color pre) {
        for (const uint64_t due = clock.due(now); clock.issued < due; ++clock.issued) {
            if (tc < cbs) {
                ++tc;
            } else if (te < ebs) {
                ++te;
            } else {
                clock.issued = due;  // both full: the rest of the tokens change nothing
                break;
            }
        }
        if (pre == ref_color::green && tc >= b) {
            tc -= b;
            return ref_color::green;
        }
        if (pre != ref_color::red && te >= b) {
            te -= b;
            return ref_color::yellow;
        }
        return ref_color::red;
    }
};

// RFC 2698 section 3: "The token count Tp is incremented by one PIR times
// per second up to PBS and the token count Tc is incremented by one CIR
// times per second up to CBS." Section 4, colour-aware: "If the packet has
// been precolored as red or if Tp(t)-B < 0, the packet is red, else if the
// packet has been precolored as yellow or if Tc(t)-B < 0, the packet is
// yellow and Tp is decremented by B, else the packet is green and both Tp
// and Tc are decremented by B."
// RFC 4115 section 2: Tc incremented CIR times per second up to CBS, Te EIR
// times per second up to EBS (no overflow from C to E); colour-aware: "if
// the packet is green and Tc(t)-B >= 0: green, Tc -= B; else if the packet
// is green or yellow and Te(t)-B >= 0: yellow, Te -= B; else red".
struct two_rate {
    bool rfc4115;
    uint64_t cbs, second_bs;  // CBS, and PBS (2698) or EBS (4115)
    token_clock c_clock, second_clock;
    uint64_t tc = cbs, t2 = second_bs;

    static void fill(token_clock& clock, uint64_t& tokens, uint64_t size, uint64_t now) {
        const uint64_t due = clock.due(now);
        for (; clock.issued < due && tokens < size; ++clock.issued) {
            ++tokens;
        }
        clock.issued = due;
    }

    ref_color mark(uint64_t now, uint64_t b, ref_color pre) {
        fill(c_clock, tc, cbs, now);
        fill(second_clock, t2, second_bs, now);
        if (rfc4115) {
            if (pre == ref_color::green && tc >= b) {
                tc -= b;
                return ref_color::green;
            }
            if (pre != ref_color::red && t2 >= b) {
                t2 -= b;
                return ref_color::yellow;
            }
            return ref_color::red;
        }
        if (pre == ref_color::red || t2 < b) {
            return ref_color::red;
        }
        if (pre == ref_color::yellow || tc < b) {
            t2 -= b;
            return ref_color::yellow;
        }
        t2 -= b;
        tc -= b;
        return ref_color::green;
    }
};

// A meter and its reference side by side, started at t0.
class meter_pair {
  public:
    meter_pair(const meter_params& m, uint64_t hz, uint64_t t0)
        : profile_(build(m, hz)),
          srtcm_{m.cbs, m.ebs, {m.cir, hz, t0}},
          two_rate_{m.kind == meter_kind::rfc4115,
                    m.cbs,
                    m.kind == meter_kind::trtcm ? m.pbs : m.ebs,
                    {m.cir, hz, t0},
                    {m.kind == meter_kind::trtcm ? m.pir : m.eir, hz, t0}} {
        meter_reset(state_, profile_, t0);
    }

    // The engine's colour and the reference's.
    std::pair<ref_color, ref_color> mark(uint64_t now, uint32_t b, ref_color pre) {
        const ref_color engine =
            of(meter_check(state_, profile_, now, b, static_cast<meter_color>(pre)));
        const ref_color ref = profile_.kind() == meter_kind::srtcm ? srtcm_.mark(now, b, pre)
                                                                   : two_rate_.mark(now, b, pre);
        return {engine, ref};
    }
    const meter_profile& profile() const { return profile_; }

  private:
    static meter_profile build(const meter_params& m, uint64_t hz) {
        std::string error;
        auto p = meter_profile::build(m, hz, error);
        EXPECT_TRUE(p) << error;
        return *p;
    }

    meter_profile profile_;
    meter_state state_{};
    rfc2697 srtcm_;
    two_rate two_rate_;
};

// ---- meters: hand cases --------------------------------------------------------------------

// A TSC of 1 MHz and rates of 1000 units/s: one token every 1000 cycles.
constexpr uint64_t hand_hz = 1'000'000;

struct hand_step {
    uint64_t t;  // cycles
    uint32_t len;
    ref_color pre;
    ref_color want;
};

struct hand_case {
    std::string name;
    meter_params params;
    std::vector<hand_step> steps;
};

class police_meter_hand : public ::testing::TestWithParam<hand_case> {};

TEST_P(police_meter_hand, colours_as_worked_out_from_the_rfc) {
    const auto& c = GetParam();
    meter_pair pair(c.params, hand_hz, 0);
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
        const auto& s = c.steps[i];
        const auto [engine, ref] = pair.mark(s.t, s.len, s.pre);
        EXPECT_EQ(engine, s.want) << "step " << i;
        EXPECT_EQ(ref, s.want) << "step " << i << " (reference)";
    }
}

constexpr auto G = ref_color::green;
constexpr auto Y = ref_color::yellow;
constexpr auto R = ref_color::red;

INSTANTIATE_TEST_SUITE_P(
    police, police_meter_hand,
    ::testing::Values(
        // srTCM CIR 1000/s CBS 100 EBS 200: C full, then E, then red.
        hand_case{"srtcm_blind",
                  {meter_kind::srtcm, 1000, 100, 200},
                  {{0, 100, G, G},
                   {0, 1, G, Y},
                   {0, 200, G, R},
                   {0, 199, G, Y},
                   {0, 1, G, R},
                   {50'000, 51, G, R},  // 50 ms: 50 tokens in C
                   {50'000, 50, G, G},
                   {50'999, 1, G, R},
                   {51'000, 1, G, G},
                   {10'000'000, 100, G, G},  // 10 s: C full (100), E full (200)
                   {10'000'000, 200, G, Y},
                   {10'000'000, 1, G, R}}},
        hand_case{"srtcm_aware",
                  {meter_kind::srtcm, 1000, 100, 200},
                  {{0, 10, Y, Y},  // yellow never takes C
                   {0, 10, R, R},
                   {0, 100, G, G},
                   {0, 190, G, Y},
                   {0, 1, Y, R},
                   {1000, 1, Y, R},  // one token: into C, not E
                   {1000, 1, G, G}}},
        hand_case{"srtcm_without_excess",  // EBS 0: two colours
                  {meter_kind::srtcm, 1000, 100, 0},
                  {{0, 100, G, G}, {0, 1, G, R}, {1'000'000, 1, Y, R}, {1'000'000, 100, G, G}}},
        // trTCM CIR 1000 PIR 2000 CBS 100 PBS 300.
        hand_case{"trtcm_blind",
                  {meter_kind::trtcm, 1000, 100, 0, 2000, 300},
                  {{0, 100, G, G},  // Tc 0, Tp 200
                   {0, 150, G, Y},  // Tp 50
                   {0, 60, G, R},
                   {10'000, 10, G, G},  // +10 C, +20 P: Tc 0, Tp 60
                   {10'000, 61, G, R},
                   {10'000, 60, G, Y},
                   {10'000, 1, G, R}}},
        hand_case{"trtcm_aware",
                  {meter_kind::trtcm, 1000, 100, 0, 2000, 300},
                  {{0, 50, Y, Y},  // Tp 250, Tc stays 100
                   {0, 100, R, R},
                   {0, 100, G, G},  // Tc 0, Tp 150
                   {0, 150, G, Y},
                   {0, 1, G, R}}},
        // RFC 4115 CIR 1000 EIR 1000 CBS 100 EBS 100: independent buckets.
        hand_case{"rfc4115_blind",
                  {meter_kind::rfc4115, 1000, 100, 100, 0, 0, 1000},
                  {{0, 100, G, G},
                   {0, 100, G, Y},
                   {0, 1, G, R},
                   {1000, 1, G, G},
                   {1000, 1, G, Y},
                   {1000, 1, G, R},
                   {1'000'000, 100, G, G},
                   {1'000'000, 101, G, R}}},
        hand_case{"rfc4115_aware",
                  {meter_kind::rfc4115, 1000, 100, 100, 0, 0, 1000},
                  {{0, 100, Y, Y},  // takes E, not C
                   {0, 1, Y, R},
                   {0, 100, G, G},
                   {0, 1, G, R},
                   {0, 1, R, R}}},
        hand_case{"rfc4115_without_excess",
                  {meter_kind::rfc4115, 1000, 100, 0, 0, 0, 0},
                  {{0, 100, G, G}, {0, 1, G, R}, {1'000'000, 1, Y, R}, {1'000'000, 100, G, G}}}));

// ---- meters: random sequences ------------------------------------------------------------------

struct random_case {
    std::string name;
    meter_params params;
    uint64_t hz;
};

class police_meter_random : public ::testing::TestWithParam<random_case> {};

// The rates divide hz: one token a period, as the RFC adds them, so the
// colours must be the same packet for packet.
TEST_P(police_meter_random, colours_equal_the_rfc_reference) {
    const auto& c = GetParam();
    std::mt19937_64 rng(42);
    for (const bool aware : {false, true}) {
        const uint64_t t0 = 1'000'000'007 + rng() % 1000;
        meter_pair pair(c.params, c.hz, t0);
        EXPECT_EQ(pair.profile().committed_refill().tokens, 1u);
        EXPECT_EQ(pair.profile().committed_refill().period, c.hz / c.params.cir);
        uint64_t now = t0;
        std::array<uint64_t, 3> colours{};
        const uint64_t mean_gap = c.hz / c.params.cir * 300;  // about the rate at 300-unit packets
        for (int i = 0; i < 20000; ++i) {
            // Gaps: mostly short (bursts), some around the rate, a few long idles.
            const uint64_t kind = rng() % 16;
            now += kind < 8    ? rng() % 64
                   : kind < 15 ? rng() % (2 * mean_gap)
                               : rng() % (400 * mean_gap);
            const auto len = static_cast<uint32_t>(1 + rng() % 1500);
            const auto pre = aware ? static_cast<ref_color>(rng() % 3) : ref_color::green;
            const auto [engine, ref] = pair.mark(now, len, pre);
            ASSERT_EQ(engine, ref) << "packet " << i << " at " << now - t0 << " cycles, " << len
                                   << " bytes, aware " << aware;
            ++colours[static_cast<std::size_t>(ref)];
        }
        // The sequences exercise every colour.
        EXPECT_GT(colours[0], 1000u);
        EXPECT_GT(colours[1], 1000u);
        EXPECT_GT(colours[2], 1000u);
    }
}

INSTANTIATE_TEST_SUITE_P(
    police, police_meter_random,
    ::testing::Values(
        random_case{"srtcm", {meter_kind::srtcm, 1'000'003, 3000, 6000}, 1'000'003ull * 2003},
        random_case{"srtcm_2_6ghz", {meter_kind::srtcm, 1'000'000, 1500, 1500}, ghz_2_6},
        random_case{
            "trtcm", {meter_kind::trtcm, 999'983, 3000, 0, 1'999'966, 4500}, 999'983ull * 2000},
        random_case{
            "rfc4115", {meter_kind::rfc4115, 1'300'000, 3000, 5000, 0, 0, 650'000}, ghz_2_6}));

// ---- meters: rates, bursts, idles ---------------------------------------------------------

meter_profile profile_of(const meter_params& m, uint64_t hz) {
    std::string error;
    auto p = meter_profile::build(m, hz, error);
    EXPECT_TRUE(p) << error;
    return p.value_or(*meter_profile::build({meter_kind::srtcm, 1, 1}, 1, error));
}

struct load_result {
    std::array<uint64_t, 3> units{};  // green, yellow, red
};

// Frames of the sizes in turn offered at `offered` units/s of mode's length
// for `seconds` simulated seconds, from t0 on a TSC of hz.
load_result offer(const meter_profile& p, length_mode mode, const std::vector<uint32_t>& frames,
                  uint64_t offered, uint64_t seconds, uint64_t hz) {
    meter_state s{};
    const uint64_t t0 = 123'456'789;
    meter_reset(s, p, t0);
    load_result out;
    wide sent = 0;  // units * hz: the time the offered load has used, in cycles * offered
    const wide end = static_cast<wide>(seconds) * hz * offered;
    for (std::size_t i = 0; sent < end; ++i) {
        const uint32_t len = metered_length(mode, frames[i % frames.size()], 14);
        const uint64_t now = t0 + static_cast<uint64_t>(sent / offered);
        out.units[static_cast<std::size_t>(meter_check(s, p, now, len))] += len;
        sent += static_cast<wide>(len) * hz;
    }
    return out;
}

double relative(uint64_t got, double want) {
    return (static_cast<double>(got) - want) / want;
}

struct load_case {
    std::string name;
    std::vector<uint32_t> frames;  // L2 frame lengths
};

class police_meter_load : public ::testing::TestWithParam<load_case> {};

// 2 x CIR offered for 10 simulated seconds: green passes CIR (+ the CBS the
// bucket held at the start) within 1 %, in every length mode, at the
// machine's TSC and at 2.6 GHz; a trTCM passes PIR as green + yellow and an
// RFC 4115 meter EIR as yellow.
TEST_P(police_meter_load, two_times_cir_passes_cir) {
    const uint64_t cir = 2'962'500;  // 23.7 Mbit/s: hz / cir is not whole
    const uint64_t cbs = cir / 100;  // 10 ms
    for (const uint64_t hz : {rte_get_tsc_hz(), ghz_2_6}) {
        for (const length_mode mode : {length_mode::l1, length_mode::l2, length_mode::l3}) {
            const auto sr = offer(profile_of({meter_kind::srtcm, cir, cbs, cbs}, hz), mode,
                                  GetParam().frames, 2 * cir, 10, hz);
            EXPECT_NEAR(relative(sr.units[0], 10.0 * cir), 0, 0.01);
            EXPECT_NEAR(relative(sr.units[0], 10.0 * cir + cbs), 0, 0.001) << "passed exactly";
            const auto tr =
                offer(profile_of({meter_kind::trtcm, cir, cbs, 0, cir * 3 / 2, cbs}, hz), mode,
                      GetParam().frames, 2 * cir, 10, hz);
            EXPECT_NEAR(relative(tr.units[0], 10.0 * cir), 0, 0.01);
            EXPECT_NEAR(relative(tr.units[0] + tr.units[1], 15.0 * cir), 0, 0.01);
            const auto rf =
                offer(profile_of({meter_kind::rfc4115, cir, cbs, cbs / 2, 0, 0, cir / 2}, hz), mode,
                      GetParam().frames, 2 * cir, 10, hz);
            EXPECT_NEAR(relative(rf.units[0], 10.0 * cir), 0, 0.01);
            EXPECT_NEAR(relative(rf.units[1], 5.0 * cir), 0, 0.01);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    police, police_meter_load,
    ::testing::Values(load_case{"64_bytes", {64}}, load_case{"1500_bytes", {1500}},
                      load_case{"mixed", {64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 1500}}));

// Packet-rate policers count each packet as one unit.
TEST(police_meter, packet_rate_passes_its_rate) {
    const uint64_t hz = ghz_2_6;
    const auto p = profile_of({meter_kind::srtcm, 1000, 10, 10}, hz);
    const auto r = offer(p, length_mode::l2, {1}, 3000, 10, hz);  // 3000 "1-byte" units/s: pps
    EXPECT_EQ(r.units[0], 10u * 1000 + 10 - 1) << "the rate's packets and the bucket, less the "
                                                  "token still arriving at the end";
}

TEST(police_meter, a_burst_of_cbs_passes_after_idle_one_more_byte_does_not) {
    const uint64_t hz = ghz_2_6;
    for (const meter_kind kind : {meter_kind::srtcm, meter_kind::trtcm, meter_kind::rfc4115}) {
        const uint64_t cbs = 64'000;
        const meter_params m{kind, 1'250'000'000, cbs, 3000, 2'500'000'000, 200'000, 1000};
        const meter_profile p = profile_of(m, hz);
        meter_state s{};
        meter_reset(s, p, 0);
        uint64_t now = 0;
        for (const uint64_t idle_s : {1ull, 3600ull, 86400ull * 365}) {
            // Drain C, idle, then CBS in 1000-byte packets at one instant.
            while (meter_check(s, p, now, 1000) == meter_color::green) {
            }
            now += idle_s * hz;
            for (uint64_t sent = 0; sent < cbs; sent += 1000) {
                ASSERT_EQ(meter_check(s, p, now, 1000), meter_color::green)
                    << static_cast<int>(kind) << " after " << idle_s << " s, at " << sent;
            }
            EXPECT_NE(meter_check(s, p, now, 1), meter_color::green)
                << "CBS + 1 byte: the idle filled no more than the bucket";
        }
        // One packet of exactly CBS, one of CBS + 1.
        now += hz;
        EXPECT_EQ(meter_check(s, p, now, static_cast<uint32_t>(cbs)), meter_color::green);
        now += hz;
        EXPECT_NE(meter_check(s, p, now, static_cast<uint32_t>(cbs + 1)), meter_color::green);
    }
}

TEST(police_meter, a_long_idle_fills_the_excess_bucket_no_further) {
    const uint64_t hz = ghz_2_6;
    const auto p = profile_of({meter_kind::srtcm, 12'500'000, 10'000, 20'000}, hz);
    meter_state s{};
    meter_reset(s, p, 0);
    const uint64_t now = 1000 * hz;
    EXPECT_EQ(meter_check(s, p, now, 10'000), meter_color::green);
    EXPECT_EQ(meter_check(s, p, now, 20'000), meter_color::yellow);
    EXPECT_EQ(meter_check(s, p, now, 1), meter_color::red);
}

// The refill's rate at TSCs that do not divide it: ours within a few parts
// per million, never worse than rte_meter's own profile.
TEST(police_meter, refills_are_closer_to_the_rate_than_rte_meters) {
    ASSERT_EQ(unit::dpdk_environment::error(), "");
    const uint64_t hz = rte_get_tsc_hz();
    double worst_ours = 0;
    double worst_rte = 0;
    for (const uint64_t rate : {1'000ull, 12'345ull, 1'250'000ull, 12'500'000ull, 125'000'000ull,
                                187'500'000ull, 1'171'875'013ull, 1'250'000'000ull,
                                3'125'000'000ull, 12'500'000'000ull, 49'999'999'999ull}) {
        const uint64_t cbs = std::max<uint64_t>(rate / 100, 1500);  // 10 ms
        std::string error;
        const auto ours = meter_profile::build({meter_kind::srtcm, rate, cbs, cbs}, hz, error);
        ASSERT_TRUE(ours) << error;
        rte_meter_srtcm_params params{rate, cbs, cbs};
        rte_meter_srtcm_profile rte{};
        ASSERT_EQ(rte_meter_srtcm_profile_config(&rte, &params), 0);
        const double e_ours =
            std::abs(ours->committed_refill().rate(hz) / static_cast<double>(rate) - 1);
        const double e_rte =
            std::abs(bucket_refill{rte.cir_period, rte.cir_bytes_per_period}.rate(hz) /
                         static_cast<double>(rate) -
                     1);
        EXPECT_LE(e_ours, 1e-5) << rate;
        EXPECT_LE(e_ours, e_rte + 1e-12) << rate;
        worst_ours = std::max(worst_ours, e_ours);
        worst_rte = std::max(worst_rte, e_rte);
    }
    std::printf("[ info ] TSC %llu Hz: worst rate error %.2e (rte_meter's profile: %.2e)\n",
                static_cast<unsigned long long>(hz), worst_ours, worst_rte);
    // 10 Gbit/s at 2.6 GHz: rte_meter refills 49 bytes every 101 cycles (+0.9 %).
    const auto p = profile_of({meter_kind::srtcm, 1'250'000'000, 12'500'000, 12'500'000}, ghz_2_6);
    EXPECT_NEAR(p.committed_refill().rate(ghz_2_6), 1.25e9, 1.25e9 * 1e-6);
}

TEST(police_meter, refill_for_finds_the_best_fraction) {
    // hz / rate = 2.6e9 / 187.5e6 = 208 / 15 exactly.
    EXPECT_EQ(refill_for(187'500'000, ghz_2_6, 15).period, 208u);
    EXPECT_EQ(refill_for(187'500'000, ghz_2_6, 15).tokens, 15u);
    // With at most 10 tokens a period: 111 / 8 (13.875) is the closest to 13.8667.
    EXPECT_EQ(refill_for(187'500'000, ghz_2_6, 10).period, 111u);
    EXPECT_EQ(refill_for(187'500'000, ghz_2_6, 10).tokens, 8u);
    EXPECT_EQ(refill_for(3, 10, 1).period, 3u);  // 10 / 3 ~ 3
    EXPECT_EQ(refill_for(0, 10, 1).tokens, 0u);
}

TEST(police_meter, profiles_refuse_what_rte_meter_cannot_do) {
    std::string error;
    EXPECT_FALSE(meter_profile::build({meter_kind::srtcm, 0, 100, 100}, ghz_2_6, error));
    EXPECT_FALSE(meter_profile::build({meter_kind::srtcm, 100, 0, 100}, ghz_2_6, error));
    EXPECT_FALSE(meter_profile::build({meter_kind::trtcm, 100, 100, 0, 99, 100}, ghz_2_6, error));
    EXPECT_THAT(error, HasSubstr("pir >= cir"));
    EXPECT_FALSE(
        meter_profile::build({meter_kind::rfc4115, 100, 100, 0, 0, 0, 10}, ghz_2_6, error));
    EXPECT_FALSE(meter_profile::build({meter_kind::srtcm, 100, 100, 100}, 0, error));
    EXPECT_TRUE(meter_profile::build({meter_kind::srtcm, 100, 100, 0}, ghz_2_6, error))
        << "srTCM without excess: two colours";
}

TEST(police_meter, dscp_precolours_and_lengths) {
    const std::vector<std::pair<uint8_t, meter_color>> cases = {
        {10, meter_color::green}, {12, meter_color::yellow}, {14, meter_color::red},
        {18, meter_color::green}, {20, meter_color::yellow}, {22, meter_color::red},
        {34, meter_color::green}, {36, meter_color::yellow}, {38, meter_color::red},
        {0, meter_color::green},  {8, meter_color::green},   {46, meter_color::green},
        {44, meter_color::green}, {42, meter_color::green},  {6, meter_color::green},
        {52, meter_color::green}, {63, meter_color::green},  {13, meter_color::green},
    };
    for (const auto& [dscp, colour] : cases) {
        EXPECT_EQ(dscp_color(dscp), colour) << int{dscp};
    }
    EXPECT_EQ(metered_length(length_mode::l1, 60, 14), 84u);
    EXPECT_EQ(metered_length(length_mode::l1, 42, 14), 84u) << "padded to the minimum frame";
    EXPECT_EQ(metered_length(length_mode::l1, 1514, 14), 1538u);
    EXPECT_EQ(metered_length(length_mode::l2, 1514, 14), 1514u);
    EXPECT_EQ(metered_length(length_mode::l3, 1514, 18), 1496u);
}

TEST(police_meter, params_of_a_policer) {
    const auto r = parse_config(
        "[[policer]]\nname = \"t\"\nkind = \"trtcm\"\ncir = \"8kbit\"\n"
        "pir = \"16kbit\"\ncbs = \"100byte\"\npbs = \"200byte\"\n",
        "x");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const meter_params m = meter_params_of(r.config.policers[0]);
    EXPECT_EQ(m.kind, meter_kind::trtcm);
    EXPECT_EQ(m.cir, 1000u);
    EXPECT_EQ(m.pir, 2000u);
    EXPECT_EQ(m.cbs, 100u);
    EXPECT_EQ(m.pbs, 200u);
}

// ---- shaper ---------------------------------------------------------------------------------

std::unique_ptr<shaper> make_shaper(const shaper_params& params, uint64_t hz) {
    std::string error;
    auto s = shaper::create(params, hz, error);
    EXPECT_TRUE(s) << error;
    return s;
}

TEST(police_shaper, departures_are_evenly_spaced_at_the_rate) {
    const uint64_t hz = ghz_2_6;
    const uint64_t rate = 2'962'500;  // bytes/s; 1500 bytes: 1316455.696... cycles
    auto s = make_shaper({rate, traffic_unit::bytes, 1000, traffic_unit::packets, 1000}, hz);
    ASSERT_TRUE(s);
    const uint64_t t0 = 5'000'000;
    for (uint64_t k = 0; k < 1000; ++k) {
        const auto a = s->enqueue(t0, 1500);
        ASSERT_TRUE(a.accepted) << k;
        // The k-th leaves when k packets have been sent: k * 1500 / rate s.
        const double exact =
            static_cast<double>(k) * 1500 * static_cast<double>(hz) / static_cast<double>(rate);
        EXPECT_NEAR(static_cast<double>(a.delay), exact, 1.0) << k;
    }
    uint64_t last = 0;
    std::vector<uint64_t> gaps;
    for (uint32_t left = 0; left < 1000;) {
        const uint64_t next = s->next_departure();
        ASSERT_NE(next, UINT64_MAX);
        EXPECT_EQ(s->drain(next - 1, 64), 0u) << "nothing leaves early";
        ASSERT_EQ(s->drain(next, 1), 1u);
        if (left > 0) {
            gaps.push_back(next - last);
        }
        last = next;
        ++left;
    }
    const auto [lo, hi] = std::minmax_element(gaps.begin(), gaps.end());
    EXPECT_EQ(*lo, 1'316'455u);
    EXPECT_EQ(*hi, 1'316'456u);
    EXPECT_EQ(s->next_departure(), UINT64_MAX);
    EXPECT_EQ(s->queued_bytes(), 0u);
}

TEST(police_shaper, a_packet_rate_shaper_ignores_lengths) {
    auto s = make_shaper({1000, traffic_unit::packets, 10, traffic_unit::packets, 10}, 1'000'000);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->enqueue(0, 60).delay, 0u);
    EXPECT_EQ(s->enqueue(0, 1500).delay, 1000u);
    EXPECT_EQ(s->enqueue(0, 9000).delay, 2000u);
}

TEST(police_shaper, overflow_drops_exactly_what_exceeds_the_queue) {
    const uint64_t hz = ghz_2_6;
    auto by_packets =
        make_shaper({12'500'000, traffic_unit::bytes, 64, traffic_unit::packets, 128}, hz);
    ASSERT_TRUE(by_packets);
    uint32_t accepted = 0;
    for (int i = 0; i < 100; ++i) {
        accepted += by_packets->enqueue(0, 1500).accepted ? 1 : 0;
    }
    EXPECT_EQ(accepted, 64u);
    EXPECT_EQ(by_packets->drain(0, 64), 1u) << "the first leaves at once";
    EXPECT_TRUE(by_packets->enqueue(0, 1500).accepted) << "its place is free again";
    EXPECT_FALSE(by_packets->enqueue(0, 1500).accepted);

    auto by_bytes =
        make_shaper({12'500'000, traffic_unit::bytes, 10'000, traffic_unit::bytes, 167}, hz);
    ASSERT_TRUE(by_bytes);
    for (int i = 0; i < 6; ++i) {
        EXPECT_TRUE(by_bytes->enqueue(0, 1500).accepted) << i;  // 9000 bytes
    }
    EXPECT_FALSE(by_bytes->enqueue(0, 1500).accepted) << "10500 > 10000";
    EXPECT_TRUE(by_bytes->enqueue(0, 1000).accepted) << "exactly 10000";
    EXPECT_FALSE(by_bytes->enqueue(0, 1).accepted);
    EXPECT_EQ(by_bytes->queued_bytes(), 10'000u);
    EXPECT_EQ(by_bytes->queued_packets(), 7u);

    auto by_slots =
        make_shaper({12'500'000, traffic_unit::bytes, 10'000, traffic_unit::bytes, 3}, hz);
    ASSERT_TRUE(by_slots);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(by_slots->enqueue(0, 64).accepted);
    }
    EXPECT_FALSE(by_slots->enqueue(0, 64).accepted) << "no slot left for a 4th packet";
}

// Offered above the rate for a simulated second: what leaves is the rate,
// and offered = dropped + left + queued at every step.
TEST(police_shaper, conservation_under_overload) {
    const uint64_t hz = ghz_2_6;
    const uint64_t rate = 1'250'000;  // 10 Mbit/s
    auto s = make_shaper({rate, traffic_unit::bytes, 20'000, traffic_unit::bytes, 400}, hz);
    ASSERT_TRUE(s);
    std::mt19937 rng(7);
    uint64_t offered = 0, dropped = 0, left = 0, left_bytes = 0, now = 0;
    std::vector<uint32_t> fifo;  // the caller's packets, by length
    std::size_t head = 0;
    uint64_t max_delay = 0;
    while (now < hz) {
        now += rng() % 40'000;  // ~ 2.6 GHz / 20000 cycles * 750 bytes = 97 Mbyte/s offered
        const uint32_t len = 64 + rng() % 1437;
        ++offered;
        const auto a = s->enqueue(now, len);
        if (a.accepted) {
            fifo.push_back(len);
            max_delay = std::max(max_delay, a.delay);
        } else {
            ++dropped;
        }
        const uint32_t n = s->drain(now, 32);
        for (uint32_t i = 0; i < n; ++i) {
            left_bytes += fifo[head++];
        }
        left += n;
        ASSERT_EQ(offered, dropped + left + s->queued_packets());
        ASSERT_EQ(fifo.size() - head, s->queued_packets());
    }
    EXPECT_NEAR(static_cast<double>(left_bytes), static_cast<double>(rate), 3000.0)
        << "one second at the rate, within two packets";
    EXPECT_LE(max_delay, (20'000 + 1500) * hz / rate + 1)
        << "at most a full queue's worth at the rate, and the rest of the packet on the link";
    EXPECT_GT(dropped, offered / 2);
}

TEST(police_shaper, params_of_a_policer_and_refusals) {
    const auto r = parse_config(
        "[[policer]]\nname = \"s\"\nkind = \"shaper\"\nrate = \"10Mbit\"\n"
        "queue = \"60kbyte\"\n",
        "x");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
    const shaper_params p = shaper_params_of(r.config.policers[0]);
    EXPECT_EQ(p.rate, 1'250'000u);
    EXPECT_EQ(p.capacity, 60'000u);
    EXPECT_EQ(p.capacity_unit, traffic_unit::bytes);
    EXPECT_EQ(p.max_packets, 1001u);
    std::string error;
    EXPECT_FALSE(
        shaper::create({0, traffic_unit::bytes, 1, traffic_unit::packets, 1}, ghz_2_6, error));
    EXPECT_FALSE(shaper::create({1, traffic_unit::bytes, 1, traffic_unit::packets, 1u << 21},
                                ghz_2_6, error));
    EXPECT_THAT(error, HasSubstr("2^20"));
}

// meter_check divides by multiplying with reciprocals: the same colours
// and the same buckets as rte_meter's own checks (which divide), for every
// kind, random profiles (tiny to huge periods, 1-cycle periods included),
// random gaps (within a period, many periods, hours) and pre-colours.
TEST(police_meter, checks_equal_rte_meter_s_to_the_token) {
    std::mt19937_64 rng(99);
    const uint64_t hz = 2'100'000'000;
    for (int round = 0; round < 300; ++round) {
        const auto kind = static_cast<meter_kind>(round % 3);
        const uint64_t cir = 1 + rng() % (uint64_t{1} << (1 + rng() % 36));
        const uint64_t peak = cir + rng() % (uint64_t{1} << (1 + rng() % 36));
        const uint64_t cbs = 1 + rng() % 100'000;
        const uint64_t second = 1 + rng() % 100'000;
        meter_params m{kind, cir, cbs, 0, 0, 0, 0};
        if (kind == meter_kind::srtcm) {
            m.ebs = rng() % 2 ? second : 0;
        } else if (kind == meter_kind::trtcm) {
            m.pir = peak;
            m.pbs = second;
        } else {
            m.eir = rng() % 2 ? peak : 0;
            m.ebs = second;
        }
        std::string error;
        const auto p = meter_profile::build(m, hz, error);
        ASSERT_TRUE(p) << error;
        meter_state ours;
        meter_state theirs;
        uint64_t now = rng();
        meter_reset(ours, *p, now);
        theirs = ours;
        for (int i = 0; i < 2000; ++i) {
            const unsigned gap = rng() % 10;
            now += gap < 4   ? 0
                   : gap < 7 ? rng() % 1000
                   : gap < 9 ? rng() % hz
                             : rng() % (3600 * hz);
            const auto len = static_cast<uint32_t>(1 + rng() % 9000);
            const auto pre = static_cast<meter_color>(rng() % 3);
            ASSERT_EQ(meter_check(ours, *p, now, len, pre),
                      rte_meter_check(theirs, *p, now, len, pre))
                << "round " << round << " check " << i;
            ASSERT_EQ(std::memcmp(&ours, &theirs, sizeof(ours)), 0)
                << "round " << round << " check " << i;
        }
    }
}

TEST(police_meter, the_reciprocal_division_is_exact) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; ++i) {
        const uint64_t d = i % 7 == 0 ? 1 + rng() % 3 : 1 + (rng() >> (rng() % 64));
        const uint64_t n = i % 5 == 0 ? ~uint64_t{0} - rng() % 1000 : rng() >> (rng() % 64);
        ASSERT_EQ(meter_detail::divide(n, d, meter_detail::reciprocal(d)), n / d)
            << n << " / " << d;
    }
}

}  // namespace
}  // namespace dpdk_app
