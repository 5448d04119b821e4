// The police stage on a simulated clock: parse -> (classify) -> police on
// hand-made bursts, with the tables compiled as the composer compiles them.
// Rates through the stage (2 x CIR offered passes CIR within 1 %, in each
// length mode), colour actions (remark keeps the IPv4 checksum valid),
// port policers without a firewall, rule policers on their rule's packets
// only, per-source buckets (each source held to the rate, idle eviction, a
// full table), bucket state across reloads, the lane share of the rates,
// configuration errors with their positions, restart-only changes.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "classify/acl.hpp"
#include "classify/classify_stage.hpp"
#include "config/config.hpp"
#include "ctl/report.hpp"
#include "corpus.hpp"
#include "dataplane/compose.hpp"
#include "dataplane/dataplane.hpp"
#include "firewall_util.hpp"
#include "mbuf_util.hpp"
#include "packet/checksum.hpp"
#include "packet/meta.hpp"
#include "parse/parse_stage.hpp"
#include "police/police_stage.hpp"
#include "police/police_table.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;
using ::testing::HasSubstr;
using unit::checked;
using unit::messages;

using addr4 = std::array<uint8_t, 4>;
const addr4 host_a{192, 0, 2, 10};
const addr4 host_b{192, 0, 2, 20};
const addr4 server{198, 51, 100, 2};

// A UDP frame of exactly len bytes (Ethernet header on) to dport, from src.
bytes udp_frame(std::size_t len, uint16_t dport = 80, addr4 src = host_a, uint8_t tos = 0) {
    ipv4_header h;
    h.src = src;
    h.dst = server;
    h.tos = tos;
    return cat(ethernet(ether_ipv4), ipv4(h, udp(40000, dport, len - 14 - 20 - 8)));
}

bytes udp6_frame(std::size_t len, uint8_t traffic_class = 0) {
    ipv6_header h;
    h.traffic_class = traffic_class;
    return cat(ethernet(ether_ipv6), ipv6(h, udp(40000, 80, len - 14 - 40 - 8)));
}

const std::string two_ports = "[[port]]\nname = \"p0\"\n[[port]]\nname = \"p1\"\n";

class police_stage_test : public unit::pool_test<police_stage_test> {
  public:
    static constexpr const char* pool_name = "police_pool";
    static constexpr unsigned pool_size = 2047;

  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(pool_test::SetUp());
        hz_ = rte_get_tsc_hz();
    }
    void TearDown() override {
        police_.reset();
        classify_.reset();
        gen_.reset();
        retired_.reset();
        pool_test::TearDown();
    }

    // Loads a configuration as a start (the first time: the stages are
    // made) or a reload (a new generation; the stages and their state stay).
    void load(const std::string& text, unsigned lanes = 1) {
        const auto r = checked(text, "police.toml");
        ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.errors));
        config_ = r.config;
        // What compile_generation does with the policers' and the firewall's
        // registrations, without the fib.
        compile_env env;
        env.ports = &ports_;
        env.lanes = lanes;
        env.previous = gen_.get();
        auto next = std::make_unique<generation>(++number_);
        std::vector<std::string> errors;
        for (const auto& t : table_registrations()) {
            if (t.name == "policers" || t.name == "firewall") {
                ASSERT_TRUE(t.compile(config_, env, *next, errors))
                    << ::testing::PrintToString(errors);
            }
        }
        retired_ = std::move(gen_);  // no lane uses it any more
        gen_ = std::move(next);
        std::string error;
        if (!police_) {
            police_ = police_stage::create(0, config_, error);
            ASSERT_TRUE(police_) << error;
        }
        if (!classify_ && config_.firewall) {
            classify_ = classify_stage::create(0, *config_.firewall, error);
            ASSERT_TRUE(classify_) << error;
        }
    }

    // One burst of frames arriving on port at second `at`.
    unit::burst_outcome run(double at, const std::vector<bytes>& frames, uint16_t port = 0) {
        std::vector<std::pair<bytes, uint16_t>> with_port;
        for (const auto& f : frames) {
            with_port.emplace_back(f, port);
        }
        std::vector<stage*> stages;
        if (classify_) {
            stages.push_back(classify_.get());
        }
        stages.push_back(police_.get());
        return unit::run_burst(pool_, with_port, stages, counters_, gen_.get(),
                               start_ + static_cast<uint64_t>(at * static_cast<double>(hz_)));
    }
    // How many of n copies of frame pass at second `at`.
    std::size_t passes(double at, const bytes& frame, std::size_t n, uint16_t port = 0) {
        const auto r = run(at, std::vector<bytes>(n, frame), port);
        return r.passed.size();
    }

    policer_report report(const std::string& name) const {
        policer_totals totals;
        for (const auto& r : totals.report(*gen_->find<policer_table>())) {
            if (r.name == name) {
                return r;
            }
        }
        ADD_FAILURE() << "no policer " << name;
        return {};
    }
    uint64_t drops(drop_reason r) const {
        return counters_.drops[static_cast<std::size_t>(r)].get();
    }

    std::vector<port_plan> ports_ = {port_plan{.port_id = 0, .name = "p0"},
                                     port_plan{.port_id = 1, .name = "p1"}};
    app_config config_;
    std::unique_ptr<classify_stage> classify_;
    std::unique_ptr<police_stage> police_;
    std::unique_ptr<generation> gen_;
    std::unique_ptr<generation> retired_;  // the one before gen_
    uint64_t number_ = 0;
    segment_counters counters_;
    uint64_t hz_ = 0;
    uint64_t start_ = 1'000'000'000;
};

