// Router mode through real vdevs: a scapy-built send/expect case compared
// byte for byte, checksums checked by tshark, and a hitless reload (SIGHUP)
// under load.
#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

const char* const router_toml = R"(
[dataplane]
mode = "router"

[[port]]
name = "net_pcap0"
[[port]]
name = "net_pcap1"

[[interface]]
port = "net_pcap0"
mac = "02:00:00:00:00:01"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]

[[interface]]
port = "net_pcap1"
mac = "02:00:00:00:01:01"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]

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
)";

std::map<std::string, uint64_t> read_drops(const std::string& path) {
    std::map<std::string, uint64_t> m;
    std::ifstream in(path);
    std::string reason;
    uint64_t n;
    while (in >> reason >> n) {
        m[reason] = n;
    }
    return m;
}

// How the case runs: EAL lcores, and whether parse and route may be fused
// into one stage (pipeline.fuse) where they share an lcore.
struct router_run {
    const char* name;
    const char* lcores;
    bool fuse;
    std::vector<std::string> stages;  // expected stage names; empty: not checked
};

class RouterCase : public ::testing::TestWithParam<router_run> {};

TEST_P(RouterCase, SendExpectByteForByte) {
    temp_dir dir;
    ASSERT_EQ(sh("/usr/bin/python3 " + std::string(SOURCE_ROOT) +
                 "/tests/integration/cases/router_case.py " + dir.path() + " 2>/dev/null"),
              0)
        << "the scapy case generator failed (is python3-scapy installed?)";
    std::ofstream(dir.file("router.toml"))
        << router_toml << (GetParam().fuse ? "" : "\n[pipeline]\nfuse = false\n");
    auto args = eal_base(GetParam().lcores);
    args.insert(
        args.end(),
        {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" + dir.file("out0.pcap"),
         "--vdev=net_pcap1,rx_pcap=" + dir.file("empty.pcap") + ",tx_pcap=" + dir.file("out1.pcap"),
         "--", "-c", dir.file("router.toml"), "--idle-exit", "500", "--stats-json",
         dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;

    // ARP the appliance sends by itself: announcements on both ports and
    // requests for the unresolved 198.51.100.8 on port 1.
    auto is_arp = [](const frame& f) { return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06; };
    auto own_arp = [&](const std::vector<frame>& frames, std::size_t& announcements,
                       std::size_t& requests_for_8) {
        std::vector<frame> rest;
        for (const auto& f : frames) {
            const bool request = is_arp(f) && f[21] == 1;
            if (request && std::equal(f.begin() + 28, f.begin() + 32, f.begin() + 38)) {
                ++announcements;
            } else if (request && f[38] == 198 && f[39] == 51 && f[40] == 100 && f[41] == 8) {
                ++requests_for_8;
            } else {
                rest.push_back(f);
            }
        }
        return rest;
    };
    std::size_t announce0 = 0, announce1 = 0, ask0 = 0, ask1 = 0;
    const auto expect = read_pcap(dir.file("expect1.pcap"));
    const auto out = own_arp(read_pcap(dir.file("out1.pcap")), announce1, ask1);
    ASSERT_EQ(out.size(), expect.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i], expect[i]) << "frame " << i << " differs from scapy's";
    }
    // Replies and ICMP errors, byte for byte against scapy's.
    const auto expect0 = read_pcap(dir.file("expect0.pcap"));
    const auto out0 = own_arp(read_pcap(dir.file("out0.pcap")), announce0, ask0);
    ASSERT_EQ(out0.size(), expect0.size());
    for (std::size_t i = 0; i < out0.size(); ++i) {
        ASSERT_EQ(out0[i], expect0[i]) << "port 0 frame " << i << " differs from scapy's";
    }
    EXPECT_EQ(announce0, 1u) << "one gratuitous ARP for 192.0.2.1";
    EXPECT_EQ(announce1, 1u) << "one gratuitous ARP for 198.51.100.1";
    EXPECT_EQ(ask0, 0u);
    EXPECT_GE(ask1, 1u) << "198.51.100.8 is resolved with ARP on port 1";

    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["mode"], "router");
    std::vector<std::string> stage_names;
    for (const auto& st : stats["stages"]) {
        stage_names.push_back(st["name"]);
    }
    if (!GetParam().stages.empty()) {
        EXPECT_EQ(stage_names, GetParam().stages);
    }
    EXPECT_EQ(stats["totals"]["forwarded"], expect.size());
    uint64_t consumed = 0;
    std::ifstream(dir.file("consumed.txt")) >> consumed;
    EXPECT_EQ(stats["totals"]["consumed"], consumed);
    EXPECT_EQ(stats["totals"]["generated_sent"],
              expect0.size() + announce0 + announce1 + ask1);
    EXPECT_EQ(stats["responder"]["errors_time_exceeded"], 9u);
    EXPECT_EQ(stats["responder"]["errors_unreachable_net"], 6u);
    EXPECT_EQ(stats["responder"]["errors_unreachable_port"], 3u);
    EXPECT_EQ(stats["responder"]["errors_too_big"], 3u);
    EXPECT_EQ(stats["responder"]["echo_replies"], 3u);
    EXPECT_EQ(stats["responder"]["arp_replies"], 3u);
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
    const auto want = read_drops(dir.file("drops.txt"));
    for (const auto& [reason, count] : stats["drops"].items()) {
        const auto it = want.find(reason);
        EXPECT_EQ(count.get<uint64_t>(), it == want.end() ? 0u : it->second) << reason;
    }

    // An independent decoder agrees on every IPv4 header checksum.
    if (sh("command -v tshark >/dev/null") == 0) {
        const std::string bad = sh_output(
            "tshark -r " + dir.file("out1.pcap") +
            " -o ip.check_checksum:TRUE -Y 'ip.checksum.status == \"Bad\"' 2>/dev/null | wc -l");
        const std::string good = sh_output(
            "tshark -r " + dir.file("out1.pcap") +
            " -o ip.check_checksum:TRUE -Y 'ip.checksum.status == \"Good\"' 2>/dev/null | wc -l");
        EXPECT_EQ(std::stoi(bad), 0);
        EXPECT_GT(std::stoi(good), 50);
        // ... and on every ICMP / ICMPv6 checksum of the generated packets.
        const std::string icmp_bad = sh_output(
            "tshark -r " + dir.file("out0.pcap") +
            " -o ip.check_checksum:TRUE -Y 'icmp.checksum.status == \"Bad\" || "
            "icmpv6.checksum.status == \"Bad\" || ip.checksum.status == \"Bad\"' 2>/dev/null"
            " | wc -l");
        const std::string icmp_good = sh_output(
            "tshark -r " + dir.file("out0.pcap") +
            " -Y 'icmp.checksum.status == \"Good\" || icmpv6.checksum.status == \"Good\"'"
            " 2>/dev/null | wc -l");
        const auto icmp_frames = static_cast<int>(
            std::count_if(out0.begin(), out0.end(), [&](const frame& f) { return !is_arp(f); }));
        EXPECT_EQ(std::stoi(icmp_bad), 0);
        EXPECT_EQ(std::stoi(icmp_good), icmp_frames);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Placements, RouterCase,
    ::testing::Values(
        router_run{"one_lcore", "-l 0", true, {"rx", "parse+route+respond", "tx"}},
        router_run{"one_lcore_unfused", "-l 0", false, {"rx", "parse", "route", "respond", "tx"}},
        router_run{"four_lcores", "--lcores (0-3)@(0-1)", true, {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Router, BadRoutesAreRejectedWithPositions) {
    temp_dir dir;
    std::ofstream(dir.file("bad.toml")) << R"([dataplane]
mode = "router"
[[interface]]
port = "net_pcap0"
addresses = ["192.0.2.1/24"]
[[route]]
prefix = "203.0.113.0/24"
via = "10.0.0.1"
[[route]]
prefix = "198.51.100.0/24"
via = "2001:db8::1"
[[route]]
prefix = "198.51.100.7/24"
via = "192.0.2.2"
)";
    const run_result r = run_app({"--", "--check-config", "-c", dir.file("bad.toml")}, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(dir.file("bad.toml") +
                                 ":6:1: route 203.0.113.0/24: next hop 10.0.0.1 is not inside "
                                 "any interface subnet"));
    EXPECT_THAT(r.err, HasSubstr(":9:1: route 198.51.100.0/24: next hop 2001:db8::1 is not of "
                                 "the prefix's address family"));
    EXPECT_THAT(r.err, HasSubstr(":13:10: route.prefix: '198.51.100.7/24' has host bits set (did "
                                 "you mean 198.51.100.0/24?)"));
}

// The load of the reload tests, written with scapy: in.pcap, 64 UDP datagrams
// from port 0's side to 203.0.113.1-64 (routed via 198.51.100.2), and an
// empty.pcap with no frames for port 1. The exit status of the python3 run.
int write_replay_pcaps(const temp_dir& dir) {
    return sh("/usr/bin/python3 -c \"from scapy.all import *; wrpcap('" + dir.file("in.pcap") +
              "', [Ether(src='02:00:00:00:00:99', dst='02:00:00:00:00:01')/IP(src='192.0.2.10', "
              "dst='203.0.113.%d' % (i + 1))/UDP(sport=9, dport=9)/Raw(b'r' * 18) for i in "
              "range(64)]); wrpcap('" +
              dir.file("empty.pcap") + "', [])\" 2>/dev/null");
}

// Routes change under load: nothing but the routes' own verdicts is dropped,
// a bad reload changes nothing, and every counter adds up.
TEST(Router, ReloadUnderLoadIsHitless) {
    temp_dir dir;
    ASSERT_EQ(write_replay_pcaps(dir), 0);
    std::ofstream(dir.file("router.toml")) << router_toml;
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--vdev=net_pcap1,rx_pcap=" + dir.file("empty.pcap"), "--", "-c",
                             dir.file("router.toml"), "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);

    auto snapshot = [&] { return stats_snapshot(app, dir.file("stats.json")); };
    std::this_thread::sleep_for(1000ms);
    const auto before = snapshot();
    ASSERT_FALSE(before.is_null());
    EXPECT_GT(before["totals"]["forwarded"].get<uint64_t>(), 1000u);
    EXPECT_EQ(before["config"]["generation"], 1u);

    // Generation 2: the 203.0.113.0/24 route is gone.
    std::string without = router_toml;
    without.erase(
        without.find("[[route]]\nprefix = \"203.0.113.0/24\""),
        std::string("[[route]]\nprefix = \"203.0.113.0/24\"\nvia = \"198.51.100.2\"\n\n").size());
    std::ofstream(dir.file("router.toml")) << without;
    app.signal(SIGHUP);
    std::this_thread::sleep_for(800ms);
    const auto after = snapshot();
    ASSERT_FALSE(after.is_null());
    EXPECT_EQ(after["config"]["generation"], 2u);
    EXPECT_EQ(after["config"]["reloads"], 1u);
    EXPECT_GT(after["drops"]["no_route"].get<uint64_t>(), 1000u);

    // A broken file is rejected and generation 2 stays.
    std::ofstream(dir.file("router.toml")) << "[dataplane]\nmode = \"router\"\nlanes = \"x\"\n";
    app.signal(SIGHUP);
    std::this_thread::sleep_for(500ms);
    // Generation 3 brings the route back.
    std::ofstream(dir.file("router.toml")) << router_toml;
    app.signal(SIGHUP);
    std::this_thread::sleep_for(800ms);

    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("reload rejected: 2 configuration error(s); generation 2 stays in use"));
    const auto end = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(end));
    EXPECT_EQ(end["config"]["generation"], 3u);
    EXPECT_EQ(end["config"]["reloads"], 2u);
    EXPECT_EQ(end["config"]["reload_failures"], 1u);
    EXPECT_GT(end["totals"]["forwarded"].get<uint64_t>(),
              after["totals"]["forwarded"].get<uint64_t>());
    EXPECT_EQ(drops_other_than(end, "no_route"), 0u) << end["drops"].dump();
    EXPECT_EQ(end["mempool"]["in_use"], 0u);
}

