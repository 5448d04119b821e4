// The police stage on a simulated clock: parse -> (classify) -> police on
// hand-made bursts, with the tables compiled as the composer compiles them.
// Rates through the stage (2 x CIR offered passes CIR within 1 %, in each
// length mode), colour actions (remark keeps the IPv4 checksum valid),
// port policers without a firewall, rule policers on their rule's packets
// only, per-source buckets (each source held to the rate, idle eviction, a
// full table), bucket state across reloads, the lane share of the rates,
// configuration errors with their positions, restart-only changes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
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

// ---- a burst from one port ----------------------------------------------------------------

// A burst that says which port it came from (RX does) and whose port
// policer is aggregate keeps that policer's bucket and counts in locals
// (police_port_burst): the same fates, frames and counters as packet by
// packet, with rule policers after it (another one, the same one, per
// source) and a packet from another port in the burst.
TEST_F(police_stage_test, a_burst_from_one_port_polices_as_packet_by_packet) {
    const std::string port_policers[] = {
        "kind = \"trtcm\"\ncir = \"8Mbit\"\npir = \"16Mbit\"\ncbs = \"3000byte\"\n"
        "pbs = \"6000byte\"\n",
        "kind = \"srtcm\"\ncir = \"8Mbit\"\ncbs = \"3000byte\"\nebs = \"3000byte\"\n"
        "red = \"remark:af13\"\n",
        "kind = \"rfc4115\"\ncir = \"8Mbit\"\neir = \"8Mbit\"\ncbs = \"3000byte\"\n"
        "ebs = \"3000byte\"\nred = \"remark:af13\"\n",
    };
    std::map<std::string, uint64_t> red;  // per policer, over every configuration
    for (const std::string& port_policer : port_policers) {
        const std::string config = R"(
[[port]]
name = "p0"
police = "port"
[[port]]
name = "p1"
police = "other"
[firewall]
default = "accept"
[[firewall.rule]]
proto = "udp"
dport = 22
action = "accept"
police = "port"
[[firewall.rule]]
proto = "udp"
dport = 23
action = "accept"
police = "rule"
[[firewall.rule]]
proto = "udp"
dport = 24
action = "accept"
police = "each"
[[policer]]
name = "other"
kind = "srtcm"
cir = "100pps"
cbs = "4packets"
[[policer]]
name = "rule"
kind = "srtcm"
cir = "1000pps"
cbs = "8packets"
[[policer]]
name = "each"
kind = "srtcm"
cir = "500pps"
cbs = "3packets"
scope = "per-source"
[[policer]]
name = "port"
green = "remark:af11"
yellow = "remark:af12"
)" + port_policer;
        struct outcome {
            std::vector<std::vector<bytes>> passed;
            std::vector<policer_report> reports;
            std::vector<uint64_t> drops;
        };
        auto run_all = [&](bool say_port) {
            gen_.reset();
            police_.reset();
            classify_.reset();
            number_ = 0;
            load(config);
            outcome out;
            std::mt19937 rng(5);
            for (int k = 0; k < 60; ++k) {
                burst b;
                const unsigned n = 1 + rng() % max_burst;
                for (unsigned i = 0; i < n; ++i) {
                    const auto dport = static_cast<uint16_t>(21 + rng() % 4);
                    const auto size = static_cast<std::size_t>(64 + rng() % 1400);
                    const addr4 src{192, 0, 2, static_cast<uint8_t>(1 + rng() % 3)};
                    const uint16_t port = rng() % 16 == 0 ? 1 : 0;
                    b.pkts[b.count++] = unit::make_mbuf(pool_, udp_frame(size, dport, src), port);
                }
                stage_context ctx(counters_, gen_.get());
                ctx.set_now(start_ + static_cast<uint64_t>(k * 0.002 * static_cast<double>(hz_)));
                parse_burst(b, 0, ctx);
                b.in_port = say_port ? 0 : no_port;
                classify_->process(b, ctx);
                police_->process(b, ctx);
                std::vector<bytes> passed;
                for (uint16_t i = 0; i < b.count; ++i) {
                    passed.push_back(unit::frame_of(b.pkts[i]));
                }
                out.passed.push_back(std::move(passed));
                rte_pktmbuf_free_bulk(b.pkts.data(), b.count);
                ctx.free_discarded();
            }
            policer_totals totals;
            out.reports = totals.report(*gen_->find<policer_table>());
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                out.drops.push_back(counters_.drops[r].get());
                counters_.drops[r].set(0);
            }
            return out;
        };
        const outcome burst_wise = run_all(true);
        const outcome packet_wise = run_all(false);
        EXPECT_EQ(burst_wise.passed, packet_wise.passed);
        EXPECT_EQ(burst_wise.drops, packet_wise.drops);
        ASSERT_EQ(burst_wise.reports.size(), packet_wise.reports.size());
        for (std::size_t i = 0; i < burst_wise.reports.size(); ++i) {
            const auto& a = burst_wise.reports[i];
            const auto& b = packet_wise.reports[i];
            EXPECT_EQ(a.packets, b.packets) << a.name;
            EXPECT_EQ(a.bytes, b.bytes) << a.name;
            EXPECT_EQ(a.dropped, b.dropped) << a.name;
            EXPECT_EQ(a.remarked, b.remarked) << a.name;
        }
        for (const auto& r : packet_wise.reports) {
            EXPECT_GT(r.packets[0], 0u) << r.name;
            red[r.name] += r.packets[2];
        }
    }
    // Every path was taken: each policer coloured red too.
    for (const auto& [name, n] : red) {
        EXPECT_GT(n, 0u) << name;
    }
}

