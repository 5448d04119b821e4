// json_writer, json_escape, to_json(run_report) and write_file_atomic().
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ctl/json.hpp"
#include "ctl/report.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/pipeline.hpp"

namespace dpdk_app {
namespace {

TEST(json_escape, plain_text_is_unchanged) {
    EXPECT_EQ(json_escape(""), "");
    EXPECT_EQ(json_escape("net_tap0 / lane 1"), "net_tap0 / lane 1");
}

TEST(json_escape, quotes_backslashes_and_named_controls) {
    EXPECT_EQ(json_escape("a\"b"), "a\\\"b");
    EXPECT_EQ(json_escape("a\\b"), "a\\\\b");
    EXPECT_EQ(json_escape("l1\nl2\rl3\tx"), "l1\\nl2\\rl3\\tx");
}

TEST(json_escape, other_control_characters_use_u_escapes) {
    EXPECT_EQ(json_escape(std::string_view("\x01", 1)), "\\u0001");
    EXPECT_EQ(json_escape(std::string_view("\x1f", 1)), "\\u001f");
    EXPECT_EQ(json_escape(std::string_view("\b\f", 2)), "\\u0008\\u000c");
    EXPECT_EQ(json_escape(std::string_view("a\0b", 3)), "a\\u0000b");
}

TEST(json_escape, non_ascii_bytes_pass_through) {
    EXPECT_EQ(json_escape("caf\xc3\xa9 \x7f"), "caf\xc3\xa9 \x7f");
}

TEST(json_escape, every_control_character_round_trips_through_a_json_parser) {
    std::string all(0x20, ' ');
    for (std::size_t c = 0; c < all.size(); ++c) {
        all[c] = static_cast<char>(c);
    }
    all.push_back('"');
    all.push_back('\\');
    all.push_back('/');
    std::string doc(1, '"');
    doc += json_escape(all);
    doc += '"';
    const nlohmann::json parsed = nlohmann::json::parse(doc);
    EXPECT_EQ(parsed.get<std::string>(), all);
}

TEST(json_writer, empty_containers) {
    EXPECT_EQ(json_writer().begin_object().end_object().str(), "{}");
    EXPECT_EQ(json_writer().begin_array().end_array().str(), "[]");
}

TEST(json_writer, fields_are_separated_by_commas) {
    json_writer j;
    j.begin_object().field("a", 1).field("b", "x").field("c", true).field("d", false).end_object();
    EXPECT_EQ(j.str(), R"({"a":1,"b":"x","c":true,"d":false})");
}

TEST(json_writer, nesting_and_commas) {
    json_writer j;
    j.begin_object();
    j.key("list").begin_array().value(1).value("two").begin_object().end_object();
    j.begin_array().value(uint64_t{3}).end_array().end_array();
    j.key("obj").begin_object().field("x", int64_t{-5}).key("y").begin_array().end_array();
    j.end_object();
    j.field("z", 0u);
    j.end_object();
    EXPECT_EQ(j.str(), R"({"list":[1,"two",{},[3]],"obj":{"x":-5,"y":[]},"z":0})");
    EXPECT_TRUE(nlohmann::json::accept(j.str()));
}

TEST(json_writer, array_of_objects) {
    json_writer j;
    j.begin_array();
    for (int i = 0; i < 3; ++i) {
        j.begin_object().field("i", i).end_object();
    }
    j.end_array();
    EXPECT_EQ(j.str(), R"([{"i":0},{"i":1},{"i":2}])");
}

TEST(json_writer, integers_at_their_limits) {
    json_writer j;
    j.begin_array()
        .value(std::numeric_limits<uint64_t>::max())
        .value(std::numeric_limits<int64_t>::min())
        .value(0)
        .value(-1)
        .end_array();
    EXPECT_EQ(j.str(), "[18446744073709551615,-9223372036854775808,0,-1]");
}

TEST(json_writer, keys_and_strings_are_escaped) {
    json_writer j;
    j.begin_object().field("k\"ey", "va\\l\nue").end_object();
    EXPECT_EQ(j.str(), R"({"k\"ey":"va\\l\nue"})");
    const nlohmann::json parsed = nlohmann::json::parse(j.str());
    EXPECT_EQ(parsed.at("k\"ey").get<std::string>(), "va\\l\nue");
}

TEST(json_writer, doubles) {
    json_writer j;
    j.begin_array().value(1.5).value(0.25).value(-2.0).value(0.0).value(1e-7).value(123.456);
    j.end_array();
    EXPECT_EQ(j.str(), "[1.5,0.25,-2,0,1e-07,123.456]");
    const nlohmann::json parsed = nlohmann::json::parse(j.str());
    EXPECT_DOUBLE_EQ(parsed[4].get<double>(), 1e-7);
}

TEST(json_writer, non_finite_doubles_are_null) {
    json_writer j;
    j.begin_array()
        .value(std::numeric_limits<double>::quiet_NaN())
        .value(std::numeric_limits<double>::infinity())
        .value(-std::numeric_limits<double>::infinity())
        .value(1.0)
        .end_array();
    EXPECT_EQ(j.str(), "[null,null,null,1]");
    const nlohmann::json parsed = nlohmann::json::parse(j.str());
    EXPECT_TRUE(parsed[0].is_null());
    EXPECT_TRUE(parsed[2].is_null());
}

TEST(pipeline_stats, dropped_sums_every_reason) {
    pipeline_stats p;
    EXPECT_EQ(p.dropped(), 0u);
    p.drops[static_cast<std::size_t>(drop_reason::ring_full)] = 3;
    p.drops[static_cast<std::size_t>(drop_reason::tx_full)] = 40;
    p.drops[static_cast<std::size_t>(drop_reason::no_egress_port)] = 500;
    EXPECT_EQ(p.dropped(), 543u);
}

TEST(drop_reasons, names_and_texts) {
    ASSERT_EQ(drop_reason_count, drop_reason_names.size());
    std::set<std::string_view> unique(drop_reason_names.begin(), drop_reason_names.end());
    EXPECT_EQ(unique.size(), drop_reason_count) << "drop reason names must be unique";
    EXPECT_EQ(name_of(drop_reason::ring_full), "ring_full");
    EXPECT_EQ(name_of(drop_reason::tx_full), "tx_full");
    EXPECT_EQ(name_of(drop_reason::no_egress_port), "no_egress_port");
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        EXPECT_FALSE(drop_reason_texts[i].empty()) << drop_reason_names[i];
    }
}

