// parse_config() / load_config_file(): defaults, the full key set, and the
// exact message and line:column of every kind of error.
#include <cstdio>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dpdk_app {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

std::vector<std::string> messages(const config_result& r) {
    std::vector<std::string> out;
    for (const auto& e : r.errors) {
        out.push_back(e.to_string());
    }
    return out;
}

TEST(config_defaults, embedded_default_parses_to_the_documented_defaults) {
    const config_result r = parse_config(embedded_default_config(), "<embedded default>");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    const app_config& c = r.config;
    EXPECT_EQ(c.source, "<embedded default>");
    EXPECT_EQ(c.mode, forwarding_mode::bridge);
    EXPECT_EQ(c.lanes, 1);
    EXPECT_EQ(c.burst_size, 64);
    EXPECT_EQ(c.idle_rx_backoff, 8u);
    EXPECT_TRUE(c.idle_sleep_auto);
    EXPECT_EQ(c.idle_sleep_us, 0u);
    EXPECT_EQ(c.ring_size, 1024u);
    EXPECT_EQ(c.ring_full, ring_full_policy::backpressure);
    EXPECT_EQ(c.tx_retries, 8u);
    EXPECT_EQ(c.lcores_per_lane, 0u);
    EXPECT_TRUE(c.placement.empty());
    EXPECT_TRUE(c.fuse);
    EXPECT_EQ(c.mbufs, 0u);
    EXPECT_EQ(c.mbuf_cache, 256u);
    EXPECT_EQ(c.mbuf_data_room, 2048 + 128);
    EXPECT_TRUE(c.ports.empty());
}

TEST(config_defaults, empty_text_gives_the_model_defaults) {
    const config_result r = parse_config("", "empty.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    const app_config defaults;
    EXPECT_EQ(r.config.source, "empty.toml");
    EXPECT_EQ(r.config.lanes, defaults.lanes);
    EXPECT_EQ(r.config.burst_size, defaults.burst_size);
    EXPECT_EQ(r.config.idle_rx_backoff, defaults.idle_rx_backoff);
    EXPECT_EQ(r.config.ring_size, defaults.ring_size);
    EXPECT_EQ(r.config.mbuf_data_room, defaults.mbuf_data_room);
    EXPECT_TRUE(r.config.ports.empty());
}

constexpr const char* full_config = R"(# every key
[dataplane]
mode = "bridge"
lanes = 2
burst_size = 16
idle_rx_backoff = 4
idle_sleep_us = 50

[pipeline]
ring_size = 256
ring_full = "drop"
tx_retries = 3
fuse = false
lcores_per_lane = 2
placement = [["rx"], ["parse", "bridge", "respond", "tx"]]

[mempool]
mbufs = 8191
cache_size = 128
data_room = 4096

[[port]]
name = "net_ring0"
rx_desc = 512
tx_desc = 256
peer = "net_ring1"
promiscuous = false

[[port]]
name = "net_ring1"
)";

