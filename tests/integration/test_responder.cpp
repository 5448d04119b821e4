// The responder through the kernel: dpdk-app runs on two net_tap vdevs whose
// kernel ends are moved into network namespaces A and B, and the kernel's own
// tools (ping, ping -6, arping, traceroute, a UDP socket) talk to it. Covers
// ARP / ICMP echo / NDP answering, ICMP errors (port and net unreachable, time
// exceeded, fragmentation needed / packet too big, rate limiting) and dynamic
// next-hop resolution in router mode.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------- helpers

const char* const python = "/usr/bin/python3";

// What the lab needs besides root and /dev/net/tun.
const std::vector<std::string> tools = {"ip", "ping", "arping", "traceroute", "timeout", python};

// How long one command in a host's namespace may take.
constexpr std::chrono::seconds command_limit = 25s;

// A ping run whose every echo request was answered.
::testing::AssertionResult no_loss(const shell_result& r) {
    if (r.rc == 0 && r.out.find(" 0% packet loss") != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "expected 0% packet loss; " << r;
}

::testing::AssertionResult contains(const shell_result& r, const std::string& needle) {
    if (r.out.find(needle) != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "expected \"" << needle << "\" in the output; " << r;
}

::testing::AssertionResult lacks(const shell_result& r, const std::string& needle) {
    if (r.out.find(needle) == std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "did not expect \"" << needle << "\" in the output; " << r;
}

// The address traceroute printed for hop n ("*" for no answer, "" when there
// is no such line).
std::string hop(const std::string& traceroute_out, int n) {
    std::istringstream lines(traceroute_out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string number, address;
        if (words >> number >> address && number == std::to_string(n)) {
            return address;
        }
    }
    return "";
}

// Counters the stats JSON of a responder run must hold, as {section, key}.
const std::pair<const char*, const char*> required_counters[] = {
    {"totals", "generated"},
    {"totals", "generated_sent"},
    {"totals", "generated_dropped"},
    {"drops", "ttl_exceeded"},
    {"drops", "no_route"},
    {"drops", "mtu_exceeded"},
    {"drops", "no_local_service"},
    {"drops", "fragment_for_us"},
    {"drops", "neighbor_unresolved"},
    {"responder", "arp_replies"},
    {"responder", "arp_requests"},
    {"responder", "gratuitous_arps"},
    {"responder", "echo_replies"},
    {"responder", "echo6_replies"},
    {"responder", "neighbor_advertisements"},
    {"responder", "neighbor_solicitations"},
    {"responder", "errors_time_exceeded"},
    {"responder", "errors_unreachable_net"},
    {"responder", "errors_unreachable_port"},
    {"responder", "errors_too_big"},
    {"responder", "errors_rate_limited"},
    {"responder", "neighbors_learned"},
};

// The sections of the stats JSON that failure messages show.
const std::vector<std::string> described_sections = {"totals", "responder", "mempool"};

std::string describe(const nlohmann::json& stats) {
    return describe_stats(stats, described_sections);
}

// responder.<key>, 0 when the JSON has no such counter (stop() reports the
// missing ones, once).
uint64_t responder(const nlohmann::json& stats, const std::string& key) {
    return counter(stats, "responder", key);
}

// A connected UDP socket sends one datagram to HOST PORT and waits 2 s for the
// answer; prints "refused" when an ICMP port unreachable came back.
const char* const udp_probe_py = R"(import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((host, port))
s.send(b"probe")
try:
    s.recv(100)
    print("reply")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
)";

// ---------------------------------------------------------------- configs

const char* const bridge_toml = R"([dataplane]
mode = "bridge"

[[port]]
name = "net_tap0"
[[port]]
name = "net_tap1"

[[interface]]
port = "net_tap0"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]
)";

// mtu_b: the L3 MTU of the interface on net_tap1; extra: appended verbatim.
std::string router_toml(int mtu_b = 1500, const std::string& extra = "") {
    return R"([dataplane]
mode = "router"

[[port]]
name = "net_tap0"
[[port]]
name = "net_tap1"

[[interface]]
port = "net_tap0"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]