run_report sample_report() {
    run_report r;
    r.mode = "bridge";
    r.seconds = 2.5;
    r.final = true;
    r.pipe.rx = 1000;
    r.pipe.forwarded = 900;
    r.pipe.consumed = 7;
    r.pipe.generated = 2;
    r.pipe.generated_sent = 1;
    r.pipe.generated_dropped = 1;
    r.pipe.in_flight = 40;
    r.pipe.events[static_cast<std::size_t>(event::echo_replies)] = 1;
    r.pipe.drops[static_cast<std::size_t>(drop_reason::ring_full)] = 50;
    r.pipe.drops[static_cast<std::size_t>(drop_reason::tx_full)] = 4;  // one generated
    r.pipe.drops[static_cast<std::size_t>(drop_reason::no_egress_port)] = 0;
    r.pipe.stages.push_back({"rx", 0, 1, 1000, 1000, 40, 800, 100});
    r.pipe.stages.push_back({"bridge", 0, 2, 1000, 1000, 40, 300, 100});
    r.pipe.stages.push_back({"tx", 1, 3, 0, 0, 0, 0, 0});
    port_report p0;
    p0.id = 0;
    p0.name = "net_\"tap\"0";
    p0.peer = 1;
    p0.rx = 600;
    p0.tx = 400;
    p0.rx_polls = 25;
    p0.ipackets = 601;
    p0.opackets = 399;
    p0.ibytes = 60100;
    p0.obytes = 39900;
    p0.imissed = 1;
    p0.ierrors = 2;
    p0.oerrors = 3;
    p0.rx_nombuf = 4;
    r.ports.push_back(p0);
    port_report p1;
    p1.id = 1;
    p1.name = "net_tap1";
    p1.peer = 0;
    r.ports.push_back(p1);
    r.mempool.size = 8191;
    r.mempool.available = 8000;
    return r;
}

TEST(to_json, is_valid_json_ending_in_a_newline) {
    const std::string text = to_json(sample_report());
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
}

TEST(to_json, header_and_totals) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    EXPECT_EQ(j.at("mode"), "bridge");
    EXPECT_DOUBLE_EQ(j.at("seconds").get<double>(), 2.5);
    EXPECT_EQ(j.at("final"), true);
    const nlohmann::json& t = j.at("totals");
    EXPECT_EQ(t.size(), 8u);
    EXPECT_EQ(t.at("rx"), 1000);
    EXPECT_EQ(t.at("forwarded"), 900);
    EXPECT_EQ(t.at("dropped"), 53) << "drops of received packets only";
    EXPECT_EQ(t.at("consumed"), 7);
    EXPECT_EQ(t.at("generated"), 2);
    EXPECT_EQ(t.at("generated_sent"), 1);
    EXPECT_EQ(t.at("generated_dropped"), 1);
    EXPECT_EQ(t.at("in_flight"), 40);
}