TEST(config_full, every_key_maps_to_the_model) {
    const config_result r = parse_config(full_config, "full.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    const app_config& c = r.config;
    EXPECT_EQ(c.source, "full.toml");
    EXPECT_EQ(c.mode, forwarding_mode::bridge);
    EXPECT_EQ(c.lanes, 2);
    EXPECT_EQ(c.burst_size, 16);
    EXPECT_EQ(c.idle_rx_backoff, 4u);
    EXPECT_FALSE(c.idle_sleep_auto);
    EXPECT_EQ(c.idle_sleep_us, 50u);
    EXPECT_EQ(c.ring_size, 256u);
    EXPECT_EQ(c.ring_full, ring_full_policy::drop);
    EXPECT_EQ(c.tx_retries, 3u);
    EXPECT_FALSE(c.fuse);
    EXPECT_EQ(c.lcores_per_lane, 2u);
    ASSERT_EQ(c.placement.size(), 2u);
    EXPECT_THAT(c.placement[0], ElementsAre("rx"));
    EXPECT_THAT(c.placement[1], ElementsAre("parse", "bridge", "respond", "tx"));
    EXPECT_EQ(c.mbufs, 8191u);
    EXPECT_EQ(c.mbuf_cache, 128u);
    EXPECT_EQ(c.mbuf_data_room, 4096);
    ASSERT_EQ(c.ports.size(), 2u);

    const port_config& p0 = c.ports[0];
    EXPECT_EQ(p0.name, "net_ring0");
    EXPECT_EQ(p0.rx_desc, 512);
    EXPECT_EQ(p0.tx_desc, 256);
    ASSERT_TRUE(p0.peer.has_value());
    EXPECT_EQ(*p0.peer, "net_ring1");
    EXPECT_FALSE(p0.promiscuous);
    EXPECT_EQ(p0.where.line, 22u);
    EXPECT_EQ(p0.where.column, 1u);

    const port_config& p1 = c.ports[1];
    EXPECT_EQ(p1.name, "net_ring1");
    EXPECT_EQ(p1.rx_desc, 1024);  // defaults
    EXPECT_EQ(p1.tx_desc, 1024);
    EXPECT_FALSE(p1.peer.has_value());
    EXPECT_TRUE(p1.promiscuous);
    EXPECT_EQ(p1.where.line, 29u);
}

TEST(config_full, idle_sleep_auto_and_zero) {
    const config_result a = parse_config("[dataplane]\nidle_sleep_us = \"auto\"\n", "a.toml");
    ASSERT_TRUE(a.ok()) << ::testing::PrintToString(messages(a));
    EXPECT_TRUE(a.config.idle_sleep_auto);

    const config_result z = parse_config("[dataplane]\nidle_sleep_us = 0\n", "z.toml");
    ASSERT_TRUE(z.ok()) << ::testing::PrintToString(messages(z));
    EXPECT_FALSE(z.config.idle_sleep_auto);
    EXPECT_EQ(z.config.idle_sleep_us, 0u);
}

TEST(config_full, responder_keys_map_to_the_model) {
    const config_result r = parse_config(
        "[responder]\nerror_rate = 0\nerror_burst = 7\nerror_rate_per_source = 3\n"
        "error_burst_per_source = 2\nneighbor_max = 16\nneighbor_timeout_s = 60\n"
        "resolve_retries = 5\nresolve_retry_ms = 50\nhold_per_neighbor = 0\n"
        "failed_hold_ms = 250\n",
        "responder.toml");
    ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
    const responder_config& c = r.config.responder;
    EXPECT_EQ(c.error_rate, 0u);
    EXPECT_EQ(c.error_burst, 7u);
    EXPECT_EQ(c.error_rate_per_source, 3u);
    EXPECT_EQ(c.error_burst_per_source, 2u);
    EXPECT_EQ(c.neighbor_max, 16u);
    EXPECT_EQ(c.neighbor_timeout_s, 60u);
    EXPECT_EQ(c.resolve_retries, 5u);
    EXPECT_EQ(c.resolve_retry_ms, 50u);
    EXPECT_EQ(c.hold_per_neighbor, 0u);
    EXPECT_EQ(c.failed_hold_ms, 250u);
    EXPECT_FALSE(c == responder_config{}) << "a reload that changes it needs a restart";
}

TEST(config_full, range_limits_are_inclusive) {
    const config_result r = parse_config(
        "[dataplane]\nlanes = 64\nburst_size = 1\nidle_sleep_us = 100000\nidle_rx_backoff = 64\n"
        "[pipeline]\nring_size = 64\ntx_retries = 0\nlcores_per_lane = 16\n"
        "[mempool]\nmbufs = 67108864\ncache_size = 512\ndata_room = 65535\n"
        "[[port]]\nname = \"p\"\nrx_desc = 32\ntx_desc = 16384\n",
        "limits.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.config.lanes, 64);
    EXPECT_EQ(r.config.burst_size, 1);
    EXPECT_EQ(r.config.idle_sleep_us, 100000u);
    EXPECT_EQ(r.config.idle_rx_backoff, 64u);
    EXPECT_EQ(r.config.ring_size, 64u);
    EXPECT_EQ(r.config.tx_retries, 0u);
    EXPECT_EQ(r.config.lcores_per_lane, 16u);
    EXPECT_EQ(r.config.mbufs, 67108864u);
    EXPECT_EQ(r.config.mbuf_cache, 512u);
    EXPECT_EQ(r.config.mbuf_data_room, 65535);
    ASSERT_EQ(r.config.ports.size(), 1u);
    EXPECT_EQ(r.config.ports[0].rx_desc, 32);
    EXPECT_EQ(r.config.ports[0].tx_desc, 16384);
}

TEST(config_error_format, to_string_with_and_without_position) {
    const config_error with{"a.toml", {3, 7}, "boom"};
    EXPECT_EQ(with.to_string(), "a.toml:3:7: boom");
    const config_error without{"a.toml", {}, "boom"};
    EXPECT_EQ(without.to_string(), "a.toml: boom");
}

// One invalid input, the single error it must give.
struct invalid_case {
    const char* label;
    const char* text;
    uint32_t line;
    uint32_t column;
    const char* message;
};

void PrintTo(const invalid_case& c, std::ostream* os) {
    *os << c.label;
}

class config_invalid : public ::testing::TestWithParam<invalid_case> {};

TEST_P(config_invalid, gives_exactly_one_error_with_position_and_message) {
    const invalid_case& c = GetParam();
    const config_result r = parse_config(c.text, "bad.toml");
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r));
    const config_error& e = r.errors[0];
    EXPECT_EQ(e.source, "bad.toml");
    EXPECT_EQ(e.message, c.message);
    EXPECT_EQ(e.where.line, c.line);
    EXPECT_EQ(e.where.column, c.column);
    EXPECT_EQ(e.to_string(), "bad.toml:" + std::to_string(c.line) + ":" + std::to_string(c.column) +
                                 ": " + c.message);
    EXPECT_FALSE(r.ok());
}