std::string port_policer(const std::string& policer_keys, const std::string& name = "lim") {
    return "[[port]]\nname = \"p0\"\npolice = \"" + name + "\"\n[[port]]\nname = \"p1\"\n" +
           "[[policer]]\nname = \"" + name + "\"\n" + policer_keys;
}

// ---- rates --------------------------------------------------------------------------------

// 2 x CIR offered for 10 simulated seconds, in bursts of 16 every 8 ms:
// what passes, counted in the policer's length mode, is CIR x 10 s + CBS
// within 1 %, in each length mode, for 64-byte, 1,500-byte and mixed frames.
TEST_F(police_stage_test, twice_cir_offered_passes_cir_within_one_percent) {
    const std::vector<std::vector<std::size_t>> sizes = {{64}, {1500}, {64, 594, 1500, 128}};
    for (const char* mode : {"l1", "l2", "l3"}) {
        for (const auto& mix : sizes) {
            gen_.reset();
            police_.reset();
            number_ = 0;
            ASSERT_NO_FATAL_FAILURE(load(port_policer(
                std::string("kind = \"srtcm\"\ncir = \"8Mbit\"\ncbs = \"10kbyte\"\nlength = \"") +
                mode + "\"\n")));
            auto counted = [&](std::size_t len) -> uint64_t {
                return mode[1] == '1' ? std::max<std::size_t>(len, 60) + 24
                       : mode[1] == '2' ? len
                                        : len - 14;
            };
            // Bursts every 8 ms carrying 2 x CIR (2,000,000 counted bytes/s),
            // the sizes in turn.
            const double round = 8e-3;
            const double seconds = 10;
            uint64_t passed = 0;
            std::size_t next = 0;
            for (double t = 0; t < seconds - 1e-9; t += round) {
                double owed = 2.0 * 1e6 * round;
                while (owed > 0) {
                    std::vector<bytes> frames;
                    while (owed > 0 && frames.size() < max_burst) {
                        frames.push_back(udp_frame(mix[next++ % mix.size()]));
                        owed -= static_cast<double>(counted(frames.back().size()));
                    }
                    for (const auto& f : run(t, frames).passed) {
                        passed += counted(f.size());
                    }
                }
            }
            const double expected = 1e6 * seconds + 10'000;
            EXPECT_NEAR(static_cast<double>(passed), expected, expected * 0.01)
                << mode << " frames " << ::testing::PrintToString(mix);
            const auto r = report("lim");
            EXPECT_GT(r.packets[2], 0u);
            EXPECT_EQ(r.dropped, r.packets[2]);  // red: drop (the default)
            EXPECT_EQ(drops(drop_reason::policer_drop), r.dropped);
            counters_.drops[static_cast<std::size_t>(drop_reason::policer_drop)].set(0);
        }
    }
}

