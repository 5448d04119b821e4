// The flow stage and exporter through the real binary on net_pcap, proven
// with the collectors operators run: a capture with a known set of flows is
// replayed through dpdk-app exporting to nfcapd (IPFIX, NetFlow v9, v5), and
// nfdump must list every flow with its exact packets, octets, addresses,
// ports and protocol. A second listener (the test's own UDP socket) takes
// the same export for tshark: every message decodes, no malformed packet or
// unknown template, sequence numbers continuous, and the flows end as the
// timeouts say (idle, TCP FIN, forced at shutdown). The stats' ledger
// (created = exported + queued + lost + live) is checked after every run.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collectors.hpp"
#include "corpus.hpp"
#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;
namespace corpus = dpdk_app::corpus;
namespace collectors = dpdk_app::collectors;
namespace fs = std::filesystem;

namespace {

// One flow of the capture and what a collector must list for it.
struct known_flow {
    corpus::bytes frame;    // every packet of the flow is this frame (FIN: see tcp_fin)
    std::string line;       // nfdump's "src,sport,dst,dport,proto,packets,bytes"
    unsigned packets = 0;
    int version = 4;
    bool tcp_fin = false;   // its last packet carries FIN
};

std::string text4(const std::array<uint8_t, 4>& a) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, a.data(), buf, sizeof buf);
    return buf;
}
std::string text6(const std::array<uint8_t, 16>& a) {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

// 30 IPv4 UDP flows of 1..7 packets, 5 TCP connections (SYN, data, FIN),
// 3 ICMP echo flows and 6 IPv6 UDP flows; their packets interleaved.
struct capture {
    std::vector<known_flow> flows;
    std::vector<frame> frames;
};

capture make_capture() {
    capture c;
    for (unsigned i = 0; i < 30; ++i) {
        corpus::ipv4_header h;
        h.src = {192, 0, 2, static_cast<uint8_t>(1 + i)};
        h.dst = {198, 51, 100, 7};
        h.proto = corpus::proto_udp;
        const auto l4 = corpus::udp(static_cast<uint16_t>(1000 + i), 53, 10 + i);
        known_flow f;
        f.frame = corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4));
        f.packets = 1 + i % 7;
        const unsigned ip_len = 20 + 8 + 10 + i;
        f.line = text4(h.src) + "," + std::to_string(1000 + i) + "," + text4(h.dst) + ",53,17," +
                 std::to_string(f.packets) + "," + std::to_string(f.packets * ip_len);
        c.flows.push_back(f);
    }
    for (unsigned i = 0; i < 5; ++i) {
        corpus::ipv4_header h;
        h.src = {192, 0, 2, 100};
        h.dst = {203, 0, 113, static_cast<uint8_t>(10 + i)};
        h.proto = corpus::proto_tcp;
        known_flow f;
        f.frame = corpus::cat(corpus::ethernet(corpus::ether_ipv4),
                              corpus::ipv4(h, corpus::tcp(static_cast<uint16_t>(40000 + i), 443,
                                                          0x18, 5, 100)));
        f.packets = 4;
        f.tcp_fin = true;
        const unsigned ip_len = 20 + 20 + 100;
        f.line = text4(h.src) + "," + std::to_string(40000 + i) + "," + text4(h.dst) + ",443,6," +
                 std::to_string(f.packets) + "," + std::to_string(f.packets * ip_len);
        c.flows.push_back(f);
    }
    for (unsigned i = 0; i < 3; ++i) {
        corpus::ipv4_header h;
        h.src = {192, 0, 2, 200};
        h.dst = {198, 51, 100, static_cast<uint8_t>(20 + i)};
        h.proto = corpus::proto_icmp;
        known_flow f;
        f.frame = corpus::cat(corpus::ethernet(corpus::ether_ipv4),
                              corpus::ipv4(h, corpus::icmp(8, 0, 56)));
        f.packets = 2 + i;
        // nfdump shows an ICMP flow's type.code as its destination port.
        f.line = text4(h.src) + ",0," + text4(h.dst) + ",8.0,1," + std::to_string(f.packets) + "," +
                 std::to_string(f.packets * (20 + 8 + 56));
        c.flows.push_back(f);
    }
    for (unsigned i = 0; i < 6; ++i) {
        corpus::ipv6_header h;
        h.next = corpus::proto_udp;
        h.src[15] = static_cast<uint8_t>(0x10 + i);
        known_flow f;
        f.version = 6;
        f.frame = corpus::cat(corpus::ethernet(corpus::ether_ipv6),
                              corpus::ipv6(h, corpus::udp(static_cast<uint16_t>(5000 + i), 123, 48)));
        f.packets = 3;
        f.line = text6(h.src) + "," + std::to_string(5000 + i) + "," + text6(h.dst) + ",123,17," +
                 std::to_string(f.packets) + "," + std::to_string(f.packets * (40 + 8 + 48));
        c.flows.push_back(f);
    }
    // Round robin: each pass takes the next packet of every flow not done.
    for (unsigned pass = 0;; ++pass) {
        bool any = false;
        for (const auto& f : c.flows) {
            if (pass >= f.packets) {
                continue;
            }
            any = true;
            frame fr(f.frame.begin(), f.frame.end());
            if (f.tcp_fin) {
                // SYN first, then data, the last one FIN|ACK: the TCP flags
                // sit at byte 14 + 20 + 13.
                fr[14 + 20 + 13] = pass == 0 ? 0x02 : pass + 1 == f.packets ? 0x11 : 0x18;
            }
            c.frames.push_back(std::move(fr));
        }
        if (!any) {
            break;
        }
    }
    return c;
}

