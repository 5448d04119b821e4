// Bridge mode through real vdevs: net_pcap in -> dpdk-app -> net_pcap out,
// net_null under load stopped by signals.
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;

namespace {

struct placement_case {
    const char* name;
    const char* lcores;
    std::size_t lcores_used;          // distinct lcores running stages
    std::vector<std::string> stages;  // expected stage names; empty: not checked
    bool fuse = true;                 // pipeline.fuse
};

class BridgePcap : public ::testing::TestWithParam<placement_case> {};

TEST_P(BridgePcap, HundredThousandFramesComeOutByteIdentical) {
    temp_dir dir;
    const auto in = make_frames(100000, 7);
    write_pcap(dir.file("in.pcap"), in);
    auto args = eal_base(GetParam().lcores);
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") +
                                 ",tx_pcap=" + dir.file("out.pcap"),
                             "--", "--idle-exit", "500", "--stats-json", dir.file("stats.json")});
    if (!GetParam().fuse) {
        std::ofstream(dir.file("bridge.toml")) << "[pipeline]\nfuse = false\n";
        args.insert(args.end(), {"-c", dir.file("bridge.toml")});
    }
    const run_result r = run_app(args, dir, 120s);
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const auto out = read_pcap(dir.file("out.pcap"));
    ASSERT_EQ(out.size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        ASSERT_EQ(out[i], in[i]) << "frame " << i << " differs";
    }

    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["totals"]["rx"], in.size());
    EXPECT_EQ(stats["totals"]["forwarded"], in.size());
    EXPECT_EQ(stats["totals"]["dropped"], 0u);
    EXPECT_EQ(stats["totals"]["in_flight"], 0u);
    EXPECT_EQ(stats["ports"][0]["rx"], in.size());
    EXPECT_EQ(stats["ports"][0]["tx"], in.size());
    EXPECT_EQ(stats["ports"][0]["opackets"], in.size());
    // At least one poll per burst of at most 64 (the default burst size).
    EXPECT_GE(stats["ports"][0]["rx_polls"].get<uint64_t>(), (in.size() + 63) / 64);
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
    EXPECT_TRUE(stats["final"].get<bool>());

    std::set<unsigned> lcores;
    std::vector<std::string> names;
    for (const auto& s : stats["stages"]) {
        lcores.insert(s["lcore"].get<unsigned>());
        names.push_back(s["name"]);
        EXPECT_EQ(s["packets_in"], in.size()) << s["name"];
    }
    EXPECT_EQ(lcores.size(), GetParam().lcores_used);
    if (!GetParam().stages.empty()) {
        EXPECT_EQ(names, GetParam().stages);
    }
    EXPECT_NE(r.out.find("forwarded 100000"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Placements, BridgePcap,
    ::testing::Values(
        placement_case{"one_lcore", "-l 0", 1, {"rx", "parse+bridge+respond", "tx"}},
        placement_case{"one_lcore_unfused", "-l 0", 1,
                       {"rx", "parse", "bridge", "respond", "tx"}, false},
        placement_case{"two_lcores", "-l 0-1", 1, {"rx", "parse+bridge+respond", "tx"}},
        placement_case{"four_lcores", "--lcores (0-3)@(0-1)", 3, {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Bridge, TwoPortsAreCrossConnected) {
    temp_dir dir;
    const auto a = make_frames(3000, 1);
    const auto b = make_frames(2000, 2);
    write_pcap(dir.file("a.pcap"), a);
    write_pcap(dir.file("b.pcap"), b);
    auto args = eal_base("--lcores (0-2)@(0-1)");
    args.insert(
        args.end(),
        {"--vdev=net_pcap0,rx_pcap=" + dir.file("a.pcap") + ",tx_pcap=" + dir.file("out0.pcap"),
         "--vdev=net_pcap1,rx_pcap=" + dir.file("b.pcap") + ",tx_pcap=" + dir.file("out1.pcap"),
         "--", "--idle-exit", "500", "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_pcap(dir.file("out1.pcap")), a);
    EXPECT_EQ(read_pcap(dir.file("out0.pcap")), b);
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["ports"][0]["rx"], a.size());
    EXPECT_EQ(stats["ports"][0]["tx"], b.size());
    EXPECT_EQ(stats["ports"][1]["peer"], 0);
}

// "dpdk-app -l 0-3" on a machine of fewer CPUs: an -l list naming a CPU the
// process may not use runs, its lcores mapped onto the CPUs there are, with
// a one-line notice (the list here always names one CPU too many).
TEST(Bridge, AnLcoreListBeyondTheCpusRunsMapped) {
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        last = CPU_ISSET(c, &set) ? c : last;
    }
    ASSERT_GE(last, 0);
    const std::string list = "0-" + std::to_string(std::max(last + 1, 3));
    temp_dir dir;
    const auto a = make_frames(1000, 5);
    write_pcap(dir.file("a.pcap"), a);
    auto args = eal_base("-l " + list);
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("a.pcap") +
                                 ",tx_pcap=" + dir.file("out.pcap"),
                             "--", "--idle-exit", "500", "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("-l " + list + " names CPUs this machine does not offer"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("running as --lcores 0@"), std::string::npos) << r.err;
    EXPECT_EQ(read_pcap(dir.file("out.pcap")), a);
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
}

TEST(Bridge, ConfiguredPeersAndPlacementAreHonoured) {
    temp_dir dir;
    const auto a = make_frames(1000, 3);
    write_pcap(dir.file("a.pcap"), a);
    std::ofstream(dir.file("app.toml")) << R"(
[pipeline]
placement = [["rx", "parse", "bridge"], ["respond", "tx"]]
[[port]]
name = "net_pcap0"
peer = "net_pcap0"
rx_desc = 256
tx_desc = 256
)";
    auto args = eal_base("--lcores (0-3)@(0-1)");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("a.pcap") +
                                 ",tx_pcap=" + dir.file("out.pcap"),
                             "--", "-c", dir.file("app.toml"), "--idle-exit", "500", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_pcap(dir.file("out.pcap")), a);
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    ASSERT_EQ(stats["stages"].size(), 5u);
    EXPECT_EQ(stats["stages"][0]["lcore"], stats["stages"][1]["lcore"]);
    EXPECT_EQ(stats["stages"][1]["lcore"], stats["stages"][2]["lcore"]);
    EXPECT_NE(stats["stages"][2]["lcore"], stats["stages"][3]["lcore"]);
    EXPECT_EQ(stats["stages"][3]["lcore"], stats["stages"][4]["lcore"]);
    // One worker lcore is left idle, and the app says so.
    EXPECT_NE(r.err.find("stay idle"), std::string::npos) << r.err;
}

// Under endless load (net_null), a signal stops RX, drains the rings and
// flushes TX: nothing is lost and every mbuf is back in the pool.
class SignalShutdown : public ::testing::TestWithParam<int> {};

TEST_P(SignalShutdown, LosesNothing) {
    temp_dir dir;
    auto args = eal_base("--lcores (0-3)@(0-1)");
    args.insert(args.end(), {"--vdev=net_null0", "--", "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(1500ms);
    app.signal(GetParam());
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_GT(stats["totals"]["rx"].get<uint64_t>(), 10000u);
    EXPECT_EQ(stats["totals"]["in_flight"], 0u);
    EXPECT_EQ(stats["totals"]["dropped"], 0u);
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalShutdown, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) {
                             return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

TEST(Bridge, Sigusr1WritesStatsWhileRunning) {
    temp_dir dir;
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_null0", "--", "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(1000ms);
    const nlohmann::json mid = stats_snapshot(app, dir.file("stats.json"));
    ASSERT_FALSE(mid.is_null()) << "no stats file after SIGUSR1";
    EXPECT_FALSE(mid["final"].get<bool>());
    EXPECT_GT(mid["totals"]["rx"].get<uint64_t>(), 0u);
    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto end = read_json(dir.file("stats.json"));
    EXPECT_TRUE(end["final"].get<bool>());
    EXPECT_GE(end["totals"]["rx"].get<uint64_t>(), mid["totals"]["rx"].get<uint64_t>());
    EXPECT_TRUE(conservation_holds(end));
}

TEST(Bridge, DurationStopsTheRun) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "--duration", "0.5", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir, 30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_GE(stats["seconds"].get<double>(), 0.5);
    EXPECT_LT(stats["seconds"].get<double>(), 10.0);
    EXPECT_TRUE(conservation_holds(stats));
}

}  // namespace

namespace {

// dataplane.validate = false: a pure bump in the wire, malformed frames too.
TEST(Bridge, WithoutValidationEveryFramePassesUntouched) {
    temp_dir dir;
    auto frames = make_frames(500, 9);
    frames.push_back(frame(10, 0xab));                                                    // runt
    frames.push_back(frame{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x46});  // bad IHL
    write_pcap(dir.file("in.pcap"), frames);
    for (const bool validate : {false, true}) {
        SCOPED_TRACE(validate ? "validate = true" : "validate = false");
        std::ofstream(dir.file("v.toml"))
            << "[dataplane]\nvalidate = " << (validate ? "true" : "false") << "\n";
        auto args = eal_base("-l 0");
        args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") +
                                     ",tx_pcap=" + dir.file("out.pcap"),
                                 "--", "-c", dir.file("v.toml"), "--idle-exit", "300",
                                 "--stats-json", dir.file("stats.json")});
        const run_result r = run_app(args, dir);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto out = read_pcap(dir.file("out.pcap"));
        const auto stats = read_json(dir.file("stats.json"));
        EXPECT_TRUE(conservation_holds(stats));
        if (validate) {
            EXPECT_EQ(out.size(), frames.size() - 2);
            EXPECT_EQ(stats["drops"]["eth_truncated"], 1u);
            EXPECT_EQ(stats["drops"]["ipv4_truncated"].get<uint64_t>() +
                          stats["drops"]["ipv4_bad_ihl"].get<uint64_t>(),
                      1u);
        } else {
            EXPECT_EQ(out, frames);
            EXPECT_EQ(stats["stages"].size(), 3u);
        }
    }
}

}  // namespace