// Each lane meters with its share of the rates and bursts.
TEST_F(police_stage_test, each_lane_has_its_share_of_the_rates_and_bursts) {
    ASSERT_NO_FATAL_FAILURE(
        load(port_policer("kind = \"trtcm\"\ncir = \"8Mbit\"\npir = \"16Mbit\"\ncbs = \"10kbyte\"\n"
                          "pbs = \"20kbyte\"\n"),
             4));
    const meter_params& m = gen_->find<policer_table>()->policers()[0].profile.params();
    EXPECT_EQ(m.cir, 250'000u);
    EXPECT_EQ(m.pir, 500'000u);
    EXPECT_EQ(m.cbs, 2'500u);
    EXPECT_EQ(m.pbs, 5'000u);
}

// ---- colours and actions ------------------------------------------------------------------

bool ipv4_checksum_ok(const bytes& frame) {
    return ones_complement_ok(frame.data() + 14, 20);
}

TEST_F(police_stage_test, each_colour_gets_its_action_and_a_remark_keeps_the_checksum_valid) {
    // 1,000-byte frames at one instant: 3 fit the committed bucket (green),
    // 3 more the peak bucket (yellow), the rest are red.
    ASSERT_NO_FATAL_FAILURE(load(port_policer(
        "kind = \"trtcm\"\ncir = \"8Mbit\"\npir = \"16Mbit\"\ncbs = \"3000byte\"\npbs = \"6000byte\"\n"
        "green = \"remark:af11\"\nyellow = \"remark:af12\"\nred = \"drop\"\n")));
    const auto r = run(0, std::vector<bytes>(8, udp_frame(1000, 80, host_a, 0x03)));  // ECN 11
    EXPECT_THAT(r.fate, ::testing::ElementsAre("pass", "pass", "pass", "pass", "pass", "pass",
                                               "policer_drop", "policer_drop"));
    ASSERT_EQ(r.passed.size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
        const uint8_t dscp = i < 3 ? 10 : 12;  // af11, af12
        EXPECT_EQ(r.passed[i][15], dscp << 2 | 0x03) << i;  // the ECN bits kept
        EXPECT_TRUE(ipv4_checksum_ok(r.passed[i])) << i;
    }
    const auto rep = report("lim");
    EXPECT_EQ(rep.packets[0], 3u);
    EXPECT_EQ(rep.packets[1], 3u);
    EXPECT_EQ(rep.packets[2], 2u);
    EXPECT_EQ(rep.bytes[0], 3000u);
    EXPECT_EQ(rep.remarked, 6u);
    EXPECT_EQ(rep.dropped, 2u);
}

// The incremental update against a full recompute, over every TOS and DSCP.
TEST(police_remark, the_ipv4_checksum_equals_a_recompute_for_every_tos_and_dscp) {
    for (unsigned tos = 0; tos < 256; tos += 7) {
        for (uint8_t dscp = 0; dscp < 64; ++dscp) {
            ipv4_header h;
            h.tos = static_cast<uint8_t>(tos);
            h.ttl = static_cast<uint8_t>(tos ^ dscp);
            bytes ip = ipv4(h, {});
            packet_meta pm{};
            pm.l3 = l3_kind::ipv4;
            pm.l2_len = 0;
            rte_mbuf m{};
            m.buf_addr = ip.data();
            m.data_off = 0;
            m.data_len = static_cast<uint16_t>(ip.size());
            m.pkt_len = ip.size();
            ASSERT_TRUE(set_dscp(&m, pm, dscp));
            EXPECT_EQ(ip[1], dscp << 2 | (tos & 3));
            bytes again = ip;
            again[10] = again[11] = 0;
            const uint16_t full = static_cast<uint16_t>(~ones_complement_sum(again.data(), 20));
            uint16_t got;
            std::memcpy(&got, ip.data() + 10, 2);
            EXPECT_EQ(got, full) << "tos " << tos << " dscp " << unsigned{dscp};
        }
    }
}

TEST_F(police_stage_test, an_ipv6_remark_sets_the_traffic_class_and_keeps_ecn) {
    ASSERT_NO_FATAL_FAILURE(load(port_policer(
        "kind = \"srtcm\"\ncir = \"1000pps\"\ncbs = \"10packets\"\ngreen = \"remark:ef\"\n")));
    const auto r = run(0, {udp6_frame(200, 0x01)});
    ASSERT_EQ(r.passed.size(), 1u);
    const bytes& f = r.passed[0];
    const uint8_t tc = static_cast<uint8_t>((f[14] & 0x0f) << 4 | f[15] >> 4);
    EXPECT_EQ(tc, 46 << 2 | 0x01);
    EXPECT_EQ(f[14] >> 4, 6);
}

TEST_F(police_stage_test, a_colour_aware_policer_never_makes_a_packet_greener) {
    ASSERT_NO_FATAL_FAILURE(load(port_policer(
        "kind = \"srtcm\"\ncir = \"1000pps\"\ncbs = \"10packets\"\nebs = \"10packets\"\n"
        "color_aware = true\nyellow = \"drop\"\n")));
    // af13 pre-coloured red, af12 yellow: dropped with a full bucket; af11 passes.
    EXPECT_THAT(run(0, {udp_frame(100, 80, host_a, 14 << 2), udp_frame(100, 80, host_a, 12 << 2),
                        udp_frame(100, 80, host_a, 10 << 2)})
                    .fate,
                ::testing::ElementsAre("policer_drop", "policer_drop", "pass"));
}

// ---- attachment ---------------------------------------------------------------------------

TEST_F(police_stage_test, a_port_policer_meters_every_packet_of_its_port_without_a_firewall) {
    ASSERT_NO_FATAL_FAILURE(
        load(port_policer("kind = \"srtcm\"\ncir = \"1000pps\"\ncbs = \"10packets\"\n")));
    EXPECT_EQ(passes(0, udp_frame(100), 30, 0), 10u);
    EXPECT_EQ(passes(0, udp_frame(100), 30, 1), 30u);  // p1 has none
    EXPECT_EQ(passes(0.0055, udp_frame(100), 30, 0), 5u);  // 5.5 ms at 1,000 pps
    EXPECT_EQ(passes(0.0055, cat(ethernet(ether_arp), arp()), 3, 0), 0u);  // every packet: ARP too
}

const std::string ssh_firewall = two_ports + R"(
[firewall]
default = "drop"
[[firewall.rule]]
id = "ssh"
proto = "udp"
dport = 22
action = "accept"
police = "ssh"
[[firewall.rule]]
id = "rest"
action = "accept"
[[policer]]
name = "ssh"
kind = "srtcm"
cir = "100pps"
cbs = "5packets"
)";

TEST_F(police_stage_test, a_rule_policer_meters_its_rule_s_packets_only) {
    ASSERT_NO_FATAL_FAILURE(load(ssh_firewall));
    std::vector<bytes> frames;
    for (int i = 0; i < 20; ++i) {
        frames.push_back(udp_frame(100, i % 2 == 0 ? 22 : 80));
    }
    const auto r = run(0, frames);
    std::size_t ssh = 0, web = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (r.fate[i] == "pass") {
            ++(i % 2 == 0 ? ssh : web);
        }
    }
    EXPECT_EQ(ssh, 5u);
    EXPECT_EQ(web, 10u);
    EXPECT_EQ(report("ssh").packets[0], 5u);
    EXPECT_EQ(report("ssh").packets[2], 5u);
}

// A port policer meters before the rule's, and a packet it drops never
// reaches the rule's bucket; one policer named twice is one bucket.
TEST_F(police_stage_test, the_port_policer_comes_first_and_a_shared_policer_is_one_bucket) {
    ASSERT_NO_FATAL_FAILURE(load(R"(
[[port]]
name = "p0"
police = "port"
[[port]]
name = "p1"
[firewall]
default = "accept"
[[firewall.rule]]
proto = "udp"
dport = 22
action = "accept"
police = "shared"
[[firewall.rule]]
proto = "udp"
dport = 23
action = "accept"
police = "shared"
[[policer]]
name = "port"
kind = "srtcm"
cir = "100pps"
cbs = "8packets"
[[policer]]
name = "shared"
kind = "srtcm"
cir = "100pps"
cbs = "6packets"
)"));
    EXPECT_EQ(passes(0, udp_frame(100, 22), 4, 0), 4u);
    EXPECT_EQ(passes(0, udp_frame(100, 23), 10, 0), 2u);  // port: 4 left; shared: 2 left
    EXPECT_EQ(report("port").packets[0], 8u);
    EXPECT_EQ(report("shared").packets[0], 6u);
    EXPECT_EQ(report("shared").packets[2], 2u);  // 4 of the 10: the port dropped 6 first
    EXPECT_EQ(passes(0, udp_frame(100, 23), 5, 1), 0u);  // p1: no port policer; shared empty
}

// ---- per source ---------------------------------------------------------------------------

const std::string per_source = two_ports + R"(
[firewall]
default = "accept"
[[firewall.rule]]
action = "accept"
police = "each"
[[policer]]
name = "each"
kind = "srtcm"
cir = "100pps"
cbs = "10packets"
scope = "per-source"
max_keys = 4
idle_timeout = 2
)";

bytes from(uint8_t host, uint8_t net = 2) {
    return udp_frame(100, 80, {192, 0, net, host});
}

TEST_F(police_stage_test, each_source_is_held_to_the_rate_on_its_own) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    std::size_t a = 0, b = 0;
    for (double t = 0; t < 10; t += 0.1) {  // 20 a tick each: 200 pps offered
        a += passes(t, from(10), 20);
        b += passes(t, from(20), 20);
    }
    // 100 pps for 10 s (the last tick at 9.9 s) + the 10-packet burst.
    EXPECT_NEAR(static_cast<double>(a), 1000.0, 10.0);
    EXPECT_NEAR(static_cast<double>(b), 1000.0, 10.0);
    EXPECT_EQ(police_->sources("each")->size(), 2u);
    EXPECT_EQ(report("each").sources_created, 2u);
}

TEST_F(police_stage_test, a_source_prefix_shares_one_bucket) {
    ASSERT_NO_FATAL_FAILURE(load(per_source + "prefix_v4 = 24\n"));
    EXPECT_EQ(passes(0, from(10), 8), 8u);
    EXPECT_EQ(passes(0, from(20), 8), 2u);      // the same /24
    EXPECT_EQ(passes(0, from(20, 3), 8), 8u);  // another /24
}

TEST_F(police_stage_test, idle_buckets_are_evicted_and_a_full_table_drops_new_sources) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    for (uint8_t h = 1; h <= 4; ++h) {
        EXPECT_EQ(passes(0, from(h), 1), 1u);
    }
    // Full (max_keys = 4): a fifth source finds no bucket.
    EXPECT_THAT(run(0.5, {from(5)}).fate, ::testing::ElementsAre("policer_table_full"));
    EXPECT_EQ(report("each").table_full, 1u);
    EXPECT_EQ(drops(drop_reason::policer_table_full), 1u);
    // Source 1 stays busy; after the idle timeout the others are evicted
    // (the full table sweeps for them), and source 5 gets a bucket.
    EXPECT_EQ(passes(1.5, from(1), 1), 1u);
    EXPECT_EQ(passes(2.5, from(5), 1), 1u);
    const auto r = report("each");
    EXPECT_EQ(r.sources_evicted, 3u);
    EXPECT_EQ(police_->sources("each")->size(), 2u);
    // An evicted source starts again with a full bucket.
    EXPECT_EQ(passes(2.5, from(2), 12), 10u);
}