using collectors::be16;
using collectors::be32;
using collectors::command_output;
using collectors::free_udp_port;
using collectors::nfcapd;
using collectors::udp_sink;

// The datagrams a sink took as UDP/IPv4/Ethernet frames to dst_port, in a
// pcap for tshark.
void write_export_pcap(udp_sink& sink, const std::string& path, uint16_t dst_port) {
    std::vector<frame> frames;
    for (const auto& m : sink.messages(std::chrono::milliseconds(200))) {
        corpus::ipv4_header h;
        h.src = {127, 0, 0, 1};
        h.dst = {127, 0, 0, 1};
        corpus::bytes payload = corpus::udp(40000, dst_port, 0);
        payload.insert(payload.end(), m.begin(), m.end());
        const auto udp_len = static_cast<uint16_t>(payload.size());
        payload[4] = static_cast<uint8_t>(udp_len >> 8);
        payload[5] = static_cast<uint8_t>(udp_len);
        const auto f = corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, payload));
        frames.emplace_back(f.begin(), f.end());
    }
    write_pcap(path, frames);
}

// The ledger of the stats' "flows": exact once the run ended.
::testing::AssertionResult flow_ledger_holds(const nlohmann::json& stats) {
    if (!stats.contains("flows")) {
        return ::testing::AssertionFailure() << "no flows section";
    }
    const auto& f = stats["flows"];
    const auto v = [&](const char* k) { return f[k].get<uint64_t>(); };
    if (v("created") != v("exported") + v("queued") + v("lost") + v("live")) {
        return ::testing::AssertionFailure() << "created != exported + queued + lost + live: " << f.dump();
    }
    return ::testing::AssertionSuccess();
}

struct flow_run {
    nlohmann::json stats;
    run_result result;
};

// Replays in.pcap once (bridge mode, one lcore), exporting per toml, and
// exits after idle_ms without packets (or --duration when given).
flow_run replay(const temp_dir& dir, const std::string& toml, const std::vector<std::string>& stop) {
    std::ofstream(dir.file("flow.toml")) << toml;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("out.pcap"),
                             "--", "-c", dir.file("flow.toml"), "--stats-json",
                             dir.file("stats.json")});
    args.insert(args.end(), stop.begin(), stop.end());
    flow_run out;
    out.result = run_app(args, dir);
    if (out.result.exit_code == 0) {
        out.stats = read_json(dir.file("stats.json"));
    }
    return out;
}

