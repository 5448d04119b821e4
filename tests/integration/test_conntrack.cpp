// The stateful firewall ([firewall] rules with `state`) through the kernel:
// dpdk-app routes between namespace A (192.0.2.0/24, 2001:db8:a::/64) and
// namespace B (198.51.100.0/24, 2001:db8:b::/64) on two net_tap vdevs, and
// lets new connections in from A only. The kernel's ping and socat show that
// A reaches B and gets its answers (established), that nothing B starts
// reaches A, and the stats say which rule let each through and why the rest
// was dropped.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;

namespace {

// What the lab needs besides root and /dev/net/tun.
const std::vector<std::string> tools = {"ip", "ping", "socat", "ss", "sysctl", "timeout"};

// How long one command in a host's namespace may take.
constexpr std::chrono::seconds command_limit = 15s;

::testing::AssertionResult ping_loss(const shell_result& r, const std::string& loss) {
    if (r.out.find(" " + loss + " packet loss") != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "expected " << loss << " packet loss; " << r;
}

// A command started in the background inside a namespace (a socat listener);
// stdout and stderr go to log. Ended by its pid (SIGTERM, then SIGKILL) when
// it is destroyed, unless it exited by itself.
class background_command {
  public:
    background_command(const std::string& ns, const std::vector<std::string>& command,
                       std::string log)
        : log_(std::move(log)) {
        // `ip netns exec` execs the command: the pid is the command's.
        std::vector<std::string> argv = {"ip", "netns", "exec", ns};
        argv.insert(argv.end(), command.begin(), command.end());
        pid_ = spawn(argv, log_, "");
    }
    ~background_command() { stop(); }
    background_command(const background_command&) = delete;
    background_command& operator=(const background_command&) = delete;

    bool started() const { return pid_ > 0; }

    bool running() {
        if (pid_ <= 0) {
            return false;
        }
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

    void stop() {
        if (!running()) {
            return;
        }
        ::kill(pid_, SIGTERM);
        if (!wait_for([&] { return !running(); }, 2s)) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    std::string log() const {
        std::ifstream in(log_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

  private:
    pid_t pid_ = -1;
    std::string log_;
};

// ---------------------------------------------------------------- stats

const nlohmann::json* rule_by_id(const nlohmann::json& stats, const std::string& id) {
    const auto fw = stats.find("firewall");
    if (fw == stats.end() || !fw->contains("rules")) {
        return nullptr;
    }
    for (const auto& r : (*fw)["rules"]) {
        if (r.value("id", "") == id) {
            return &r;
        }
    }
    return nullptr;
}

// firewall.rules[id == id].packets, 0 when there is no such rule.
uint64_t rule_packets(const nlohmann::json& stats, const std::string& id) {
    const nlohmann::json* r = rule_by_id(stats, id);
    return r != nullptr ? r->value("packets", uint64_t{0}) : 0;
}

uint64_t default_packets(const nlohmann::json& stats) {
    const auto fw = stats.find("firewall");
    if (fw == stats.end() || !fw->contains("default")) {
        return 0;
    }
    return (*fw)["default"].value("packets", uint64_t{0});
}

// The drop reasons that grew from before to after, other than the
// firewall's own verdicts (acl_default, conntrack_invalid) and
// not_for_us_multicast (the hosts' own IPv6 chatter, MLD reports and router
// solicitations, that the firewall lets through from A), as " reason: n".
std::string unexpected_drops(const nlohmann::json& before, const nlohmann::json& after) {
    std::string s;
    for (const auto& [reason, n] : after.at("drops").items()) {
        const uint64_t grew = n.get<uint64_t>() - drops(before, reason);
        if (grew != 0 && reason != "acl_default" && reason != "conntrack_invalid" &&
            reason != "not_for_us_multicast") {
            s += " " + reason + ": " + std::to_string(grew);
        }
    }
    return s;
}

// The sections of the stats JSON that failure messages show.
const std::vector<std::string> described_sections = {"totals", "firewall", "conntrack", "mempool"};

std::string describe(const nlohmann::json& stats) {
    return describe_stats(stats, described_sections);
}

// ---------------------------------------------------------------- config

// New connections from A (net_tap0) only; their answers come back as
// established. NDP is ICMPv6 that connection tracking leaves untracked: it
// needs rules of its own, or A and B could not resolve their gateways.
const char* const conntrack_toml = R"([dataplane]
mode = "router"

[[port]]
name = "net_tap0"
[[port]]
name = "net_tap1"

[[interface]]
port = "net_tap0"
addresses = ["192.0.2.1/24", "2001:db8:a::1/64"]

[[interface]]
port = "net_tap1"
addresses = ["198.51.100.1/24", "2001:db8:b::1/64"]

[firewall]
default = "drop"

[[firewall.rule]]
id = "established"
state = ["established", "related"]
action = "accept"

[[firewall.rule]]
id = "new-from-a"
state = ["new"]
in_port = "net_tap0"
action = "accept"

[[firewall.rule]]
id = "ndp-solicit"
proto = "icmpv6"
icmp_type = 135
action = "accept"

[[firewall.rule]]
id = "ndp-advert"
proto = "icmpv6"
icmp_type = 136
action = "accept"
)";

struct family {
    const char* name;  // the test's name: "ipv4" or "ipv6"
    bool v6;
    std::string a, b;                // the hosts' addresses
    std::string a_prefix, b_prefix;  // the same with their prefix length
    std::string gw_a, gw_b;          // the appliance's addresses facing A and B
    const char* ping;                // "ping" or "ping -6"
    const char* listen;              // socat's listening address type
    const char* connect;             // socat's connecting address type
    std::string bracket(const std::string& addr) const { return v6 ? "[" + addr + "]" : addr; }
};

// What a failing test prints for its parameter.
void PrintTo(const family& f, std::ostream* os) {
    *os << f.name;
}

const family ipv4 = {.name = "ipv4",
                     .v6 = false,
                     .a = "192.0.2.2",
                     .b = "198.51.100.2",
                     .a_prefix = "192.0.2.2/24",
                     .b_prefix = "198.51.100.2/24",
                     .gw_a = "192.0.2.1",
                     .gw_b = "198.51.100.1",
                     .ping = "ping",
                     .listen = "TCP4-LISTEN",
                     .connect = "TCP4"};
const family ipv6 = {.name = "ipv6",
                     .v6 = true,
                     .a = "2001:db8:a::2",
                     .b = "2001:db8:b::2",
                     .a_prefix = "2001:db8:a::2/64",
                     .b_prefix = "2001:db8:b::2/64",
                     .gw_a = "2001:db8:a::1",
                     .gw_b = "2001:db8:b::1",
                     .ping = "ping -6",
                     .listen = "TCP6-LISTEN",
                     .connect = "TCP6"};

constexpr int tcp_port = 5001;

// ---------------------------------------------------------------- the lab

// One run of the lab per address family (GetParam()).
class ConntrackRouter : public ::testing::TestWithParam<family> {
  protected:
    void SetUp() override {
        if (!can_use_netns(tools)) {
            GTEST_SKIP() << netns_requirements(tools);
        }
    }

    // Starts dpdk-app, moves its taps into A and B and makes them hosts of
    // family f with default routes via the appliance. The other family is
    // off on the hosts (IPv6: no kernel chatter to blur the counts).
    void start(const family& f) {
        std::ofstream(dir_.file("app.toml")) << conntrack_toml;
        lab_.make_namespaces();
        // The taps come up in the app's namespace first: without IPv6 there,
        // their kernel ends send no MLD reports before they are moved.
        ASSERT_EQ(sh("ip netns exec " + lab_.app_ns +
                     " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                     "net.ipv6.conf.default.disable_ipv6=1"),
                  0);
        ASSERT_NO_FATAL_FAILURE(lab_.start_app(
            {"-q", "-c", dir_.file("app.toml"), "--stats-json", dir_.file("stats.json")}, dir_));
        ASSERT_NO_FATAL_FAILURE(
            lab_.add_host(lab_.tap_a, lab_.a, host(lab_.tap_a, f, f.a_prefix, f.gw_a)));
        ASSERT_NO_FATAL_FAILURE(
            lab_.add_host(lab_.tap_b, lab_.b, host(lab_.tap_b, f, f.b_prefix, f.gw_b)));
    }

    // The stats as they are now (SIGUSR1), null when none came.
    nlohmann::json snapshot() { return stats_snapshot(lab_.app(), dir_.file("stats.json")); }

    // SIGTERM, a clean exit, and the invariants every run keeps.
    void stop(nlohmann::json& stats) {
        ASSERT_NO_FATAL_FAILURE(lab_.stop(dir_.file("stats.json"), stats, described_sections));
    }

    // A socat echo server (one connection) in ns on addr, listening once
    // this returns.
    std::unique_ptr<background_command> listen(const std::string& ns, const family& f,
                                               const std::string& addr, const std::string& log) {
        auto l = std::make_unique<background_command>(
            ns,
            std::vector<std::string>{"timeout", "20", "socat", "-d", "-d",
                                     std::string(f.listen) + ":" + std::to_string(tcp_port) +
                                         ",bind=" + f.bracket(addr) + ",reuseaddr",
                                     "PIPE"},
            dir_.file(log));
        EXPECT_TRUE(l->started()) << "cannot start socat in " << ns;
        const bool listening = wait_for(
            [&] {
                return !l->running() || sh_output("ip netns exec " + ns +
                                                  " ss -Hltn sport = :" + std::to_string(tcp_port))
                                                .find("LISTEN") != std::string::npos;
            },
            5s);
        EXPECT_TRUE(listening && l->running()) << "socat did not listen in " << ns << ":\n"
                                               << l->log();
        return l;
    }

    // From ns, connects to `to` (2 s at most), sends line and prints what
    // comes back.
    shell_result connect_and_send(const std::string& ns, const family& f, const std::string& to,
                                  const std::string& line) {
        return run_in(ns,
                      "echo " + line + " | socat -t 3 -T 5 - " + f.connect + ":" + f.bracket(to) +
                          ":" + std::to_string(tcp_port) + ",connect-timeout=2",
                      command_limit);
    }

    // The whole scenario for one family: A's ping and TCP pass, B's do not,
    // and the counters say why. Counts are taken from a baseline after the
    // hosts are up, past the appliance's start-up (gratuitous ARPs sent
    // while the taps move between namespaces).
    void exercise(const family& f) {
        ASSERT_NO_FATAL_FAILURE(start(f));
        const nlohmann::json base = snapshot();
        ASSERT_FALSE(base.is_null()) << "no stats after SIGUSR1";

        {
            SCOPED_TRACE("A starts: ping and a TCP echo to B pass");
            EXPECT_TRUE(ping_loss(
                run_in(lab_.a, std::string(f.ping) + " -c 3 -i 0.2 -W 2 " + f.b, command_limit),
                "0%"));
            auto echo = listen(lab_.b, f, f.b, "listener-b.log");
            const shell_result r = connect_and_send(lab_.a, f, f.b, "hello-from-a");
            EXPECT_EQ(r.rc, 0) << r;
            EXPECT_NE(r.out.find("hello-from-a"), std::string::npos)
                << "A's line did not come back from B; " << r << "\nlistener in B:\n"
                << echo->log();
            EXPECT_TRUE(wait_for([&] { return !echo->running(); }, 3s))
                << "B's echo server did not see the connection close:\n"
                << echo->log();
        }
        const nlohmann::json after_a = snapshot();
        ASSERT_FALSE(after_a.is_null()) << "no stats after SIGUSR1";
        {
            SCOPED_TRACE("the counters of A's traffic");
            // The first echo request and the SYN are new; the rest of both
            // flows, both ways, is established (3 echo replies at least).
            EXPECT_GE(rule_packets(after_a, "new-from-a") - rule_packets(base, "new-from-a"), 2u)
                << describe(after_a);
            EXPECT_GE(rule_packets(after_a, "established") - rule_packets(base, "established"), 3u)
                << describe(after_a);
            if (!f.v6) {
                // Only IPv4 on the hosts: nothing but the test's traffic
                // crossed, and none of it was dropped anywhere.
                EXPECT_EQ(after_a["totals"]["dropped"].get<uint64_t>(),
                          base["totals"]["dropped"].get<uint64_t>())
                    << describe(after_a);
            } else {
                // A resolved its gateway and B answered the appliance's
                // solicitation: NDP is untracked, the state rules leave it to
                // the NDP rules.
                EXPECT_GT(rule_packets(after_a, "ndp-solicit") - rule_packets(base, "ndp-solicit"),
                          0u)
                    << describe(after_a);
                EXPECT_GT(rule_packets(after_a, "ndp-advert") - rule_packets(base, "ndp-advert"),
                          0u)
                    << describe(after_a);
            }
            EXPECT_EQ(unexpected_drops(base, after_a), "") << describe(after_a);
        }

        {
            SCOPED_TRACE("B starts: ping and TCP to A are dropped");
            EXPECT_TRUE(ping_loss(
                run_in(lab_.b, std::string(f.ping) + " -c 3 -i 0.2 -W 1 " + f.a, command_limit),
                "100%"));
            auto sink = listen(lab_.a, f, f.a, "listener-a.log");
            const shell_result r = connect_and_send(lab_.b, f, f.a, "hello-from-b");
            EXPECT_NE(r.rc, 0) << "B's TCP connect to A went through; " << r;
            EXPECT_EQ(r.out.find("hello-from-b"), std::string::npos) << r;
            EXPECT_TRUE(sink->running()) << "A's listener accepted something:\n" << sink->log();
            EXPECT_EQ(sink->log().find("accepting connection"), std::string::npos) << sink->log();
        }

        nlohmann::json stats;
        ASSERT_NO_FATAL_FAILURE(stop(stats));
        SCOPED_TRACE("the counters of B's attempts");
        // 3 echo requests and at least one SYN from B met the default policy.
        EXPECT_GE(default_packets(stats) - default_packets(after_a), 4u) << describe(stats);
        EXPECT_GE(drops(stats, "acl_default") - drops(after_a, "acl_default"), 4u)
            << describe(stats);
        EXPECT_EQ(default_packets(stats), drops(stats, "acl_default")) << describe(stats);
        // B's attempts are new from B: no accept rule may have taken them.
        // (With IPv6 A's MLD reports may still arrive as new from A.)
        if (!f.v6) {
            EXPECT_EQ(rule_packets(stats, "new-from-a"), rule_packets(after_a, "new-from-a"))
                << describe(stats);
        }
        EXPECT_EQ(rule_packets(stats, "established"), rule_packets(after_a, "established"))
            << describe(stats);
        EXPECT_EQ(unexpected_drops(after_a, stats), "") << describe(stats);
    }

    temp_dir dir_;
    // Declared after dir_: the app and its namespaces go first.
    tap_lab lab_{"ct"};

  private:
    // A host of family f on tap: only f's addresses (IPv6 off, or on without
    // router solicitations), a default route via the appliance.
    static lab_host host(const std::string& tap, const family& f, const std::string& prefix,
                         const std::string& gw) {
        return {{prefix},
                {gw},
                "net.ipv6.conf." + tap + ".router_solicitations=0 net.ipv6.conf." + tap +
                    ".disable_ipv6=" + (f.v6 ? "0" : "1")};
    }
};

TEST_P(ConntrackRouter, OnlyAStartsConnections) {
    exercise(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Families, ConntrackRouter, ::testing::Values(ipv4, ipv6),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