TEST_F(police_stage_test, idle_buckets_go_a_few_slots_per_burst_without_a_full_table) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    EXPECT_EQ(passes(0, from(1), 1), 1u);
    EXPECT_EQ(passes(0, from(2), 1), 1u);
    for (int i = 0; i < 10; ++i) {  // bursts of another source after the timeout
        passes(3 + i * 0.01, from(3), 1);
    }
    EXPECT_EQ(police_->sources("each")->size(), 1u);
    EXPECT_EQ(report("each").sources_evicted, 2u);
}

// ---- reload -------------------------------------------------------------------------------

TEST_F(police_stage_test, a_reload_keeps_the_bucket_of_a_policer_by_name_and_applies_its_new_rate) {
    const auto config = [](const std::string& name, const std::string& cir) {
        return port_policer("kind = \"srtcm\"\ncir = \"" + cir + "\"\ncbs = \"10packets\"\n", name);
    };
    ASSERT_NO_FATAL_FAILURE(load(config("lim", "100pps")));
    EXPECT_EQ(passes(0, udp_frame(100), 20), 10u);  // the bucket is empty now
    ASSERT_NO_FATAL_FAILURE(load(config("lim", "1000pps")));  // same name: same bucket
    EXPECT_EQ(passes(0, udp_frame(100), 5), 0u);
    EXPECT_EQ(passes(0.0055, udp_frame(100), 20), 5u);  // 5.5 ms at the new 1,000 pps
    EXPECT_EQ(report("lim").packets[0], 5u);            // this generation's
    ASSERT_NO_FATAL_FAILURE(load(config("other", "1000pps")));  // another name: a new bucket
    EXPECT_EQ(passes(0.0055, udp_frame(100), 20), 10u);
}