bool have(const std::string& tools) {
    return sh("for t in " + tools + "; do command -v $t >/dev/null || exit 1; done") == 0;
}

class FlowCollectors : public ::testing::TestWithParam<std::string> {};

// Every flow of the capture reaches nfcapd exactly; tshark decodes every
// message of the same export without a warning, sequence numbers continuous.
TEST_P(FlowCollectors, NfdumpListsEveryFlowOfTheCaptureExactly) {
    if (!have("nfcapd nfdump tshark")) {
        GTEST_SKIP() << "needs nfcapd, nfdump (Debian package nfdump) and tshark";
    }
    const std::string protocol = GetParam();
    temp_dir dir;
    const capture cap = make_capture();
    write_pcap(dir.file("in.pcap"), cap.frames);
    const uint16_t port = free_udp_port();
    nfcapd collector(dir.file("nfcapd"), port);
    ASSERT_TRUE(collector.ready()) << collector.stop();
    udp_sink second;
    const auto run = replay(dir, R"(
[flow]
inactive_timeout = 60
mtu = 1200
domain_id = 7
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(port) + R"("
protocol = ")" + protocol + R"("
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(second.port()) + R"("
protocol = ")" + protocol + R"("
)",
                            {"--idle-exit", "300"});
    ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
    const auto& stats = run.stats;
    EXPECT_TRUE(conservation_holds(stats)) << describe_stats(stats, {"totals"});
    EXPECT_TRUE(flow_ledger_holds(stats));
    const auto& flows = stats["flows"];
    EXPECT_EQ(flows["created"], cap.flows.size()) << flows.dump();
    EXPECT_EQ(flows["exported"], cap.flows.size()) << "every flow, by the end of the run";
    EXPECT_EQ(flows["live"], 0u);
    EXPECT_EQ(flows["lost"], 0u);
    std::this_thread::sleep_for(300ms);  // the last datagrams into the collectors
    const std::string log = collector.stop();
    std::multiset<std::string> expect;
    for (const auto& f : cap.flows) {
        if (protocol != "netflow-v5" || f.version == 4) {
            expect.insert(f.line);
        }
    }
    EXPECT_EQ(collector.listed(), expect) << log;
    EXPECT_NE(log.find("Flows: " + std::to_string(expect.size()) + ","), std::string::npos) << log;
    ASSERT_EQ(flows["collectors"].size(), 2u);
    for (const auto& c : flows["collectors"]) {
        EXPECT_EQ(c["errors"], 0u) << c.dump();
        EXPECT_EQ(c["records"], expect.size()) << c.dump();
    }

    // The same export, decoded by tshark.
    const auto msgs = second.messages();
    ASSERT_FALSE(msgs.empty());
    EXPECT_EQ(msgs.size(), flows["collectors"][1]["messages"].get<uint64_t>());
    const uint16_t dst_port = protocol == "ipfix" ? 4739 : 2055;
    write_export_pcap(second, dir.file("export.pcap"), dst_port);
    const std::string decode = "tshark -r '" + dir.file("export.pcap") + "' -d udp.port==" +
                               std::to_string(dst_port) + ",cflow";
    EXPECT_EQ(command_output(decode + " -Y '_ws.malformed || _ws.expert.severity >= warning' 2>/dev/null | wc -l"),
              "0\n")
        << command_output(decode + " -Y '_ws.malformed || _ws.expert.severity >= warning' -T fields "
                             "-e frame.number -e _ws.expert.message 2>/dev/null | head");
    uint64_t flows_decoded = 0;
    std::istringstream counts(command_output(decode + " -T fields -e cflow.packets -E aggregator=' ' 2>/dev/null"));
    for (std::string l; std::getline(counts, l);) {
        std::istringstream words(l);
        for (std::string w; words >> w;) {
            ++flows_decoded;
        }
    }
    EXPECT_EQ(flows_decoded, expect.size()) << "tshark finds every record";
    // Sequence numbers (our own reading of the headers): IPFIX counts data
    // records, NetFlow v9 messages, NetFlow v5 flows, each from 0.
    uint32_t next = 0;
    for (const auto& m : msgs) {
        if (protocol == "netflow-v5") {
            EXPECT_EQ(be32(m, 16), next);
            next += be16(m, 2);
        } else if (protocol == "netflow-v9") {
            EXPECT_EQ(be32(m, 12), next);
            EXPECT_EQ(be32(m, 16), 7u) << "source id";
            ++next;
        } else {
            EXPECT_EQ(be16(m, 2), m.size());
            EXPECT_EQ(be32(m, 8), next);
            EXPECT_EQ(be32(m, 12), 7u) << "observation domain";
            // Data records: the IPFIX data sets (id >= 256) of this message.
            for (std::size_t at = 16; at + 4 <= m.size();) {
                const uint16_t set = be16(m, at), len = be16(m, at + 2);
                if (len < 4) {
                    break;
                }
                if (set == 256 || set == 257) {
                    next += set == 256 ? (len - 4) / 59 : (len - 4) / 83;
                } else if (set == 258) {
                    next += 1;
                }
                at += len;
            }
        }
        EXPECT_LE(m.size(), 1200u) << "flow.mtu";
    }
}

