// net_tap through the kernel: two network namespaces, each holding one of the
// appliance's taps, ping each other across dpdk-app in bridge mode.
#include <gtest/gtest.h>

#include <string>
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

}  // namespace