TEST_F(police_stage_test, a_reload_keeps_the_buckets_of_per_source_policers) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    EXPECT_EQ(passes(0, from(1), 12), 10u);
    ASSERT_NO_FATAL_FAILURE(load(per_source + "\n"));
    EXPECT_EQ(passes(0, from(1), 5), 0u);
    EXPECT_EQ(police_->sources("each")->size(), 1u);
}

// Counters carry over a reload by name (the dataplane's policer_totals).
TEST_F(police_stage_test, counters_carry_over_a_reload_by_name) {
    const auto config = [](const std::string& name) {
        return port_policer("kind = \"srtcm\"\ncir = \"100pps\"\ncbs = \"10packets\"\n", name);
    };
    ASSERT_NO_FATAL_FAILURE(load(config("lim")));
    EXPECT_EQ(passes(0, udp_frame(100), 12), 10u);
    ASSERT_NO_FATAL_FAILURE(load(config("lim")));
    policer_totals totals;
    totals.retire(*retired_->find<policer_table>(), gen_->find<policer_table>());
    EXPECT_EQ(passes(0.5, udp_frame(100), 1), 1u);
    auto r = totals.report(*gen_->find<policer_table>());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].packets[0], 11u);
    EXPECT_EQ(r[0].packets[2], 2u);
    EXPECT_EQ(r[0].dropped, 2u);
    ASSERT_NO_FATAL_FAILURE(load(config("other")));
    totals.retire(*retired_->find<policer_table>(), gen_->find<policer_table>());
    r = totals.report(*gen_->find<policer_table>());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].name, "other");
    EXPECT_EQ(r[0].packets[0], 0u);
}