// ---- per source: bulk lookups ---------------------------------------------------------------

// The stage looks a burst's sources up in bulk (gather, lookup, take): the
// same buckets and decisions as one find() per packet, on random bursts
// that fill the table (4 buckets for 8 sources), repeat new sources within
// a burst, and evict idle buckets in the middle of a burst (the full
// table's sweep frees slots the bulk lookup had found).
TEST(police_source_buckets, bulk_lookups_decide_as_one_find_per_packet) {
    policer_config p;
    p.name = "each";
    p.scope = policer_scope::per_source;
    p.max_keys = 4;
    std::string error;
    auto bulk = source_buckets::create(p, 0, error);
    ASSERT_TRUE(bulk) << error;
    auto single = source_buckets::create(p, 0, error);
    ASSERT_TRUE(single) << error;
    const uint64_t hz = rte_get_tsc_hz();
    const auto profile = meter_profile::build({meter_kind::srtcm, 100, 10}, hz, error);
    ASSERT_TRUE(profile) << error;
    auto hb = std::make_unique<policer_hits>();
    auto hs = std::make_unique<policer_hits>();
    std::mt19937 rng(17);
    uint64_t now = 1'000'000'000;
    const uint64_t idle = 2 * hz;
    uint64_t misses_after_eviction = 0;
    for (int burst = 0; burst < 4000; ++burst) {
        now += rng() % (3 * hz / 2);
        const unsigned n = 1 + rng() % max_burst;
        const unsigned window = rng() % 6;  // sources window .. window + 2
        std::vector<source_key> keys(n);
        for (auto& k : keys) {
            k = source_key{};
            k.addr[15] = static_cast<uint8_t>(window + rng() % 3);
        }
        bulk->begin_burst();
        single->begin_burst();
        std::vector<uint32_t> at(n);
        for (unsigned i = 0; i < n; ++i) {
            at[i] = bulk->gather(keys[i]);
        }
        bulk->lookup();
        for (unsigned i = 0; i < n; ++i) {
            const uint64_t evicted = hs->sources_evicted.get();
            source_bucket* a = bulk->take(at[i], *profile, now, idle, *hb);
            source_bucket* b = single->find(keys[i], *profile, now, idle, *hs);
            misses_after_eviction += hs->sources_evicted.get() != evicted ? 1 : 0;
            ASSERT_EQ(a == nullptr, b == nullptr) << "burst " << burst << " packet " << i;
            if (a != nullptr) {
                ASSERT_EQ(meter_check(a->state, *profile, now, 1),
                          meter_check(b->state, *profile, now, 1))
                    << "burst " << burst << " packet " << i;
                ASSERT_EQ(a->packets, b->packets) << "burst " << burst << " packet " << i;
            }
        }
        ASSERT_EQ(bulk->expire(now, idle, 3, *hb), single->expire(now, idle, 3, *hs));
        ASSERT_EQ(bulk->size(), single->size());
    }
    EXPECT_EQ(hb->sources_created.get(), hs->sources_created.get());
    EXPECT_EQ(hb->sources_evicted.get(), hs->sources_evicted.get());
    EXPECT_GT(misses_after_eviction, 100u) << "the sweep in a burst was not exercised";
}