[[interface]]
port = "net_tap1"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]
mtu = )" + std::to_string(mtu_b) +
           "\n\n" + extra;
}

// ---------------------------------------------------------------- the lab

// dpdk-app in its own namespace with net_tap0 / net_tap1; their kernel ends
// are moved into namespaces lab_.a and lab_.b and configured as hosts.
class ResponderLab : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!can_use_netns(tools)) {
            GTEST_SKIP() << netns_requirements(tools);
        }
        std::ofstream(dir_.file("udp_probe.py")) << udp_probe_py;
    }

    // Starts dpdk-app with config, waits for both taps, moves them into A and
    // B and configures the hosts there.
    void start(const std::string& config, const lab_host& in_a, const lab_host& in_b) {
        std::ofstream(dir_.file("app.toml")) << config;
        lab_.make_namespaces();
        ASSERT_NO_FATAL_FAILURE(
            lab_.start_app({"-c", dir_.file("app.toml"), "--stats-json", dir_.file("stats.json")},
                           dir_, "\nconfig:\n" + config));
        ASSERT_NO_FATAL_FAILURE(lab_.add_host(lab_.tap_a, lab_.a, in_a));
        ASSERT_NO_FATAL_FAILURE(lab_.add_host(lab_.tap_b, lab_.b, in_b));
    }

    void start_bridge() {
        // Both hosts in 192.0.2.0/24: A shares the appliance's subnet on
        // net_tap0, B is bridged to it through net_tap1.
        ASSERT_NO_FATAL_FAILURE(start(bridge_toml, {{"192.0.2.2/24", "2001:db8:1::2/64"}},
                                      {{"192.0.2.3/24", "2001:db8:1::3/64"}}));
    }

    void start_router(int mtu_b = 1500, const std::string& extra = "") {
        ASSERT_NO_FATAL_FAILURE(
            start(router_toml(mtu_b, extra),
                  {{"192.0.2.2/24", "2001:db8:1::2/64"}, {"192.0.2.1", "2001:db8:1::1"}},
                  {{"198.51.100.2/24", "2001:db8:2::2/64"}, {"198.51.100.1", "2001:db8:2::1"}}));
    }

    // SIGTERM, a clean exit, and the invariants every run must keep.
    void stop(nlohmann::json& stats) {
        ASSERT_NO_FATAL_FAILURE(lab_.stop(dir_.file("stats.json"), stats, described_sections));
        std::string missing;
        for (const auto& [section, key] : required_counters) {
            if (!has_counter(stats, section, key)) {
                missing += std::string(" ") + section + "." + key;
            }
        }
        EXPECT_TRUE(missing.empty()) << "the stats JSON lacks" << missing << "\n"
                                     << describe(stats);
    }

    shell_result in_a(const std::string& command) { return run_in(lab_.a, command, command_limit); }
    shell_result in_b(const std::string& command) { return run_in(lab_.b, command, command_limit); }
    shell_result udp_probe(const std::string& ns, const std::string& address) {
        return run_in(
            ns, std::string(python) + " " + dir_.file("udp_probe.py") + " " + address + " 33434",
            command_limit);
    }

    temp_dir dir_;
    // Declared after dir_: the app and its namespaces go first.
    tap_lab lab_{"rs"};
};

class ResponderBridge : public ResponderLab {};
class ResponderRouter : public ResponderLab {};

// ---------------------------------------------------------------- bridge mode

TEST_F(ResponderBridge, AnswersPingAndPing6) {
    ASSERT_NO_FATAL_FAILURE(start_bridge());
    const auto v4 = in_a("ping -c 5 -i 0.2 -W 2 192.0.2.1");
    EXPECT_TRUE(no_loss(v4));
    EXPECT_TRUE(contains(v4, "bytes from 192.0.2.1"));
    const auto v6 = in_a("ping -6 -c 5 -i 0.2 -W 2 2001:db8:1::1");
    EXPECT_TRUE(no_loss(v6));
    EXPECT_TRUE(contains(v6, "bytes from 2001:db8:1::1"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "echo_replies"), 5u) << describe(stats);
    EXPECT_GE(responder(stats, "echo6_replies"), 5u) << describe(stats);
    // A resolved 192.0.2.1 and 2001:db8:1::1 before its first echo request.
    EXPECT_GE(responder(stats, "arp_replies"), 1u) << describe(stats);
    EXPECT_GE(responder(stats, "neighbor_advertisements"), 1u) << describe(stats);
    // Requests are consumed; replies are generated, not forwarded.
    EXPECT_GE(counter(stats, "totals", "consumed"), 10u) << describe(stats);
    EXPECT_GE(counter(stats, "totals", "generated_sent"), 12u) << describe(stats);
}