// 200 reloads during a router replay on 2 lcores. Valid configurations
// (the route to the replay's destinations comes and goes, and a block of
// other routes grows and shrinks) alternate with invalid ones of every
// kind: TOML syntax, a bad value, a route no interface reaches, a change
// that needs a restart. Every invalid file is rejected, every valid one
// becomes the next generation, nothing is dropped but by the routes' own
// verdict (no_route), every counter adds up and one generation is left.
TEST(Router, TwoHundredReloadsUnderLoad) {
    temp_dir dir;
    ASSERT_EQ(write_replay_pcaps(dir), 0);
    const std::string config = dir.file("router.toml");
    auto write_config = [&](const std::string& text) { ASSERT_TRUE(replace_file(config, text)); };
    const std::string route = "[[route]]\nprefix = \"203.0.113.0/24\"\nvia = \"198.51.100.2\"\n\n";
    std::string without_route = router_toml;
    without_route.erase(without_route.find(route), route.size());
    auto valid = [&](int k) {
        std::string text = k % 2 == 0 ? router_toml : without_route;
        for (int r = 0; r < k % 7; ++r) {
            text += "[[route]]\nprefix = \"198.18." + std::to_string(r) +
                    ".0/24\"\nvia = \"198.51.100.7\"\n";
        }
        return text;
    };
    const std::string invalid[] = {
        std::string(router_toml) + "[[route]\n",
        std::string(router_toml) + "[pipeline]\nring_size = 100\n",
        std::string(router_toml) + "[[route]]\nprefix = \"198.19.0.0/16\"\nvia = \"10.9.9.9\"\n",
        std::string("[dataplane]\nmode = \"bridge\"\n"),
    };
    write_config(valid(0));
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--vdev=net_pcap1,rx_pcap=" + dir.file("empty.pcap"), "--", "-c",
                             config, "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(1000ms);
    ASSERT_TRUE(app.running()) << app.err_so_far();

    constexpr int reloads = 200;
    for (int i = 0; i < reloads; ++i) {
        write_config(i % 2 == 1 ? valid(i / 2 + 1) : invalid[(i / 2) % 4]);
        app.signal(SIGHUP);
        // One verdict per SIGHUP: wait for it before the next signal (signals
        // sent while one is pending would merge).
        bool answered = false;
        for (int t = 0; t < 1500 && !answered; ++t) {
            const std::string err = app.err_so_far();
            answered = occurrences(err, "dpdk-app: reloaded ") +
                           occurrences(err, "reload rejected") ==
                       static_cast<std::size_t>(i + 1);
            if (!answered) {
                std::this_thread::sleep_for(10ms);
            }
        }
        ASSERT_TRUE(answered) << "reload " << i << " got no verdict:\n" << app.err_so_far();
    }
    std::this_thread::sleep_for(300ms);
    app.signal(SIGTERM);
    const run_result r = app.wait(60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(occurrences(r.err, "reload rejected"), static_cast<std::size_t>(reloads / 2));
    // A bridge file changes the mode and more (each key is named).
    EXPECT_EQ(occurrences(r.err, "reload rejected: dataplane.mode, "),
              static_cast<std::size_t>(reloads / 8))
        << r.err.substr(0, 4000);
    EXPECT_EQ(occurrences(r.err, "is not inside any interface subnet"),
              static_cast<std::size_t>(reloads / 8));
    const auto end = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(end));
    EXPECT_EQ(end["config"]["generation"], 1u + reloads / 2);
    EXPECT_EQ(end["config"]["reloads"], static_cast<uint64_t>(reloads / 2));
    EXPECT_EQ(end["config"]["reload_failures"], static_cast<uint64_t>(reloads / 2));
    EXPECT_EQ(end["config"]["generations_alive"], 1u);
    EXPECT_GT(end["totals"]["forwarded"].get<uint64_t>(), 10000u);
    EXPECT_GT(end["drops"]["no_route"].get<uint64_t>(), 0u);
    EXPECT_EQ(drops_other_than(end, "no_route"), 0u) << end["drops"].dump();
    EXPECT_EQ(end["mempool"]["in_use"], 0u);
}

}  // namespace