// ---- the stats file -----------------------------------------------------------------------

TEST(police_report, the_stats_json_lists_each_policer_with_its_colours) {
    run_report r;
    policer_report p;
    p.name = "each";
    p.scope = policer_scope::per_source;
    p.packets = {5, 2, 1};
    p.bytes = {500, 200, 100};
    p.dropped = 1;
    p.remarked = 2;
    p.table_full = 3;
    p.sources_created = 4;
    r.policers.push_back(p);
    const auto j = nlohmann::json::parse(to_json(r));
    ASSERT_EQ(j["policers"].size(), 1u);
    const auto& got = j["policers"][0];
    EXPECT_EQ(got["name"], "each");
    EXPECT_EQ(got["kind"], "srtcm");
    EXPECT_EQ(got["scope"], "per-source");
    EXPECT_EQ(got["green"]["packets"], 5u);
    EXPECT_EQ(got["yellow"]["bytes"], 200u);
    EXPECT_EQ(got["red"]["packets"], 1u);
    EXPECT_EQ(got["dropped"], 1u);
    EXPECT_EQ(got["remarked"], 2u);
    EXPECT_EQ(got["table_full"], 3u);
    EXPECT_EQ(got["sources_created"], 4u);
    EXPECT_FALSE(nlohmann::json::parse(to_json(run_report{})).contains("policers"));
}

