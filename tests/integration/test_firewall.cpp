// The firewall ([firewall], the classify stage) in the real binary on
// net_pcap: what comes out is exactly what the rules let through, in order,
// on one lcore and with the chain spread over lcores; the stats name every
// drop and every rule's hits; SIGHUP swaps the rules under traffic, carries
// the counters of rules that keep their id, and rejects a bad rule set.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;

namespace {

// An independent reading of a frame: its IP version (0 for neither) and
// protocol, after up to two VLAN tags.
struct l3_view {
    int version = 0;
    int proto = -1;
};

l3_view view_of(const frame& f) {
    std::size_t off = 12;
    auto type = [&] { return f.size() >= off + 2 ? (f[off] << 8 | f[off + 1]) : -1; };
    while (type() == 0x8100 || type() == 0x88a8) {
        off += 4;
    }
    const int t = type();
    off += 2;
    if (t == 0x0800 && f.size() > off + 9) {
        return {4, f[off + 9]};
    }
    if (t == 0x86dd && f.size() > off + 6) {
        return {6, f[off + 6]};  // make_frames writes no extension headers
    }
    return {};
}

// The addresses and ports of an IPv4 / IPv6 TCP or UDP frame (make_frames
// writes no IPv4 options and no IPv6 extension headers), as the text of an
// exact-match entry: "PROTO SRC SPORT DST DPORT"; "" for other frames.
std::string flow_text(const frame& f) {
    const l3_view v = view_of(f);
    if (v.version == 0 || (v.proto != 6 && v.proto != 17)) {
        return "";
    }
    std::size_t off = 14;
    while ((f[off - 2] << 8 | f[off - 1]) == 0x8100) {
        off += 4;
    }
    const bool v6 = v.version == 6;
    const std::size_t src = off + (v6 ? 8 : 12);
    const std::size_t dst = off + (v6 ? 24 : 16);
    const std::size_t l4 = off + (v6 ? 40 : 20);
    char a[INET6_ADDRSTRLEN];
    char b[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, &f[src], a, sizeof a);
    inet_ntop(v6 ? AF_INET6 : AF_INET, &f[dst], b, sizeof b);
    return std::string(v.proto == 6 ? "tcp " : "udp ") + a + " " +
           std::to_string(f[l4] << 8 | f[l4 + 1]) + " " + b + " " +
           std::to_string(f[l4 + 2] << 8 | f[l4 + 3]);
}

// Replays dir's in.pcap through dir's fw.toml: the run ends well, out.pcap
// holds exactly expect, stats is the stats file.
void replay(const temp_dir& dir, const std::string& lcores, const std::vector<frame>& expect,
            nlohmann::json& stats) {
    auto args = eal_base(lcores);
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("out.pcap"),
                             "--", "-c", dir.file("fw.toml"), "--idle-exit", "500",
                             "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_pcap(dir.file("out.pcap")), expect);
    stats = read_json(dir.file("stats.json"));
}

const char* firewall_toml = R"(
[firewall]
default = "accept"
[[firewall.rule]]
id = "udp-seen"
comment = "every UDP datagram"
action = "count"
proto = "udp"
[[firewall.rule]]
id = "no-tcp4"
action = "drop"
proto = "tcp"
src = "0.0.0.0/0"
)";

class FirewallPcap : public ::testing::TestWithParam<const char*> {};

TEST_P(FirewallPcap, LetsThroughExactlyWhatTheRulesAllow) {
    temp_dir dir;
    const auto in = make_frames(6000, 11);
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("fw.toml")) << firewall_toml;
    std::vector<frame> expect;
    uint64_t tcp4 = 0, udp = 0, tcp4_bytes = 0;
    for (const auto& f : in) {
        const l3_view v = view_of(f);
        if (v.version == 4 && v.proto == 6) {
            ++tcp4;
            tcp4_bytes += f.size();
            continue;
        }
        udp += v.version != 0 && v.proto == 17;
        expect.push_back(f);
    }
    ASSERT_GT(tcp4, 100u);
    ASSERT_GT(udp, 100u);
    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(replay(dir, GetParam(), expect, stats));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["drops"]["acl_deny"], tcp4);
    EXPECT_EQ(stats["drops"]["acl_default"], 0u);
    EXPECT_EQ(stats["totals"]["dropped"], tcp4);
    const auto& fw = stats["firewall"];
    ASSERT_EQ(fw["rules"].size(), 2u) << stats.dump();
    EXPECT_EQ(fw["rules"][0]["id"], "udp-seen");
    EXPECT_EQ(fw["rules"][0]["comment"], "every UDP datagram");
    EXPECT_EQ(fw["rules"][0]["action"], "count");
    EXPECT_EQ(fw["rules"][0]["packets"], udp);
    EXPECT_EQ(fw["rules"][1]["packets"], tcp4);
    EXPECT_EQ(fw["rules"][1]["bytes"], tcp4_bytes);
    EXPECT_EQ(fw["default"]["action"], "accept");
    bool classify_seen = false;
    for (const auto& s : stats["stages"]) {
        classify_seen = classify_seen || s["name"] == "classify";
    }
    EXPECT_TRUE(classify_seen) << stats["stages"].dump();
}