INSTANTIATE_TEST_SUITE_P(protocols, FlowCollectors,
                         ::testing::Values("ipfix", "netflow-v9", "netflow-v5"),
                         [](const auto& info) {
                             std::string n = info.param;
                             n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                             return n;
                         });

// Short timeouts: the UDP and ICMP flows end idle, the TCP connections on
// their FIN, all while the run goes on; nothing is left for the shutdown.
TEST(Flow, FlowsEndAsTheTimeoutsSay) {
    if (!have("tshark")) {
        GTEST_SKIP() << "needs tshark";
    }
    temp_dir dir;
    const capture cap = make_capture();
    write_pcap(dir.file("in.pcap"), cap.frames);
    udp_sink ipfix;
    const auto run = replay(dir, R"(
[flow]
inactive_timeout = 1
fin_linger_ms = 100
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(ipfix.port()) + R"("
)",
                            {"--duration", "3"});
    ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
    EXPECT_TRUE(conservation_holds(run.stats));
    EXPECT_TRUE(flow_ledger_holds(run.stats));
    EXPECT_EQ(run.stats["flows"]["live"], 0u);
    write_export_pcap(ipfix, dir.file("export.pcap"), 4739);
    const std::string reasons =
        command_output("tshark -r '" + dir.file("export.pcap") +
                 "' -d udp.port==4739,cflow -T fields -e cflow.flow_end_reason -E aggregator=' ' 2>/dev/null");
    std::map<std::string, unsigned> by;
    std::istringstream words(reasons);
    for (std::string w; words >> w;) {
        ++by[w];
    }
    // 1 idle timeout, 3 end of flow (FIN), 4 forced end.
    unsigned tcp = 0;
    for (const auto& f : cap.flows) {
        tcp += f.tcp_fin;
    }
    EXPECT_EQ(by["3"], tcp) << reasons;
    EXPECT_EQ(by["1"], cap.flows.size() - tcp) << reasons;
    EXPECT_EQ(by["4"], 0u) << "nothing left for the shutdown: " << reasons;
}