const invalid_case invalid_cases[] = {
    {"toml_syntax", "[dataplane\nlanes = 1\n", 1, 11,
     "Error while parsing table header: expected ']', saw '\\n'"},
    {"unknown_top_level_key", "\n\nfoo = 1\n", 3, 1, "unknown key 'foo'"},
    {"unknown_top_level_table", "[datapane]\nlanes = 2\n", 1, 2, "unknown key 'datapane'"},
    {"unknown_nested_key", "[dataplane]\nlanes = 1\nlane = 2\n", 3, 1,
     "unknown key 'dataplane.lane'"},
    {"unknown_port_key", "[[port]]\nname = \"a\"\nspeed = 10\n", 3, 1, "unknown key 'port.speed'"},
    {"unknown_mempool_key", "[mempool]\nsize = 10\n", 2, 1, "unknown key 'mempool.size'"},
    {"wrong_type_string_for_integer", "[dataplane]\nlanes = \"two\"\n", 2, 9,
     "dataplane.lanes: expected an integer in 1..64, got a string ('two')"},
    {"wrong_type_float_for_integer", "[dataplane]\nburst_size = 1.5\n", 2, 14,
     "dataplane.burst_size: expected an integer in 1..64, got a float (1.5)"},
    {"wrong_type_integer_for_bool", "[[port]]\nname = \"a\"\npromiscuous = 1\n", 3, 15,
     "port.promiscuous: expected true or false, got an integer (1)"},
    {"wrong_type_string_for_fuse", "[pipeline]\nfuse = \"yes\"\n", 2, 8,
     "pipeline.fuse: expected true or false, got a string ('yes')"},
    {"wrong_type_integer_for_string", "[pipeline]\nring_full = 1\n", 2, 13,
     "pipeline.ring_full: expected a string, got an integer (1)"},
    {"wrong_type_integer_for_table", "dataplane = 3\n", 1, 13,
     "dataplane: expected a table, got an integer (3)"},
    {"wrong_type_string_for_array", "[pipeline]\nplacement = \"rx\"\n", 2, 13,
     "pipeline.placement: expected an array, got a string ('rx')"},
    {"wrong_type_idle_sleep", "[dataplane]\nidle_sleep_us = true\n", 2, 17,
     "dataplane.idle_sleep_us: expected \"auto\" or an integer in 0..100000"},
    {"idle_sleep_bad_string", "[dataplane]\nidle_sleep_us = \"never\"\n", 2, 17,
     "dataplane.idle_sleep_us: expected \"auto\" or an integer in 0..100000"},
    {"idle_sleep_out_of_range", "[dataplane]\nidle_sleep_us = 100001\n", 2, 17,
     "dataplane.idle_sleep_us: expected \"auto\" or an integer in 0..100000"},
    {"idle_rx_backoff_not_power_of_two", "[dataplane]\nidle_rx_backoff = 6\n", 2, 19,
     "dataplane.idle_rx_backoff: expected a power of two, got 6"},
    {"idle_rx_backoff_zero", "[dataplane]\nidle_rx_backoff = 0\n", 2, 19,
     "dataplane.idle_rx_backoff: expected an integer in 1..64, got an integer (0)"},
    {"lanes_above_range", "[dataplane]\nlanes = 65\n", 2, 9,
     "dataplane.lanes: expected an integer in 1..64, got an integer (65)"},
    {"lanes_zero", "[dataplane]\nlanes = 0\n", 2, 9,
     "dataplane.lanes: expected an integer in 1..64, got an integer (0)"},
    {"burst_negative", "[dataplane]\nburst_size = -1\n", 2, 14,
     "dataplane.burst_size: expected an integer in 1..64, got an integer (-1)"},
    {"ring_size_below_range", "[pipeline]\nring_size = 32\n", 2, 13,
     "pipeline.ring_size: expected an integer in 64..1048576, got an integer (32)"},
    {"tx_retries_above_range", "[pipeline]\ntx_retries = 1000001\n", 2, 14,
     "pipeline.tx_retries: expected an integer in 0..1000000, got an integer (1000001)"},
    {"lcores_per_lane_above_range", "[pipeline]\nlcores_per_lane = 17\n", 2, 19,
     "pipeline.lcores_per_lane: expected an integer in 0..16, got an integer (17)"},
    {"mbufs_above_range", "[mempool]\nmbufs = 67108865\n", 2, 9,
     "mempool.mbufs: expected an integer in 0..67108864, got an integer (67108865)"},
    {"cache_above_range", "[mempool]\ncache_size = 513\n", 2, 14,
     "mempool.cache_size: expected an integer in 0..512, got an integer (513)"},
    {"data_room_below_range", "[mempool]\ndata_room = 100\n", 2, 13,
     "mempool.data_room: expected an integer in 256..65535, got an integer (100)"},
    {"rx_desc_below_range", "[[port]]\nname = \"a\"\nrx_desc = 16\n", 3, 11,
     "port.rx_desc: expected an integer in 32..16384, got an integer (16)"},
    {"tx_desc_above_range", "[[port]]\nname = \"a\"\ntx_desc = 16385\n", 3, 11,
     "port.tx_desc: expected an integer in 32..16384, got an integer (16385)"},
    {"ring_size_not_power_of_two", "[pipeline]\nring_size = 1000\n", 2, 13,
     "pipeline.ring_size: expected a power of two, got 1000"},
    {"router_needs_validation",
     "[dataplane]\nmode = \"router\"\nvalidate = false\n[[interface]]\nport = \"p\"\n"
     "addresses = [\"192.0.2.1/24\"]\n",
     3, 12, "dataplane.validate = false is for bridge mode only: routing needs parsed headers"},
    {"bad_mode", "[dataplane]\nmode = \"switch\"\n", 2, 8,
     "dataplane.mode: expected one of \"bridge\", \"router\", got \"switch\""},
    {"router_without_interfaces", "[dataplane]\nmode = \"router\"\n", 2, 8,
     "mode = \"router\" needs at least one [[interface]] with addresses"},
    {"routes_in_bridge_mode", "[[route]]\nprefix = \"10.0.0.0/8\"\nport = \"p\"\n", 1, 1,
     "routes are only used with dataplane.mode = \"router\""},
    {"interface_without_port", "[[interface]]\naddresses = [\"192.0.2.1/24\"]\n", 1, 1,
     "interface: every [[interface]] needs port = \"NAME\""},
    {"interface_bad_address", "[[interface]]\nport = \"p\"\naddresses = [\"192.0.2.1\"]\n", 3, 14,
     "interface.addresses: expected an address/length prefix such as 192.0.2.0/24 or "
     "2001:db8::/32, got '192.0.2.1'"},
    {"interface_bad_mac", "[[interface]]\nport = \"p\"\nmac = \"02:00\"\n", 3, 7,
     "interface.mac: '02:00' is not a MAC address (xx:xx:xx:xx:xx:xx)"},
    {"interface_mtu_too_small", "[[interface]]\nport = \"p\"\nmtu = 60\n", 3, 7,
     "interface.mtu: expected an integer in 68..9000, got an integer (60)"},
    {"neighbor_without_mac", "[[neighbor]]\naddress = \"192.0.2.2\"\n", 1, 1,
     "neighbor: every [[neighbor]] needs address and mac"},
    {"route_bad_via",
     "[dataplane]\nmode = \"router\"\n[[interface]]\nport = \"p\"\n"
     "addresses = [\"192.0.2.1/24\"]\n[[route]]\nprefix = \"10.0.0.0/8\"\n"
     "via = \"x\"\n",
     8, 7, "route.via: 'x' is not an IPv4 or IPv6 address"},
    {"responder_retries_zero", "[responder]\nresolve_retries = 0\n", 2, 19,
     "responder.resolve_retries: expected an integer in 1..20, got an integer (0)"},
    {"responder_unknown_key", "[responder]\narp_timeout = 5\n", 2, 1,
     "unknown key 'responder.arp_timeout'"},
    {"bad_ring_full", "[pipeline]\nring_full = \"block\"\n", 2, 13,
     "pipeline.ring_full: expected one of \"backpressure\", \"drop\", got \"block\""},
    {"placement_non_string",
     "[pipeline]\nplacement = [[\"rx\", 5], [\"parse\", \"bridge\", \"tx\"]]\n", 2, 21,
     "pipeline.placement: expected a stage name string"},
    {"placement_group_not_array",
     "[pipeline]\nplacement = [\"rx\", [\"parse\", \"bridge\", \"tx\"]]\n", 2, 14,
     "pipeline.placement: each lcore is a non-empty array of stage names"},
    {"placement_empty_group",
     "[pipeline]\nplacement = [[], [\"rx\", \"parse\", \"bridge\", \"tx\"]]\n", 2, 14,
     "pipeline.placement: each lcore is a non-empty array of stage names"},
    {"duplicate_port_name", "[[port]]\nname = \"a\"\n\n[[port]]\nname = \"a\"\n", 4, 1,
     "port: 'a' is configured twice"},
    {"port_without_name", "[[port]]\nrx_desc = 64\n", 1, 1,
     "port: every [[port]] needs a non-empty name (the EAL device name)"},
    {"port_with_empty_name", "[[port]]\nname = \"\"\n", 1, 1,
     "port: every [[port]] needs a non-empty name (the EAL device name)"},
    {"peer_unknown_port", "[[port]]\nname = \"a\"\n[[port]]\nname = \"b\"\npeer = \"c\"\n", 3, 1,
     "port 'b': peer 'c' is not a configured port"},
    {"port_not_a_table", "port = [1]\n", 1, 9, "port: expected [[port]] tables"},
    {"port_not_an_array", "port = \"x\"\n", 1, 8, "port: expected an array, got a string ('x')"},
};

