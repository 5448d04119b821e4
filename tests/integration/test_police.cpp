// The police stage through the real binary: a capture replayed endlessly
// (net_pcap infinite_rx, as fast as the lane goes) for --duration seconds
// through a port policer, and through a firewall rule's policer. What the
// policer passes (its green packets) must be its burst plus its rate times
// the run, within the tolerance stated below; every red packet is a
// policer_drop, nothing else is dropped, and conservation holds.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;

namespace {

struct policed_run {
    nlohmann::json stats;
    std::string err;
    int exit_code = -1;
};

policed_run run_policed(const std::string& config) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(512, 21));
    std::ofstream(dir.file("police.toml")) << config;
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--", "-c", dir.file("police.toml"), "--duration", "2", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    policed_run out;
    out.exit_code = r.exit_code;
    out.err = r.err;
    if (r.exit_code == 0) {
        out.stats = read_json(dir.file("stats.json"));
    }
    return out;
}

// Every packet the policer metered, whatever its colour.
uint64_t metered(const nlohmann::json& policer) {
    uint64_t n = 0;
    for (const char* color : {"green", "yellow", "red"}) {
        n += policer[color]["packets"].get<uint64_t>();
    }
    return n;
}

// The policer's green packets against its burst plus its rate over the
// run. The bucket starts full at the first burst, a little after the
// lanes start (the stats' "seconds" count from there to the end of the
// run, shutdown included): green may fall short of cbs + cir x seconds by
// up to 0.5 s worth of the rate, and may not exceed it by more than 1 %.
void expect_rate(const nlohmann::json& stats, std::size_t index, const std::string& name,
                 double cir, double cbs) {
    const auto& p = stats["policers"][index];
    ASSERT_EQ(p["name"], name) << stats["policers"].dump();
    const double seconds = stats["seconds"].get<double>();
    const double green = p["green"]["packets"].get<double>();
    const double most = (cbs + cir * seconds) * 1.01;
    const double least = cbs + cir * (seconds - 0.5);
    EXPECT_LE(green, most) << p.dump() << " seconds " << seconds;
    EXPECT_GE(green, least) << p.dump() << " seconds " << seconds;
    EXPECT_GT(p["red"]["packets"].get<uint64_t>(), 0u) << "offered no more than the rate?";
    EXPECT_EQ(p["dropped"], p["red"]["packets"]) << p.dump();
}

TEST(Police, APortPolicerPassesItsRateWithoutAFirewall) {
    const auto run = run_policed(R"(
[[port]]
name = "net_pcap0"
police = "port"
[[policer]]
name = "port"
kind = "srtcm"
cir = "3000pps"
cbs = "300packets"
)");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto& stats = run.stats;
    EXPECT_TRUE(conservation_holds(stats)) << describe_stats(stats, {"totals"});
    ASSERT_TRUE(stats.contains("policers")) << stats.dump();
    ASSERT_NO_FATAL_FAILURE(expect_rate(stats, 0, "port", 3000, 300));
    EXPECT_EQ(drops(stats, "policer_drop"), stats["policers"][0]["dropped"].get<uint64_t>());
    EXPECT_EQ(drops_other_than(stats, "policer_drop"), 0u) << describe_stats(stats, {"totals"});
    // Every packet arriving on the port was metered.
    EXPECT_EQ(metered(stats["policers"][0]), counter(stats, "totals", "rx"));
}

TEST(Police, AFirewallRulePolicesTheUdpItAccepts) {
    const auto run = run_policed(R"(
[firewall]
default = "accept"
[[firewall.rule]]
id = "udp"
proto = "udp"
action = "accept"
police = "udp"
[[policer]]
name = "udp"
kind = "trtcm"
cir = "1000pps"
pir = "1000pps"
cbs = "100packets"
pbs = "100packets"
[[policer]]
name = "unused"
kind = "srtcm"
cir = "1pps"
cbs = "1packets"
)");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto& stats = run.stats;
    EXPECT_TRUE(conservation_holds(stats)) << describe_stats(stats, {"totals"});
    ASSERT_NO_FATAL_FAILURE(expect_rate(stats, 0, "udp", 1000, 100));
    // The rule's accepted packets are the policed ones, and only those.
    EXPECT_EQ(metered(stats["policers"][0]), stats["firewall"]["rules"][0]["packets"].get<uint64_t>());
    EXPECT_EQ(stats["policers"][1]["green"]["packets"], 0u);
    EXPECT_EQ(drops_other_than(stats, "policer_drop"), 0u) << describe_stats(stats, {"totals"});
}

}  // namespace