TEST_F(ResponderBridge, AnswersArping) {
    ASSERT_NO_FATAL_FAILURE(start_bridge());
    const auto r = in_a("arping -c 3 -w 6 -I " + lab_.tap_a + " 192.0.2.1");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_TRUE(contains(r, "Received 3 response"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "arp_replies"), 3u) << describe(stats);
}

TEST_F(ResponderBridge, AnswersFullSizeEchoWithDontFragment) {
    ASSERT_NO_FATAL_FAILURE(start_bridge());
    // 1472 + 8 + 20 = 1500 and 1452 + 8 + 40 = 1500: exactly the MTU.
    const auto v4 = in_a("ping -s 1472 -M do -c 3 -i 0.2 -W 2 192.0.2.1");
    EXPECT_TRUE(no_loss(v4));
    EXPECT_TRUE(contains(v4, "1480 bytes from 192.0.2.1"));
    const auto v6 = in_a("ping -6 -s 1452 -M do -c 3 -i 0.2 -W 2 2001:db8:1::1");
    EXPECT_TRUE(no_loss(v6));
    EXPECT_TRUE(contains(v6, "1460 bytes from 2001:db8:1::1"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "echo_replies"), 3u) << describe(stats);
    EXPECT_GE(responder(stats, "echo6_replies"), 3u) << describe(stats);
}