// ---- configuration ------------------------------------------------------------------------

TEST(police_attach_config, errors_name_the_key_and_its_position) {
    const std::string policer = "[[policer]]\nname = \"lim\"\nkind = \"srtcm\"\ncir = \"100pps\"\ncbs = \"10packets\"\n";
    const std::pair<std::string, std::string> cases[] = {
        {"[firewall]\n[[firewall.rule]]\naction = \"accept\"\npolice = \"nope\"\n" + policer,
         "police.toml:4:10: firewall.rule.police: no [[policer]] is named 'nope'"},
        {"[firewall]\ndefault = \"drop\"\n[[firewall.rule]]\naction = \"drop\"\npolice = \"lim\"\n" + policer,
         "police.toml:5:10: firewall.rule.police: only a rule with action = \"accept\" polices"},
        {"[firewall]\ndefault = \"drop\"\n[[firewall.rule]]\naction = \"reject\"\npolice = \"lim\"\n" + policer,
         "police.toml:5:10: firewall.rule.police: only a rule with action = \"accept\" polices"},
        {"[[port]]\nname = \"p0\"\npolice = \"nope\"\n" + policer,
         "police.toml:3:10: port 'p0': police: no [[policer]] is named 'nope'"},
        {"[[port]]\nname = \"p0\"\npolice = 7\n" + policer,
         "police.toml:3:10: port.police: expected the name of a [[policer]]"},
        {"[dataplane]\nvalidate = false\n[[port]]\nname = \"p0\"\npolice = \"lim\"\n" + policer,
         "an attached policer needs dataplane.validate = true"},
        {"[[policer]]\nname = \"f\"\nkind = \"srtcm\"\ncir = \"100pps\"\ncbs = \"10packets\"\n"
         "scope = \"per-flow\"\n",
         "police.toml:1:1: policer 'f': scope = \"per-flow\" is not applied yet"},
    };
    for (const auto& [text, message] : cases) {
        const auto r = checked(text, "police.toml");
        EXPECT_THAT(messages(r.errors), ::testing::Contains(HasSubstr(message))) << text;
        for (const auto& e : r.errors) {
            EXPECT_GT(e.where.line, 0u) << e.to_string();
        }
    }
}

TEST(police_attach_config, attaching_the_first_policer_and_per_source_changes_need_a_restart) {
    const auto a = checked(per_source).config;
    auto b = a;
    b.policers[0].cir = 200;  // rates reload
    b.policers[0].idle_timeout = 9;
    EXPECT_TRUE(restart_only_changes(a, b).empty());
    b = a;
    b.policers[0].max_keys = 8;
    EXPECT_THAT(restart_only_changes(a, b),
                ::testing::ElementsAre(HasSubstr("per-source [[policer]]s")));
    b = a;
    b.firewall->rules[0].police.reset();
    EXPECT_THAT(restart_only_changes(a, b),
                ::testing::ElementsAre(HasSubstr("police (the first policer attached")));
}

}  // namespace
}  // namespace dpdk_app