INSTANTIATE_TEST_SUITE_P(all, config_invalid, ::testing::ValuesIn(invalid_cases),
                         [](const ::testing::TestParamInfo<invalid_case>& info) {
                             return std::string(info.param.label);
                         });

TEST(config_errors, a_peer_that_exists_is_accepted_in_either_order) {
    const config_result r = parse_config(
        "[[port]]\nname = \"a\"\npeer = \"b\"\n[[port]]\nname = \"b\"\npeer = \"a\"\n", "ok.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    ASSERT_EQ(r.config.ports.size(), 2u);
    EXPECT_EQ(r.config.ports[0].peer.value_or(""), "b");
    EXPECT_EQ(r.config.ports[1].peer.value_or(""), "a");
}

TEST(config_errors, a_peer_may_be_the_port_itself) {
    const config_result r =
        parse_config("[[port]]\nname = \"net_tap0\"\npeer = \"net_tap0\"\n", "self.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    ASSERT_EQ(r.config.ports.size(), 1u);
    EXPECT_EQ(r.config.ports[0].peer.value_or(""), "net_tap0");
}

TEST(config_full, the_documented_example_parses) {
    const config_result r = parse_config(R"([dataplane]
mode = "bridge"
lanes = 1

[pipeline]
placement = [["rx"], ["parse", "bridge"], ["respond", "tx"]]

[[port]]
name = "net_tap0"
peer = "net_tap1"

[[port]]
name = "net_tap1"
peer = "net_tap0"
)",
                                         "example.toml");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.config.placement.size(), 3u);
    ASSERT_EQ(r.config.ports.size(), 2u);
    EXPECT_EQ(r.config.ports[1].peer.value_or(""), "net_tap0");
}