// A long flow on an active timeout: reported while it lasts, counted again
// from zero each time, the rest exported at shutdown (forced end); what the
// reports add up to is every packet the flow had.
TEST(Flow, ALongFlowIsReportedOnTheActiveTimeoutAndFlushedAtShutdown) {
    temp_dir dir;
    corpus::ipv4_header h;
    h.proto = corpus::proto_udp;
    const auto f = corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, corpus::udp(7, 9, 100)));
    write_pcap(dir.file("in.pcap"), {frame(f.begin(), f.end())});
    udp_sink ipfix;
    std::ofstream(dir.file("flow.toml")) << R"(
[flow]
active_timeout = 1
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(ipfix.port()) + R"("
)";
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--", "-c", dir.file("flow.toml"), "--duration", "3", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_TRUE(flow_ledger_holds(stats));
    const auto& flows = stats["flows"];
    EXPECT_EQ(flows["created"], 1u);
    EXPECT_GE(flows["active_reports"].get<uint64_t>(), 1u) << flows.dump();
    write_export_pcap(ipfix, dir.file("export.pcap"), 4739);
    const std::string rows = command_output("tshark -r '" + dir.file("export.pcap") +
                                      "' -d udp.port==4739,cflow -T fields -e cflow.flow_end_reason "
                                      "-e cflow.packets -E aggregator=' ' -E separator=, 2>/dev/null");
    uint64_t packets = 0;
    unsigned active = 0, forced = 0;
    std::istringstream lines(rows);
    for (std::string l; std::getline(lines, l);) {
        const auto slash = l.find(',');
        if (slash == std::string::npos) {
            continue;
        }
        std::istringstream why(l.substr(0, slash)), count(l.substr(slash + 1));
        std::vector<std::string> reasons;
        for (std::string w; why >> w;) {
            reasons.push_back(w);
        }
        std::size_t k = 0;
        for (std::string w; count >> w; ++k) {
            packets += std::stoull(w);
            if (k < reasons.size()) {
                active += reasons[k] == "2";
                forced += reasons[k] == "4";
            }
        }
    }
    EXPECT_EQ(active, flows["active_reports"].get<uint64_t>()) << rows;
    EXPECT_EQ(forced, 1u) << rows;
    EXPECT_EQ(packets, counter(stats, "totals", "forwarded")) << "every packet in some report";
}

// A collector nobody listens on: forwarding goes on, the refusals are
// counted and logged once per interval, not once per datagram.
TEST(Flow, ACollectorThatIsDownNeverStopsForwarding) {
    temp_dir dir;
    const capture cap = make_capture();
    write_pcap(dir.file("in.pcap"), cap.frames);
    const uint16_t port = free_udp_port();  // nothing listens there
    const auto run = replay(dir, R"(
[flow]
inactive_timeout = 1
template_refresh = 1
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(port) + R"("
)",
                            {"--duration", "3"});
    ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
    EXPECT_TRUE(conservation_holds(run.stats));
    EXPECT_EQ(counter(run.stats, "totals", "forwarded"), cap.frames.size());
    EXPECT_TRUE(flow_ledger_holds(run.stats));
    const auto& c = run.stats["flows"]["collectors"][0];
    EXPECT_GT(c["errors"].get<uint64_t>(), 0u) << c.dump();
    EXPECT_EQ(c["last_error"], "Connection refused") << c.dump();
    EXPECT_EQ(occurrences(run.result.err, "flow collector 127.0.0.1:" + std::to_string(port)), 1u)
        << run.result.err;
}