TEST(to_json, responder_has_every_event_by_name) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    const nlohmann::json& r = j.at("responder");
    EXPECT_EQ(r.size(), event_count);
    for (std::string_view name : event_names) {
        EXPECT_TRUE(r.contains(std::string(name))) << name;
    }
    EXPECT_EQ(r.at("echo_replies"), 1);
    EXPECT_EQ(r.at("arp_replies"), 0);
}

TEST(to_json, drops_has_every_reason_by_name) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    const nlohmann::json& d = j.at("drops");
    EXPECT_EQ(d.size(), drop_reason_count);
    for (std::string_view name : drop_reason_names) {
        EXPECT_TRUE(d.contains(std::string(name))) << name;
    }
    EXPECT_EQ(d.at("ring_full"), 50);
    EXPECT_EQ(d.at("tx_full"), 4);
    EXPECT_EQ(d.at("no_egress_port"), 0);
}

TEST(to_json, ports) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    const nlohmann::json& ports = j.at("ports");
    ASSERT_TRUE(ports.is_array());
    ASSERT_EQ(ports.size(), 2u);
    const nlohmann::json& p = ports[0];
    EXPECT_EQ(p.at("id"), 0);
    EXPECT_EQ(p.at("name"), "net_\"tap\"0");
    EXPECT_EQ(p.at("peer"), 1);
    EXPECT_EQ(p.at("rx"), 600);
    EXPECT_EQ(p.at("tx"), 400);
    EXPECT_EQ(p.at("rx_polls"), 25);
    EXPECT_EQ(p.at("ipackets"), 601);
    EXPECT_EQ(p.at("opackets"), 399);
    EXPECT_EQ(p.at("ibytes"), 60100);
    EXPECT_EQ(p.at("obytes"), 39900);
    EXPECT_EQ(p.at("imissed"), 1);
    EXPECT_EQ(p.at("ierrors"), 2);
    EXPECT_EQ(p.at("oerrors"), 3);
    EXPECT_EQ(p.at("rx_nombuf"), 4);
    EXPECT_EQ(ports[1].at("id"), 1);
    EXPECT_EQ(ports[1].at("name"), "net_tap1");
    EXPECT_EQ(ports[1].at("peer"), 0);
    EXPECT_EQ(ports[1].at("rx"), 0);
}

TEST(to_json, stages_with_cycles_per_packet) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    const nlohmann::json& stages = j.at("stages");
    ASSERT_TRUE(stages.is_array());
    ASSERT_EQ(stages.size(), 3u);
    const nlohmann::json& rx = stages[0];
    EXPECT_EQ(rx.at("name"), "rx");
    EXPECT_EQ(rx.at("lane"), 0);
    EXPECT_EQ(rx.at("lcore"), 1);
    EXPECT_EQ(rx.at("packets_in"), 1000);
    EXPECT_EQ(rx.at("packets_out"), 1000);
    EXPECT_EQ(rx.at("bursts"), 40);
    EXPECT_EQ(rx.at("cycles"), 800);
    EXPECT_EQ(rx.at("sampled_packets"), 100);
    EXPECT_DOUBLE_EQ(rx.at("cycles_per_packet").get<double>(), 8.0);
    EXPECT_DOUBLE_EQ(stages[1].at("cycles_per_packet").get<double>(), 3.0);
    EXPECT_EQ(stages[2].at("name"), "tx");
    EXPECT_EQ(stages[2].at("lane"), 1);
    EXPECT_EQ(stages[2].at("lcore"), 3);
    // No packet: 0, not a division by zero.
    EXPECT_DOUBLE_EQ(stages[2].at("cycles_per_packet").get<double>(), 0.0);
}

TEST(to_json, mempool) {
    const nlohmann::json j = nlohmann::json::parse(to_json(sample_report()));
    const nlohmann::json& m = j.at("mempool");
    EXPECT_EQ(m.size(), 3u);
    EXPECT_EQ(m.at("size"), 8191);
    EXPECT_EQ(m.at("available"), 8000);
    EXPECT_EQ(m.at("in_use"), 191);
}