TEST(config_errors, more_than_32_ports_is_an_error) {
    std::string text;
    for (int i = 0; i < 33; ++i) {
        text += "[[port]]\nname = \"p" + std::to_string(i) + "\"\n";
    }
    const config_result r = parse_config(text, "many.toml");
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.errors[0].message, "port: at most 32 ports are supported");
    EXPECT_EQ(r.config.ports.size(), 33u);
}

TEST(config_errors, all_errors_are_reported_not_just_the_first) {
    const char* text = R"(bogus = 1
[dataplane]
lanes = 0
burst_size = 100
[pipeline]
ring_size = 100
ring_full = "nope"
[mempool]
cache_size = 1000
extra = true
[[port]]
peer = "x"
)";
    const config_result r = parse_config(text, "many.toml");
    EXPECT_EQ(r.errors.size(), 9u);
    EXPECT_THAT(messages(r),
                UnorderedElementsAreArray({
                    "many.toml:1:1: unknown key 'bogus'",
                    "many.toml:3:9: dataplane.lanes: expected an integer in 1..64, got an "
                    "integer (0)",
                    "many.toml:4:14: dataplane.burst_size: expected an integer in 1..64, got an "
                    "integer (100)",
                    "many.toml:6:13: pipeline.ring_size: expected a power of two, got 100",
                    "many.toml:7:13: pipeline.ring_full: expected one of \"backpressure\", "
                    "\"drop\", got \"nope\"",
                    "many.toml:9:14: mempool.cache_size: expected an integer in 0..512, got an "
                    "integer (1000)",
                    "many.toml:10:1: unknown key 'mempool.extra'",
                    "many.toml:11:1: port: every [[port]] needs a non-empty name (the EAL "
                    "device name)",
                    "many.toml:11:1: port '': peer 'x' is not a configured port",
                }));
}

