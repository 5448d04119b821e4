// net_tap through the kernel: two network namespaces, each holding one of the
// appliance's taps, ping each other across dpdk-app in bridge mode.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;

namespace {

TEST(Tap, KernelPingCrossesTheBridge) {
    const std::vector<std::string> tools = {"ip", "ping"};
    if (!can_use_netns(tools)) {
        GTEST_SKIP() << netns_requirements(tools);
    }
    temp_dir dir;
    // Declared after dir: the app and its namespaces go first.
    tap_lab lab("tp");
    lab.make_namespaces();
    ASSERT_NO_FATAL_FAILURE(lab.start_app({"--stats-json", dir.file("stats.json")}, dir));
    ASSERT_NO_FATAL_FAILURE(lab.add_host(lab.tap_a, lab.a, {{"192.0.2.1/24"}}));
    ASSERT_NO_FATAL_FAILURE(lab.add_host(lab.tap_b, lab.b, {{"192.0.2.2/24"}}));

    const std::string ping =
        sh_output("ip netns exec " + lab.a + " ping -c 5 -i 0.2 -W 2 192.0.2.2 2>&1");
    EXPECT_NE(ping.find(" 0% packet loss"), std::string::npos) << ping;

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(
        lab.stop(dir.file("stats.json"), stats, {"totals", "ports", "mempool"}));
    // 5 echo requests + ARP one way, 5 replies + ARP the other.
    EXPECT_GE(stats["ports"][0]["rx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][1]["rx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][0]["tx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][1]["tx"].get<uint64_t>(), 5u) << stats.dump();
}

// The namespace holding one tap is deleted while pings flow through it (its
// tap goes with it): the run goes on, stops cleanly on SIGTERM, and every
// packet it took is accounted for, the mempool full again (lab.stop).
TEST(Tap, ANamespaceDeletedUnderTrafficLeavesTheRunWhole) {
    const std::vector<std::string> tools = {"ip", "ping"};
    if (!can_use_netns(tools)) {
        GTEST_SKIP() << netns_requirements(tools);
    }
    temp_dir dir;
    tap_lab lab("tq");
    lab.make_namespaces();
    ASSERT_NO_FATAL_FAILURE(lab.start_app({"--stats-json", dir.file("stats.json")}, dir));
    ASSERT_NO_FATAL_FAILURE(lab.add_host(lab.tap_a, lab.a, {{"192.0.2.1/24"}}));
    ASSERT_NO_FATAL_FAILURE(lab.add_host(lab.tap_b, lab.b, {{"192.0.2.2/24"}}));
    const std::string first =
        sh_output("ip netns exec " + lab.a + " ping -c 3 -i 0.2 -W 2 192.0.2.2 2>&1");
    ASSERT_NE(first.find(" 0% packet loss"), std::string::npos) << first;
    // Pings keep coming from A while B's namespace, and its tap, go away.
    sh("ip netns exec " + lab.a + " ping -c 200 -i 0.01 -W 1 192.0.2.2 >/dev/null 2>&1 &");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(sh("ip netns del " + lab.b), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_TRUE(lab.app().running()) << lab.app().err_so_far();
    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(lab.stop(dir.file("stats.json"), stats, {"totals", "ports", "drops"}));
    EXPECT_GE(stats["ports"][0]["rx"].get<uint64_t>(), 50u) << "A's pings after the deletion";
    EXPECT_GT(stats["drops"]["tx_full"].get<uint64_t>(), 0u) << "what went to the gone tap";
    EXPECT_EQ(drops_other_than(stats, "tx_full"), 0u) << stats["drops"].dump();
}

}  // namespace
