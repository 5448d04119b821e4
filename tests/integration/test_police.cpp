// The police stage through the real binary: a capture replayed endlessly
// (net_pcap infinite_rx, as fast as the lane goes) for --duration seconds
// through a port policer, and through a firewall rule's policer. What the
// policer passes (its green packets) must be its burst plus its rate times
// the run, within the tolerance stated below; every red packet is a
// policer_drop, nothing else is dropped, and conservation holds.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
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

// A per-source policer's top talkers, through telemetry while the lane
// runs and in the stats file at exit: three sources sending 60 %, 30 % and
// 10 % of an endless capture, each held to its rate; the two listed
// (top_sources = 2) are the two that had most packets dropped, in that
// order, each with what it sent and what it passed.
TEST(Police, PerSourceTopTalkersInTelemetryAndTheStats) {
    using namespace dpdk_app::corpus;
    using namespace std::chrono_literals;
    temp_dir dir;
    std::vector<frame> in;
    for (int i = 0; i < 100; ++i) {
        ipv4_header h;
        h.src = {192, 0, 2, static_cast<uint8_t>(i % 10 < 6 ? 1 : i % 10 < 9 ? 2 : 3)};
        h.dst = {198, 51, 100, 7};
        h.proto = proto_udp;
        in.push_back(cat(ethernet(ether_ipv4), ipv4(h, udp(5000, 53, 18))));
    }
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("police.toml")) << R"(
[[port]]
name = "net_pcap0"
police = "each"
[[policer]]
name = "each"
kind = "srtcm"
cir = "2000pps"
cbs = "200packets"
scope = "per-source"
max_keys = 16
top_sources = 2
)";
    auto args = eal_base("-l 0-1");
    args.insert(args.end(),
                {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1", "--", "-c",
                 dir.file("police.toml"), "--stats-json", dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(app.running()) << app.err_so_far();
    const auto prefix = std::find(args.begin(), args.end(), "--file-prefix");
    ASSERT_NE(prefix, args.end());
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    const std::string runtime =
        is_root() ? "/var/run/dpdk" : std::string(xdg != nullptr ? xdg : "/tmp") + "/dpdk";
    const std::string sock = runtime + "/" + *(prefix + 1) + "/dpdk_telemetry.v2";
    const std::string reply = sh_output(
        "/usr/bin/python3 -c \"import socket,json; s=socket.socket(socket.AF_UNIX, "
        "socket.SOCK_SEQPACKET); s.connect('" +
        sock +
        "'); s.recv(4096); "
        "s.send(b'/dpdk_app/policers'); print(s.recv(65536).decode())\"");
    const auto tel = nlohmann::json::parse(reply, nullptr, false);
    ASSERT_FALSE(tel.is_discarded()) << reply;
    const auto& pol = tel["/dpdk_app/policers"];
    EXPECT_EQ(pol["policers"], 1u) << reply;
    EXPECT_EQ(pol["next"], 0u) << reply;
    ASSERT_TRUE(pol["1_top_sources"].is_array()) << reply;
    ASSERT_EQ(pol["1_top_sources"].size(), 2u) << reply;
    EXPECT_EQ(pol["1_top_sources"][0].get<std::string>().rfind("192.0.2.1 dropped ", 0), 0u)
        << reply;
    EXPECT_EQ(pol["1_top_sources"][1].get<std::string>().rfind("192.0.2.2 dropped ", 0), 0u)
        << reply;
    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats)) << describe_stats(stats, {"totals"});
    EXPECT_EQ(drops_other_than(stats, "policer_drop"), 0u) << describe_stats(stats, {"totals"});
    const auto& p = stats["policers"][0];
    EXPECT_EQ(p["sources_created"], 3u) << p.dump();
    const auto& top = p["top_sources"];
    ASSERT_EQ(top.size(), 2u) << p.dump();
    EXPECT_EQ(top[0]["source"], "192.0.2.1") << p.dump();
    EXPECT_EQ(top[1]["source"], "192.0.2.2") << p.dump();
    EXPECT_GT(top[0]["dropped"].get<uint64_t>(), top[1]["dropped"].get<uint64_t>()) << p.dump();
    EXPECT_GT(top[1]["dropped"].get<uint64_t>(), 0u) << p.dump();
    // Each held to 2,000 pps: what a source passed is its burst plus its
    // rate over the run (the list is as of the lane's last pass, a few
    // bursts before the end: within the tolerance of expect_rate).
    const double seconds = stats["seconds"].get<double>();
    for (const auto& t : top) {
        const double passed =
            static_cast<double>(t["packets"].get<uint64_t>() - t["dropped"].get<uint64_t>());
        EXPECT_LE(passed, (200 + 2000 * seconds) * 1.01) << t.dump() << " seconds " << seconds;
        EXPECT_GE(passed, 200 + 2000 * (seconds - 0.5)) << t.dump() << " seconds " << seconds;
        EXPECT_EQ(t["bytes"].get<uint64_t>(), 60 * t["packets"].get<uint64_t>()) << t.dump();
    }
    // What the two listed sent is most of what the policer metered.
    uint64_t metered_all = 0;
    for (const char* color : {"green", "yellow", "red"}) {
        metered_all += p[color]["packets"].get<uint64_t>();
    }
    const uint64_t listed = top[0]["packets"].get<uint64_t>() + top[1]["packets"].get<uint64_t>();
    EXPECT_LE(listed, metered_all);
    EXPECT_GE(static_cast<double>(listed), 0.85 * static_cast<double>(metered_all)) << p.dump();
}

}  // namespace