// The flow component's level: [log] flow = "error" silences the collector's
// warnings, --log flow:debug (the command line wins) shows every send.
TEST(Flow, TheLogLevelOfTheFlowComponentDecidesWhatIsSaid) {
    temp_dir dir;
    const capture cap = make_capture();
    write_pcap(dir.file("in.pcap"), cap.frames);
    const uint16_t down = free_udp_port();
    const std::string toml = R"(
[log]
flow = "error"
[flow]
inactive_timeout = 1
template_refresh = 1
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(down) + R"("
)";
    auto quiet = replay(dir, toml, {"--duration", "3"});
    ASSERT_EQ(quiet.result.exit_code, 0) << quiet.result.err;
    EXPECT_TRUE(conservation_holds(quiet.stats));
    EXPECT_GT(quiet.stats["flows"]["collectors"][0]["errors"].get<uint64_t>(), 0u);
    EXPECT_EQ(occurrences(quiet.result.err, "flow collector"), 0u) << quiet.result.err;
    auto loud = replay(dir, toml, {"--idle-exit", "300", "--log", "flow:debug"});
    ASSERT_EQ(loud.result.exit_code, 0) << loud.result.err;
    EXPECT_TRUE(conservation_holds(loud.stats));
    EXPECT_GE(occurrences(loud.result.err, "records in"), 1u) << loud.result.err;
}

// Router mode, where the fused parse+route fast path forwards: every flow
// counted with its packets, its input port and the egress routing chose.
TEST(Flow, RouterModeCountsWhatItForwardsWithTheEgressPort) {
    temp_dir dir;
    std::vector<frame> frames;
    std::map<uint16_t, unsigned> packets_of;  // by source port
    for (unsigned pass = 0; pass < 7; ++pass) {
        for (unsigned i = 0; i < 30; ++i) {
            if (pass >= 1 + i % 7) {
                continue;
            }
            corpus::ipv4_header h;
            h.src = {192, 0, 2, 10};
            h.dst = {203, 0, 113, static_cast<uint8_t>(i)};
            const auto f = corpus::cat(corpus::ethernet(corpus::ether_ipv4),
                                       corpus::ipv4(h, corpus::udp(static_cast<uint16_t>(2000 + i), 53, 20)));
            frames.emplace_back(f.begin(), f.end());
            ++packets_of[static_cast<uint16_t>(2000 + i)];
        }
    }
    write_pcap(dir.file("in.pcap"), frames);
    write_pcap(dir.file("empty.pcap"), {});
    udp_sink v5;
    std::ofstream(dir.file("router.toml")) << R"(
[dataplane]
mode = "router"
[[port]]
name = "net_pcap0"
[[port]]
name = "net_pcap1"
[[interface]]
port = "net_pcap0"
addresses = ["192.0.2.1/24"]
[[interface]]
port = "net_pcap1"
addresses = ["198.51.100.1/24"]
[[route]]
prefix = "203.0.113.0/24"
via = "198.51.100.2"
[[neighbor]]
address = "198.51.100.2"
mac = "02:00:00:00:0a:02"
[flow]
[[flow.collector]]
address = "127.0.0.1:)" + std::to_string(v5.port()) + R"("
protocol = "netflow-v5"
)";
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap"),
                             "--vdev=net_pcap1,rx_pcap=" + dir.file("empty.pcap"), "--", "-c",
                             dir.file("router.toml"), "--idle-exit", "300", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_TRUE(flow_ledger_holds(stats));
    EXPECT_EQ(counter(stats, "totals", "forwarded"), frames.size());
    EXPECT_EQ(stats["flows"]["created"], 30u);
    std::map<uint16_t, unsigned> got;
    for (const auto& m : v5.messages(200ms)) {
        ASSERT_GE(m.size(), 24u);
        const unsigned count = be16(m, 2);
        ASSERT_EQ(m.size(), 24 + 48u * count);
        for (unsigned k = 0; k < count; ++k) {
            const std::size_t at = 24 + 48 * k;
            EXPECT_EQ(be16(m, at + 12), 0) << "input: port 0";
            EXPECT_EQ(be16(m, at + 14), 1) << "output: port 1, where the route leads";
            got[be16(m, at + 32)] += be32(m, at + 16);
        }
    }
    EXPECT_EQ(got, packets_of);
}