INSTANTIATE_TEST_SUITE_P(placements, FirewallPcap,
                         ::testing::Values("-l 0", "-l 0-1", "--lcores (0-3)@(0-1)"),
                         [](const auto& info) { return std::to_string(info.index); });

// [firewall.exact] in front of the rules: a flow entry accepts a frame the
// rules would drop, a src entry drops one they would accept, the rest meet
// the rules; the stats count each entry kind's hits and exact_deny.
TEST(Firewall, ExactTableDecidesBeforeTheRules) {
    temp_dir dir;
    const auto in = make_frames(4000, 23);
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream list(dir.file("exact.txt"));
    std::vector<frame> expect;
    uint64_t accepted = 0, denied = 0, by_rule = 0, by_default = 0;
    uint64_t accepted_bytes = 0, denied_bytes = 0;
    uint64_t ip = 0;
    for (const auto& f : in) {
        const std::string flow = flow_text(f);
        if (view_of(f).version == 0) {
            expect.push_back(f);  // ARP: not the firewall's
            continue;
        }
        ASSERT_FALSE(flow.empty());
        const bool tcp = flow.rfind("tcp ", 0) == 0;
        ++ip;
        if (ip % 3 == 0) {  // listed flow: passes, TCP too
            list << "accept flow " << flow << "\n";
            ++accepted;
            accepted_bytes += f.size();
            expect.push_back(f);
        } else if (ip % 5 == 0) {  // listed source: dropped, UDP too
            std::istringstream words(flow);
            std::string proto, src;
            words >> proto >> src;
            list << "drop src " << src << "  # " << flow << "\n";
            ++denied;
            denied_bytes += f.size();
        } else if (!tcp) {
            ++by_rule;
            expect.push_back(f);
        } else {
            ++by_default;
        }
    }
    list.close();
    ASSERT_GT(accepted, 100u);
    ASSERT_GT(denied, 100u);
    ASSERT_GT(by_rule, 100u);
    ASSERT_GT(by_default, 100u);
    std::ofstream(dir.file("fw.toml")) << R"(
[firewall]
default = "drop"
[firewall.exact]
file = "exact.txt"
[[firewall.rule]]
id = "udp"
action = "accept"
proto = "udp"
)";
    nlohmann::json stats;
    ASSERT_NO_FATAL_FAILURE(replay(dir, "-l 0-1", expect, stats));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["drops"]["exact_deny"], denied);
    EXPECT_EQ(stats["drops"]["acl_default"], by_default);
    const auto& ex = stats["firewall"]["exact"];
    EXPECT_EQ(ex["entries"], accepted + denied) << ex.dump();
    EXPECT_EQ(ex["accept_packets"], accepted);
    EXPECT_EQ(ex["accept_bytes"], accepted_bytes);
    EXPECT_EQ(ex["drop_packets"], denied);
    EXPECT_EQ(ex["drop_bytes"], denied_bytes);
    EXPECT_GT(ex["memory_bytes"], 0u);
    EXPECT_EQ(stats["firewall"]["rules"][0]["packets"], by_rule);
    EXPECT_EQ(stats["firewall"]["default"]["packets"], by_default);
}