TEST_F(ResponderBridge, HostsOnBothTapsStillReachEachOther) {
    ASSERT_NO_FATAL_FAILURE(start_bridge());
    EXPECT_TRUE(no_loss(in_a("ping -c 5 -i 0.2 -W 2 192.0.2.3")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 5 -i 0.2 -W 2 2001:db8:1::3")));
    EXPECT_TRUE(no_loss(in_b("ping -c 2 -i 0.2 -W 2 192.0.2.2")));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    // 12 echo requests and 12 replies crossed, plus ARP and NDP.
    EXPECT_GE(counter(stats, "totals", "forwarded"), 24u) << describe(stats);
    // B's addresses are not the appliance's: it must neither answer for B
    // nor swallow what is meant for B.
    EXPECT_EQ(responder(stats, "echo_replies"), 0u) << describe(stats);
    EXPECT_EQ(responder(stats, "echo6_replies"), 0u) << describe(stats);
    EXPECT_EQ(responder(stats, "arp_replies"), 0u) << describe(stats);
}

TEST_F(ResponderBridge, UdpToTheApplianceIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start_bridge());
    const auto v4 = udp_probe(lab_.a, "192.0.2.1");
    EXPECT_TRUE(contains(v4, "refused"));
    const auto v6 = udp_probe(lab_.a, "2001:db8:1::1");
    EXPECT_TRUE(contains(v6, "refused"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_unreachable_port"), 2u) << describe(stats);
    EXPECT_GE(drops(stats, "no_local_service"), 2u) << describe(stats);
}

// ---------------------------------------------------------------- router mode

TEST_F(ResponderRouter, ResolvesNextHopsAndForwardsPings) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    // No [[neighbor]] entries: the appliance resolves B itself and holds the
    // first echo request meanwhile, so even that one gets its reply.
    EXPECT_TRUE(no_loss(in_a("ping -c 5 -i 0.2 -W 2 198.51.100.2")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 5 -i 0.2 -W 2 2001:db8:2::2")));
    // The far interface's addresses are the appliance's own too.
    EXPECT_TRUE(no_loss(in_a("ping -c 2 -i 0.2 -W 2 198.51.100.1")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 2 -i 0.2 -W 2 2001:db8:2::1")));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(counter(stats, "totals", "forwarded"), 20u) << describe(stats);
    EXPECT_GE(responder(stats, "neighbors_learned"), 2u) << describe(stats);  // B's v4 and v6
    // A asked for its gateway and the appliance asked for B (B learns the
    // appliance from that request, so it need not ask itself).
    EXPECT_GE(responder(stats, "arp_replies"), 1u) << describe(stats);
    EXPECT_GE(responder(stats, "neighbor_advertisements"), 1u) << describe(stats);
    EXPECT_GE(responder(stats, "arp_requests"), 1u) << describe(stats);
    EXPECT_GE(responder(stats, "neighbor_solicitations"), 1u) << describe(stats);
    EXPECT_GE(responder(stats, "echo_replies"), 2u) << describe(stats);
    EXPECT_GE(responder(stats, "echo6_replies"), 2u) << describe(stats);
    EXPECT_EQ(drops(stats, "neighbor_unresolved"), 0u) << describe(stats);
}

TEST_F(ResponderRouter, TracerouteShowsTheApplianceAsFirstHop) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    // Resolve B first, so that this test is about the hops only.
    EXPECT_TRUE(no_loss(in_a("ping -c 1 -W 2 198.51.100.2")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 1 -W 2 2001:db8:2::2")));

    const auto v4 = in_a("traceroute -n -q 1 -w 2 -m 3 198.51.100.2");
    EXPECT_EQ(v4.rc, 0) << v4;
    EXPECT_EQ(hop(v4.out, 1), "192.0.2.1") << v4;
    EXPECT_EQ(hop(v4.out, 2), "198.51.100.2") << v4;
    const auto v6 = in_a("traceroute -6 -n -q 1 -w 2 -m 3 2001:db8:2::2");
    EXPECT_EQ(v6.rc, 0) << v6;
    EXPECT_EQ(hop(v6.out, 1), "2001:db8:1::1") << v6;
    EXPECT_EQ(hop(v6.out, 2), "2001:db8:2::2") << v6;

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_time_exceeded"), 2u) << describe(stats);
    EXPECT_GE(drops(stats, "ttl_exceeded"), 2u) << describe(stats);
}

TEST_F(ResponderRouter, ForwardsFragmentsOfLargePings) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    EXPECT_TRUE(no_loss(in_a("ping -c 1 -W 2 198.51.100.2")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 1 -W 2 2001:db8:2::2")));

    // 8008 bytes of ICMP: A fragments into 6 packets, B reassembles and
    // replies in 6 fragments; the appliance forwards fragments as they are.
    const auto v4 = in_a("ping -M dont -s 8000 -c 3 -i 0.2 -W 2 198.51.100.2");
    EXPECT_TRUE(no_loss(v4));
    EXPECT_TRUE(contains(v4, "8008 bytes from 198.51.100.2"));
    const auto v6 = in_a("ping -6 -M dont -s 8000 -c 3 -i 0.2 -W 2 2001:db8:2::2");
    EXPECT_TRUE(no_loss(v6));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(counter(stats, "totals", "forwarded"), 2u * 2 * 3 * 6) << describe(stats);
    EXPECT_EQ(drops(stats, "fragment_for_us"), 0u) << describe(stats);
}

TEST_F(ResponderRouter, ReportsTheEgressMtuToTheSender) {
    ASSERT_NO_FATAL_FAILURE(start_router(1400));
    EXPECT_TRUE(no_loss(in_a("ping -c 1 -W 2 198.51.100.2")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -c 1 -W 2 2001:db8:2::2")));

    // Exactly 1400 bytes fit.
    EXPECT_TRUE(no_loss(in_a("ping -M do -s 1372 -c 2 -i 0.2 -W 2 198.51.100.2")));
    EXPECT_TRUE(no_loss(in_a("ping -6 -M do -s 1352 -c 2 -i 0.2 -W 2 2001:db8:2::2")));

    // 1500 bytes with DF: "Frag needed and DF set (mtu = 1400)" from the
    // appliance, then the kernel's own "message too long, mtu=1400".
    const auto v4 = in_a("ping -M do -s 1472 -c 2 -i 0.2 -W 2 198.51.100.2");
    EXPECT_NE(v4.rc, 0) << v4;
    EXPECT_TRUE(contains(v4, "1400"));
    EXPECT_TRUE(lacks(v4, " 0% packet loss"));
    // IPv6: "Packet too big: mtu=1400".
    const auto v6 = in_a("ping -6 -M do -s 1452 -c 2 -i 0.2 -W 2 2001:db8:2::2");
    EXPECT_NE(v6.rc, 0) << v6;
    EXPECT_TRUE(contains(v6, "1400"));
    EXPECT_TRUE(lacks(v6, " 0% packet loss"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_too_big"), 2u) << describe(stats);
    EXPECT_GE(drops(stats, "mtu_exceeded"), 2u) << describe(stats);
}

TEST_F(ResponderRouter, TtlOneGetsTimeExceeded) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    const auto v4 = in_a("ping -t 1 -c 2 -i 0.2 -W 2 198.51.100.2");
    EXPECT_TRUE(contains(v4, "From 192.0.2.1 icmp_seq=1 Time to live exceeded"));
    const auto v6 = in_a("ping -6 -t 1 -c 2 -i 0.2 -W 2 2001:db8:2::2");
    EXPECT_TRUE(contains(v6, "From 2001:db8:1::1 icmp_seq=1 Time exceeded"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_time_exceeded"), 4u) << describe(stats);
    EXPECT_GE(drops(stats, "ttl_exceeded"), 4u) << describe(stats);
}

TEST_F(ResponderRouter, NoRouteGetsNetUnreachable) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    const auto v4 = in_a("ping -c 2 -i 0.2 -W 2 203.0.113.5");
    EXPECT_TRUE(contains(v4, "From 192.0.2.1 icmp_seq=1 Destination Net Unreachable"));
    const auto v6 = in_a("ping -6 -c 2 -i 0.2 -W 2 2001:db8:99::5");
    EXPECT_TRUE(contains(v6, "From 2001:db8:1::1 icmp_seq=1 Destination unreachable: No route"));

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_unreachable_net"), 4u) << describe(stats);
    EXPECT_GE(drops(stats, "no_route"), 4u) << describe(stats);
}

TEST_F(ResponderRouter, UdpToTheApplianceIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start_router());
    for (const char* address : {"192.0.2.1", "2001:db8:1::1", "198.51.100.1", "2001:db8:2::1"}) {
        const auto r = udp_probe(lab_.a, address);
        EXPECT_TRUE(contains(r, "refused")) << "UDP to " << address;
    }

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(responder(stats, "errors_unreachable_port"), 4u) << describe(stats);
    EXPECT_GE(drops(stats, "no_local_service"), 4u) << describe(stats);
}

TEST_F(ResponderRouter, RateLimitsIcmpErrorsPerSource) {
    ASSERT_NO_FATAL_FAILURE(start_router(1500, R"([responder]
error_rate = 1000
error_burst = 100
error_rate_per_source = 1
error_burst_per_source = 5
)"));
    // 30 TTL-1 pings in 0.3 s from A: a burst of 5, then about 1 per second.
    const auto a = in_a("ping -t 1 -c 30 -i 0.01 -W 1 198.51.100.2");
    const std::size_t answered = occurrences(a.out, "Time to live exceeded");
    EXPECT_GE(answered, 1u) << a;
    EXPECT_LE(answered, 8u) << a;
    // Another source has a bucket of its own.
    const auto b = in_b("ping -t 1 -c 3 -i 0.2 -W 2 192.0.2.2");
    EXPECT_EQ(occurrences(b.out, "From 198.51.100.1 icmp_seq="), 3u) << b;

    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(stop(stats));
    EXPECT_GE(drops(stats, "ttl_exceeded"), 33u) << describe(stats);
    EXPECT_LE(responder(stats, "errors_time_exceeded"), 8u + 3u) << describe(stats);
    EXPECT_GE(responder(stats, "errors_rate_limited"), 30u - 8u) << describe(stats);
    EXPECT_GE(responder(stats, "errors_time_exceeded") + responder(stats, "errors_rate_limited"),
              33u)
        << describe(stats);
}

}  // namespace