TEST(to_json, empty_report) {
    const nlohmann::json j = nlohmann::json::parse(to_json(run_report{}));
    EXPECT_EQ(j.at("mode"), "");
    EXPECT_EQ(j.at("final"), false);
    EXPECT_EQ(j.at("totals").at("dropped"), 0);
    EXPECT_TRUE(j.at("ports").empty());
    EXPECT_TRUE(j.at("stages").empty());
    EXPECT_EQ(j.at("drops").size(), drop_reason_count);
    EXPECT_EQ(j.at("mempool").at("in_use"), 0);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class write_file_atomic_test : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) /
               ("unit_report_" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path dir_;
};

TEST_F(write_file_atomic_test, writes_a_new_file) {
    const std::string path = (dir_ / "stats.json").string();
    EXPECT_EQ(write_file_atomic(path, "{\"a\":1}\n"), "");
    EXPECT_EQ(read_file(path), "{\"a\":1}\n");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(write_file_atomic_test, replaces_an_existing_file) {
    const std::string path = (dir_ / "stats.json").string();
    ASSERT_EQ(write_file_atomic(path, "first version, longer than the second\n"), "");
    ASSERT_EQ(write_file_atomic(path, "second\n"), "");
    EXPECT_EQ(read_file(path), "second\n");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                            std::filesystem::directory_iterator()),
              1);
}

TEST_F(write_file_atomic_test, writes_an_empty_file) {
    const std::string path = (dir_ / "empty.json").string();
    EXPECT_EQ(write_file_atomic(path, ""), "");
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST_F(write_file_atomic_test, missing_directory_is_an_error) {
    const std::string path = (dir_ / "no-such-dir" / "stats.json").string();
    EXPECT_EQ(write_file_atomic(path, "x"),
              "cannot write " + path + ".tmp: No such file or directory");
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(write_file_atomic_test, a_directory_in_the_way_is_an_error) {
    // The target is a directory: the temporary file is written but rename fails.
    const std::string path = (dir_ / "taken").string();
    std::filesystem::create_directories(dir_ / "taken" / "sub");
    const std::string error = write_file_atomic(path, "x");
    EXPECT_EQ(error.rfind("cannot rename " + path + ".tmp to " + path + ": ", 0), 0u) << error;
    EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST_F(write_file_atomic_test, to_json_round_trips_through_a_file) {
    const std::string path = (dir_ / "report.json").string();
    const std::string text = to_json(sample_report());
    ASSERT_EQ(write_file_atomic(path, text), "");
    const nlohmann::json j = nlohmann::json::parse(read_file(path));
    EXPECT_EQ(j.at("totals").at("rx"), 1000);
}

TEST(summary_text, totals_non_zero_drops_and_ports) {
    run_report r = sample_report();
    r.generations_alive = 1;
    EXPECT_EQ(summary_text(r),
              "dpdk-app: 2.50 s  rx 1000  forwarded 900  dropped 53  consumed 7  generated 2 "
              "(sent 1, dropped 1)  in_flight 40\n"
              "  drop ring_full        50\n"
              "  drop tx_full          4\n"
              "  port 0 net_\"tap\"0   rx 600 tx 400 (driver: in 601 out 399 missed 1 errors "
              "2/3 no-mbuf 4)\n"
              "  port 1 net_tap1     rx 0 tx 0 (driver: in 0 out 0 missed 0 errors 0/0)\n");
}

TEST(status_line, rates_per_port_over_the_interval) {
    pipeline_stats last;
    pipeline_stats now;
    now.rx = 3'000'000;
    now.forwarded = 1'500'000;
    now.drops[static_cast<std::size_t>(drop_reason::no_route)] = 9;
    now.port_rx[2] = 3'000'000;
    now.port_tx[5] = 1'500'000;
    const std::vector<port_plan> ports = {{2, "a", 5}, {5, "b", 2}};
    EXPECT_EQ(status_line(now, last, 2.0, ports),
              "\rrx 1.500 Mpps  fwd 0.750 Mpps  drops 9 | a rx 1.500 tx 0.000 | b rx 0.000 tx "
              "0.750   ");
}

TEST(to_json, the_config_section_has_the_generation_and_how_many_are_alive) {
    run_report r = sample_report();
    r.config.number = 7;
    r.config.reloads = 6;
    r.config.reload_failures = 2;
    r.config.routes4 = 11;
    r.generations_alive = 1;
    const nlohmann::json j = nlohmann::json::parse(to_json(r));
    EXPECT_EQ(j.at("config").at("generation"), 7);
    EXPECT_EQ(j.at("config").at("reloads"), 6);
    EXPECT_EQ(j.at("config").at("reload_failures"), 2);
    EXPECT_EQ(j.at("config").at("routes4"), 11);
    EXPECT_EQ(j.at("config").at("generations_alive"), 1);
}

}  // namespace
}  // namespace dpdk_app