// SIGHUP swaps the rule set while frames flow: a rule that keeps its id
// keeps its count, a bad rule set is rejected with its line and changes
// nothing, and nothing is dropped but by the rules.
TEST(Firewall, ReloadSwapsRulesAndCarriesCountersById) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(512, 12));
    const std::string config = dir.file("fw.toml");
    auto write_config = [&](const std::string& text) { ASSERT_TRUE(replace_file(config, text)); };
    write_config(firewall_toml);
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--", "-c", config, "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(700ms);
    ASSERT_TRUE(app.running()) << app.err_so_far();
    // Same ids, one more rule in front: the ids keep counting.
    write_config(std::string(firewall_toml) +
                 "[[firewall.rule]]\nid = \"late\"\naction = \"drop\"\nproto = \"udp\"\n");
    app.signal(SIGHUP);
    ASSERT_TRUE(wait_for([&] { return app.err_so_far().find("reloaded") != std::string::npos; },
                         10s))
        << app.err_so_far();
    std::this_thread::sleep_for(300ms);
    write_config(std::string(firewall_toml) +
                 "[[firewall.rule]]\naction = \"drop\"\nproto = \"tcp\"\ntcp_flags = \"SYN\"\n");
    app.signal(SIGHUP);
    ASSERT_TRUE(
        wait_for([&] { return app.err_so_far().find("reload rejected") != std::string::npos; }, 10s))
        << app.err_so_far();
    std::this_thread::sleep_for(300ms);
    // The counters over DPDK's telemetry socket, as dpdk-telemetry.py reads them.
    const auto prefix = std::find(args.begin(), args.end(), "--file-prefix");
    ASSERT_NE(prefix, args.end());
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    const std::string runtime =
        is_root() ? "/var/run/dpdk" : std::string(xdg != nullptr ? xdg : "/tmp") + "/dpdk";
    const std::string sock = runtime + "/" + *(prefix + 1) + "/dpdk_telemetry.v2";
    const std::string reply = sh_output(
        "/usr/bin/python3 -c \"import socket,json; s=socket.socket(socket.AF_UNIX, "
        "socket.SOCK_SEQPACKET); s.connect('" + sock + "'); s.recv(4096); "
        "s.send(b'/dpdk_app/firewall'); print(s.recv(65536).decode())\"");
    const auto tel = nlohmann::json::parse(reply, nullptr, false);
    ASSERT_FALSE(tel.is_discarded()) << reply;
    const auto& fw_tel = tel["/dpdk_app/firewall"];
    EXPECT_EQ(fw_tel["rules"], 3u) << reply;
    EXPECT_GT(fw_tel["1_packets"].get<uint64_t>(), 0u) << reply;
    EXPECT_TRUE(fw_tel.contains("3_bytes")) << reply;
    EXPECT_TRUE(fw_tel.contains("default_packets")) << reply;
    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(":17:13: firewall.rule.tcp_flags: expected \"SET/EXAMINED\""),
              std::string::npos)
        << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["config"]["reloads"], 1u);
    EXPECT_EQ(stats["config"]["reload_failures"], 1u);
    const auto& rules = stats["firewall"]["rules"];
    ASSERT_EQ(rules.size(), 3u) << stats["firewall"].dump();
    EXPECT_EQ(rules[1]["id"], "no-tcp4");
    EXPECT_EQ(rules[2]["id"], "late");
    // Only "no-tcp4" dropped TCP, in both generations: its count is every
    // acl_deny of TCP, so it carried over the reload.
    const uint64_t deny = stats["drops"]["acl_deny"];
    EXPECT_EQ(rules[1]["packets"].get<uint64_t>() + rules[2]["packets"].get<uint64_t>(), deny);
    EXPECT_GT(rules[2]["packets"].get<uint64_t>(), 0u) << "the new rule ran";
    EXPECT_GT(rules[0]["packets"].get<uint64_t>(), rules[2]["packets"].get<uint64_t>())
        << "udp-seen counted before the reload too";
    EXPECT_EQ(drops_other_than(stats, "acl_deny"), 0u) << stats["drops"].dump();
}

// reject through the real binary: a TCP SYN to a rejected port is answered
// with a RST, a UDP datagram with ICMP administratively prohibited from the
// port's address; both are counted as rejected, what is allowed passes.
TEST(Firewall, RejectAnswersWithRstOrIcmpProhibited) {
    using namespace dpdk_app::corpus;
    temp_dir dir;
    std::vector<frame> in;
    for (uint8_t i = 0; i < 10; ++i) {
        ipv4_header h;
        h.src = {198, 51, 100, static_cast<uint8_t>(10 + i)};
        h.dst = {192, 0, 2, 20};
        h.proto = proto_tcp;
        in.push_back(cat(ethernet(ether_ipv4), ipv4(h, tcp(40000, 23, 0x02))));
        h.proto = proto_udp;
        in.push_back(cat(ethernet(ether_ipv4), ipv4(h, udp(5000, 9, 12))));
        in.push_back(cat(ethernet(ether_ipv4), ipv4(h, udp(5000, 53, 12))));
    }
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("fw.toml")) << R"(
[[interface]]
port = "net_pcap0"
mac = "02:00:00:00:00:02"
addresses = ["192.0.2.1/24"]
[firewall]
default = "accept"
[[firewall.rule]]
id = "no-telnet"
action = "reject"
proto = "tcp"
dport = 23
[[firewall.rule]]
id = "no-discard"
action = "reject"
proto = "udp"
dport = 9
)";
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("out.pcap"),
                             "--", "-c", dir.file("fw.toml"), "--idle-exit", "500",
                             "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<frame> out;
    for (auto& f : read_pcap(dir.file("out.pcap"))) {
        if (!(f.size() > 13 && f[12] == 0x08 && f[13] == 0x06)) {  // not the gratuitous ARP
            out.push_back(std::move(f));
        }
    }
    ASSERT_EQ(out.size(), in.size());
    std::size_t resets = 0, prohibited = 0, dns = 0;
    for (std::size_t k = 0; k < out.size(); ++k) {
        const frame& f = out[k];
        ASSERT_GE(f.size(), 34u);
        const uint8_t proto = f[23];
        const std::size_t l4 = 14 + (f[14] & 0x0f) * 4u;
        if (proto == proto_tcp) {
            EXPECT_EQ(f[l4 + 13], 0x14) << "RST+ACK for a SYN";
            EXPECT_EQ(f[l4] << 8 | f[l4 + 1], 23);
            EXPECT_TRUE(std::equal(f.begin() + 26, f.begin() + 30, in[k].begin() + 30))
                << "from the address the SYN was for";
            ++resets;
        } else if (proto == proto_icmp) {
            EXPECT_EQ(f[l4], 3);
            EXPECT_EQ(f[l4 + 1], 13) << "administratively prohibited";
            EXPECT_EQ(f[26] << 24 | f[27] << 16 | f[28] << 8 | f[29], 0xc0000201)
                << "from the port's address";
            ++prohibited;
        } else {
            EXPECT_EQ(f, in[k]);
            ++dns;
        }
    }
    EXPECT_EQ(resets, 10u);
    EXPECT_EQ(prohibited, 10u);
    EXPECT_EQ(dns, 10u);
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["drops"]["rejected"], 20u);
    EXPECT_EQ(stats["responder"]["tcp_resets"], 10u);
    EXPECT_EQ(stats["responder"]["errors_prohibited"], 10u);
    EXPECT_EQ(stats["firewall"]["rules"][0]["packets"], 10u);
    EXPECT_EQ(stats["firewall"]["rules"][0]["action"], "reject");
}