TEST_F(police_stage_test, one_new_source_twice_in_a_burst_gets_one_bucket) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    EXPECT_THAT(run(0, {from(1), from(1), from(2), from(1)}).fate,
                ::testing::Each(::testing::Eq("pass")));
    EXPECT_EQ(police_->sources("each")->size(), 2u);
    EXPECT_EQ(report("each").sources_created, 2u);
    EXPECT_EQ(passes(0, from(1), 12), 7u);  // the 10-packet burst: 3 spent
    // Filling the table within one burst: the fifth and later new sources
    // find no bucket, the known ones keep theirs (source 1's is empty).
    const auto before_full = drops(drop_reason::policer_table_full);
    const auto before_drop = drops(drop_reason::policer_drop);
    const auto r = run(0, {from(3), from(4), from(5), from(3), from(6), from(1)});
    EXPECT_THAT(r.fate, ::testing::ElementsAre("pass", "pass", ::testing::Ne("pass"), "pass",
                                               ::testing::Ne("pass"), ::testing::Ne("pass")));
    EXPECT_EQ(drops(drop_reason::policer_table_full) - before_full, 2u);
    EXPECT_EQ(drops(drop_reason::policer_drop) - before_drop, 1u);
    EXPECT_EQ(police_->sources("each")->size(), 4u);
}