TEST(config_errors, the_valid_keys_of_a_config_with_errors_still_apply) {
    const config_result r =
        parse_config("[dataplane]\nlanes = 4\nburst_size = 0\n", "partial.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.config.lanes, 4);
    EXPECT_EQ(r.config.burst_size, app_config{}.burst_size);  // the bad value leaves the default
}

TEST(config_file, missing_file_gives_one_error_naming_the_path) {
    const std::string path = "/nonexistent-dir-for-unit-tests/app.toml";
    const config_result r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].source, path);
    EXPECT_EQ(r.errors[0].where.line, 0u);
    EXPECT_EQ(r.errors[0].to_string(), path + ": cannot read the configuration file");
}

TEST(config_file, a_directory_is_an_unreadable_file) {
    const std::string path = ::testing::TempDir();
    const config_result r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.errors[0].source, path);
    EXPECT_EQ(r.errors[0].to_string().rfind(path + ": ", 0), 0u) << r.errors[0].to_string();
}

TEST(config_file, existing_file_is_parsed_with_its_path_as_source) {
    const std::string path = ::testing::TempDir() + "unit_config_file.toml";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        const std::string text = "[dataplane]\nlanes = 3\nbogus = 1\n";
        ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
        std::fclose(f);
    }
    const config_result r = load_config_file(path);
    std::remove(path.c_str());
    EXPECT_EQ(r.config.source, path);
    EXPECT_EQ(r.config.lanes, 3);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), path + ":3:1: unknown key 'dataplane.bogus'");
}

}  // namespace
}  // namespace dpdk_app