// 100 rule reloads while frames flow on 2 lcores, valid and invalid
// alternating: every valid rule set becomes the next generation, every
// invalid one is rejected, nothing is dropped but by the rules, the one
// drop rule (its id kept, its port range changing) counted every drop
// across all generations, and one generation is left.
TEST(Firewall, HundredRuleReloadsUnderReplay) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(512, 13));
    const std::string config = dir.file("fw.toml");
    auto write_config = [&](const std::string& text) { ASSERT_TRUE(replace_file(config, text)); };
    auto valid = [](int k) {
        return "[firewall]\ndefault = \"accept\"\n[[firewall.rule]]\nid = \"udp-drop\"\n"
               "action = \"drop\"\nproto = \"udp\"\ndport = \"0-" +
               std::to_string(1000 * (k % 60) + 999) + "\"\n[[firewall.rule]]\nid = \"count-tcp\"\n"
               "action = \"count\"\nproto = \"tcp\"\n" +
               (k % 3 == 0 ? "[[firewall.rule]]\naction = \"accept\"\nproto = \"icmp\"\n" : "");
    };
    const std::string invalid[] = {
        "[firewall]\ndefault = \"maybe\"\n",
        "[firewall]\ndefault = \"drop\"\n[[firewall.rule]]\naction = \"drop\"\ndport = 5\n",
        "[firewall]\n[[firewall.rule]]\naction = \"accept\"\n",
        "[firewall\n",
    };
    write_config(valid(0));
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--", "-c", config, "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(700ms);
    ASSERT_TRUE(app.running()) << app.err_so_far();
    constexpr int reloads = 100;
    auto verdicts = [](const std::string& err) {
        return occurrences(err, "dpdk-app: reloaded ") + occurrences(err, "reload rejected");
    };
    for (int i = 0; i < reloads; ++i) {
        write_config(i % 2 == 1 ? valid(i / 2 + 1) : invalid[(i / 2) % 4]);
        app.signal(SIGHUP);
        ASSERT_TRUE(wait_for([&] { return verdicts(app.err_so_far()) == std::size_t(i + 1); }, 15s))
            << "reload " << i << " got no verdict:\n" << app.err_so_far();
    }
    std::this_thread::sleep_for(200ms);
    app.signal(SIGTERM);
    const run_result r = app.wait(60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["config"]["reloads"], static_cast<uint64_t>(reloads / 2));
    EXPECT_EQ(stats["config"]["reload_failures"], static_cast<uint64_t>(reloads / 2));
    EXPECT_EQ(stats["config"]["generations_alive"], 1u);
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
    const uint64_t deny = stats["drops"]["acl_deny"];
    EXPECT_GT(deny, 1000u);
    EXPECT_EQ(drops_other_than(stats, "acl_deny"), 0u) << stats["drops"].dump();
    const auto& rules = stats["firewall"]["rules"];
    ASSERT_GE(rules.size(), 2u);
    EXPECT_EQ(rules[0]["id"], "udp-drop");
    EXPECT_EQ(rules[0]["packets"], deny) << "its count carried over all 50 swaps";
    EXPECT_GT(rules[1]["packets"].get<uint64_t>(), 0u);
}

}  // namespace