// The same policer on the port and on the rule: two meter checks of one
// bucket per packet, gathered twice.
TEST_F(police_stage_test, a_source_policed_by_its_port_and_its_rule_spends_its_bucket_twice) {
    ASSERT_NO_FATAL_FAILURE(load(R"(
[[port]]
name = "p0"
police = "each"
[[port]]
name = "p1"
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
)"));
    EXPECT_EQ(passes(0, from(1), 8), 5u);
    EXPECT_EQ(report("each").packets[0], 10u);
    EXPECT_EQ(report("each").sources_created, 1u);
}

// ---- per source: top talkers --------------------------------------------------------------

// The bursts that make the lane's walk finish a pass over every slot (the
// idle timeout of per_source is 2 s: these stay before it).
void finish_a_pass(const std::function<std::size_t(double)>& burst_at) {
    for (double t : {0.4, 0.8, 1.2, 1.6}) {
        burst_at(t);
    }
}

TEST_F(police_stage_test, top_sources_rank_by_dropped_packets_then_bytes) {
    ASSERT_NO_FATAL_FAILURE(load(per_source + "top_sources = 3\n"));
    EXPECT_EQ(passes(0, udp_frame(100, 80, {192, 0, 2, 1}), 30), 10u);  // 20 dropped
    EXPECT_EQ(passes(0, udp_frame(200, 80, {192, 0, 2, 2}), 15), 10u);  // 5 dropped
    EXPECT_EQ(passes(0, udp_frame(1000, 80, {192, 0, 2, 3}), 5), 5u);   // 5,000 bytes
    EXPECT_EQ(passes(0, udp_frame(100, 80, {192, 0, 2, 4}), 1), 1u);    // 100 bytes
    finish_a_pass([&](double t) { return passes(t, udp_frame(64, 80, {192, 0, 2, 4}), 1); });
    const auto r = report("each");
    ASSERT_EQ(r.top_sources.size(), 3u) << r.top_sources.size();
    EXPECT_EQ(r.top_sources[0].source, "192.0.2.1");
    EXPECT_EQ(r.top_sources[0].dropped, 20u);
    EXPECT_EQ(r.top_sources[0].packets, 30u);
    EXPECT_EQ(r.top_sources[0].bytes, 3000u);
    EXPECT_EQ(r.top_sources[1].source, "192.0.2.2");
    EXPECT_EQ(r.top_sources[1].dropped, 5u);
    EXPECT_EQ(r.top_sources[1].bytes, 3000u);
    EXPECT_EQ(r.top_sources[2].source, "192.0.2.3");  // no drops: by bytes
    EXPECT_EQ(r.top_sources[2].dropped, 0u);
    EXPECT_EQ(r.top_sources[2].bytes, 5000u);
}

TEST_F(police_stage_test, top_sources_name_the_prefix_and_none_are_listed_before_a_pass) {
    ASSERT_NO_FATAL_FAILURE(load(per_source + "prefix_v4 = 24\ntop_sources = 0\n"));
    EXPECT_EQ(passes(0, from(1), 3), 3u);
    EXPECT_EQ(passes(0, from(7), 2), 2u);  // the same /24
    finish_a_pass([&](double t) { return passes(t, from(9, 3), 1); });
    EXPECT_TRUE(report("each").top_sources.empty());
    ASSERT_NO_FATAL_FAILURE(load(per_source + "prefix_v4 = 24\n"));  // top_sources reloads
    finish_a_pass([&](double t) { return passes(t + 0.1, from(9, 3), 1); });
    const auto r = report("each");
    ASSERT_EQ(r.top_sources.size(), 2u);
    EXPECT_EQ(r.top_sources[0].source, "192.0.3.0/24");  // 8 x 100 bytes, then 5 x 100
    EXPECT_EQ(r.top_sources[1].source, "192.0.2.0/24");
    EXPECT_EQ(r.top_sources[1].packets, 5u);
    EXPECT_EQ(r.top_sources[1].bytes, 500u);
}

// IPv6 sources are keyed by their prefix_v6 (default /64), IPv4 ones by
// their IPv4-mapped address, frames that are not IP (metered by a port's
// policer) by one shared key.
TEST_F(police_stage_test, top_sources_of_each_family) {
    ASSERT_NO_FATAL_FAILURE(load(port_policer(
        "kind = \"srtcm\"\ncir = \"100pps\"\ncbs = \"10packets\"\nscope = \"per-source\"\n"
        "max_keys = 16\n",
        "each")));
    EXPECT_EQ(passes(0, udp6_frame(300), 3), 3u);  // 2001:db8::10
    EXPECT_EQ(passes(0, cat(ethernet(ether_arp), arp()), 2), 2u);
    EXPECT_EQ(passes(0, from(5), 5), 5u);
    finish_a_pass([&](double t) { return passes(t, from(6), 1); });
    const auto r = report("each");
    ASSERT_EQ(r.top_sources.size(), 4u);
    EXPECT_EQ(r.top_sources[0].source, "2001:db8::/64");
    EXPECT_EQ(r.top_sources[0].bytes, 900u);
    EXPECT_EQ(r.top_sources[1].source, "192.0.2.5");
    EXPECT_EQ(r.top_sources[1].packets, 5u);
    EXPECT_EQ(r.top_sources[2].source, "192.0.2.6");
    EXPECT_EQ(r.top_sources[3].source, "non-IP");
    EXPECT_EQ(r.top_sources[3].packets, 2u);
}

// A reload keeps the list: carried by the control thread until the lane
// republishes it into the new generation's board (its first burst).
TEST_F(police_stage_test, top_sources_survive_a_reload) {
    ASSERT_NO_FATAL_FAILURE(load(per_source));
    EXPECT_EQ(passes(0, from(9), 20), 10u);
    finish_a_pass([&](double t) { return passes(t, from(1), 1); });
    ASSERT_NO_FATAL_FAILURE(load(per_source + "\n"));
    policer_totals totals;
    totals.retire(*retired_->find<policer_table>(), gen_->find<policer_table>());
    auto r = totals.report(*gen_->find<policer_table>());
    ASSERT_EQ(r.at(0).top_sources.size(), 2u);
    EXPECT_EQ(r[0].top_sources[0].source, "192.0.2.9");
    EXPECT_EQ(r[0].top_sources[0].dropped, 10u);
    passes(1.7, from(1), 1);  // the lane adopts the new generation
    EXPECT_EQ(report("each").top_sources.at(0).source, "192.0.2.9");
}

// The seqlock: a reader never sees a half-written list while the writer
// publishes as fast as it can.
TEST(police_talker_board, a_reader_sees_whole_lists_only) {
    auto board = std::make_unique<talker_board>();
    std::vector<source_talker> got;
    EXPECT_FALSE(board->read(got));
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        std::array<source_talker, max_top_sources> list{};
        for (uint64_t round = 1; !stop.load(std::memory_order_relaxed); ++round) {
            const auto n = static_cast<uint32_t>(round % (max_top_sources + 1));
            for (uint32_t i = 0; i < n; ++i) {
                std::memcpy(list[i].key.addr, &round, 4);
                list[i].packets = list[i].bytes = list[i].dropped = round;
            }
            board->publish(list.data(), n);
        }
    });
    uint64_t whole = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (whole < 20000 && std::chrono::steady_clock::now() < give_up) {
        if (!board->read(got)) {
            continue;
        }
        ++whole;
        if (got.empty()) {
            continue;
        }
        const uint64_t round = got[0].packets;
        ASSERT_EQ(got.size(), round % (max_top_sources + 1));
        for (const auto& t : got) {
            uint32_t addr = 0;
            std::memcpy(&addr, t.key.addr, 4);
            ASSERT_EQ(t.packets, round);
            ASSERT_EQ(t.bytes, round);
            ASSERT_EQ(t.dropped, round);
            ASSERT_EQ(addr, static_cast<uint32_t>(round));
        }
    }
    stop = true;
    writer.join();
    EXPECT_GT(whole, 0u);
}

