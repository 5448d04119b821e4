// net_tap through the kernel: two network namespaces, each holding one of the
// appliance's taps, ping each other across dpdk-app in bridge mode.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <thread>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;

namespace {

bool can_use_netns() {
    return is_root() && ::access("/dev/net/tun", R_OK | W_OK) == 0 &&
           sh("command -v ip >/dev/null && command -v ping >/dev/null") == 0;
}

TEST(Tap, KernelPingCrossesTheBridge) {
    if (!can_use_netns()) {
        GTEST_SKIP() << "needs root, /dev/net/tun, ip and ping";
    }
    const std::string id = std::to_string(::getpid());
    const std::string br = "dpa-br-" + id, a = "dpa-a-" + id, b = "dpa-b-" + id;
    netns_guard guard({br, a, b});
    temp_dir dir;
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_tap0,iface=dpa0", "--vdev=net_tap1,iface=dpa1", "--",
                             "--stats-json", dir.file("stats.json")});
    app_process app(args, dir, {"ip", "netns", "exec", br});

    // The taps come up once the ports have started.
    ASSERT_TRUE(wait_for(
        [&] {
            return sh_output("ip -n " + br + " -o link show up 2>/dev/null").find("dpa1") !=
                   std::string::npos;
        },
        20s))
        << "taps did not come up; app running: " << app.running();

    ASSERT_EQ(sh("ip -n " + br + " link set dpa0 netns " + a), 0);
    ASSERT_EQ(sh("ip -n " + br + " link set dpa1 netns " + b), 0);
    ASSERT_EQ(
        sh("ip -n " + a + " addr add 192.0.2.1/24 dev dpa0 && ip -n " + a + " link set dpa0 up"),
        0);
    ASSERT_EQ(
        sh("ip -n " + b + " addr add 192.0.2.2/24 dev dpa1 && ip -n " + b + " link set dpa1 up"),
        0);

    const std::string ping =
        sh_output("ip netns exec " + a + " ping -c 5 -i 0.2 -W 2 192.0.2.2 2>&1");
    EXPECT_NE(ping.find(" 0% packet loss"), std::string::npos) << ping;

    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    std::printf("tap run: totals %s drops %s\n", stats["totals"].dump().c_str(),
                stats["drops"].dump().c_str());
    // 5 echo requests + ARP one way, 5 replies + ARP the other.
    EXPECT_GE(stats["ports"][0]["rx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][1]["rx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][0]["tx"].get<uint64_t>(), 5u);
    EXPECT_GE(stats["ports"][1]["tx"].get<uint64_t>(), 5u) << stats.dump();
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
}

}  // namespace