// /dpdk_app/flows while the lanes run: the ledger and the largest flows.
TEST(Flow, TelemetryListsTheLedgerAndTheLargestFlows) {
    temp_dir dir;
    const capture cap = make_capture();
    write_pcap(dir.file("in.pcap"), cap.frames);
    std::ofstream(dir.file("flow.toml")) << "[flow]\ntop = 3\n";
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",infinite_rx=1",
                             "--", "-c", dir.file("flow.toml"), "--stats-json",
                             dir.file("stats.json")});
    app_process app(args, dir);
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(app.running()) << app.err_so_far();
    const auto prefix = std::find(args.begin(), args.end(), "--file-prefix");
    ASSERT_NE(prefix, args.end());
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    const std::string runtime =
        is_root() ? "/var/run/dpdk" : std::string(xdg != nullptr ? xdg : "/tmp") + "/dpdk";
    const std::string sock = runtime + "/" + *(prefix + 1) + "/dpdk_telemetry.v2";
    auto ask = [&](const std::string& command) {
        const std::string reply = sh_output(
            "/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_UNIX, "
            "socket.SOCK_SEQPACKET); s.connect('" + sock + "'); s.recv(4096); s.send(b'" +
            command + "'); print(s.recv(65536).decode())\"");
        return nlohmann::json::parse(reply, nullptr, false);
    };
    const auto by_bytes = ask("/dpdk_app/flows");
    const auto by_packets = ask("/dpdk_app/flows,packets");
    const auto bad = ask("/dpdk_app/flows,colour");
    app.signal(SIGTERM);
    const run_result r = app.wait(30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_FALSE(by_bytes.is_discarded());
    const auto& f = by_bytes["/dpdk_app/flows"];
    ASSERT_TRUE(f.is_object()) << by_bytes.dump() << " (is /dpdk_app/flows registered?)";
    // infinite_rx replays the capture over and over: the UDP / ICMP flows
    // stay live, a TCP connection ends after its FIN's linger and starts
    // anew on the next pass.
    unsigned tcp = 0;
    for (const auto& k : cap.flows) {
        tcp += k.tcp_fin;
    }
    EXPECT_GE(f["created"].get<uint64_t>(), cap.flows.size()) << f.dump();
    EXPECT_LE(f["live"].get<uint64_t>(), cap.flows.size()) << f.dump();
    EXPECT_GE(f["live"].get<uint64_t>(), cap.flows.size() - tcp) << f.dump();
    ASSERT_TRUE(f.contains("1_src")) << f.dump();
    EXPECT_FALSE(f.contains("4_src")) << "flow.top = 3";
    const auto& p = by_packets["/dpdk_app/flows"];
    ASSERT_TRUE(p.contains("3_packets")) << p.dump();
    EXPECT_GE(p["1_packets"].get<uint64_t>(), p["2_packets"].get<uint64_t>());
    EXPECT_GE(p["2_packets"].get<uint64_t>(), p["3_packets"].get<uint64_t>());
    EXPECT_GE(f["1_bytes"].get<uint64_t>(), f["2_bytes"].get<uint64_t>());
    EXPECT_TRUE(bad["/dpdk_app/flows"].is_null()) << bad.dump() << ": a bad parameter is refused";
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats)) << describe_stats(stats, {"totals"});
    EXPECT_TRUE(flow_ledger_holds(stats));
    EXPECT_EQ(stats["flows"]["top"]["by_bytes"].size(), 3u) << stats["flows"].dump();
}

TEST(Flow, ABadCollectorAddressIsAConfigurationError) {
    temp_dir dir;
    std::ofstream(dir.file("bad.toml")) << R"(
[flow]
[[flow.collector]]
address = "collector.example:4739"
)";
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--", "-c", dir.file("bad.toml"), "--check-config"});
    const run_result r = run_app(args, dir);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("bad.toml:4:11: flow.collector.address: expected \"IPV4:PORT\""),
              std::string::npos)
        << r.err;
}

}  // namespace