TEST(police_report, the_stats_json_lists_the_top_sources_of_a_per_source_policer) {
    run_report r;
    policer_report p;
    p.name = "each";
    p.scope = policer_scope::per_source;
    p.top_sources = {{"192.0.2.1", 30, 3000, 20}, {"2001:db8::/64", 5, 500, 0}};
    r.policers.push_back(p);
    policer_report agg;
    agg.name = "all";
    r.policers.push_back(agg);
    const auto j = nlohmann::json::parse(to_json(r));
    const auto& top = j["policers"][0]["top_sources"];
    ASSERT_EQ(top.size(), 2u);
    EXPECT_EQ(top[0]["source"], "192.0.2.1");
    EXPECT_EQ(top[0]["dropped"], 20u);
    EXPECT_EQ(top[0]["bytes"], 3000u);
    EXPECT_EQ(top[0]["packets"], 30u);
    EXPECT_EQ(top[1]["source"], "2001:db8::/64");
    EXPECT_FALSE(j["policers"][1].contains("top_sources"));
}

TEST(police_attach_config, top_sources_is_a_per_source_key_of_at_most_64) {
    const std::string head =
        "[[policer]]\nname = \"p\"\nkind = \"srtcm\"\ncir = \"100pps\"\ncbs = \"10packets\"\n";
    EXPECT_EQ(checked(head + "scope = \"per-source\"\n").config.policers.at(0).top_sources, 10u);
    EXPECT_EQ(checked(head + "scope = \"per-source\"\ntop_sources = 64\n")
                  .config.policers.at(0)
                  .top_sources,
              64u);
    EXPECT_THAT(
        messages(
            checked(head + "scope = \"per-source\"\ntop_sources = 65\n", "police.toml").errors),
        ::testing::Contains(HasSubstr("police.toml:7:15: policer.top_sources")));
    EXPECT_THAT(
        messages(checked(head + "top_sources = 3\n", "police.toml").errors),
        ::testing::Contains(HasSubstr("policer.top_sources: only with scope = \"per-source\"")));
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
