// scripts/replay.sh: a capture through a configuration, the table of
// verdicts it prints checked row by row against what the frames must give
// (a bridge with an address, a firewall), and its argument errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "harness.hpp"

using namespace dpdk_app::testing;
using ::testing::HasSubstr;
namespace corpus = dpdk_app::corpus;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct replay_result {
    int rc = -1;
    std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const replay_result& r) {
    return os << "exit status " << r.rc << "\nstdout:\n" << r.out << "stderr:\n" << r.err;
}

// Runs "scripts/replay.sh ARGS" (no single quotes in them) in dir, with the
// dpdk-app under test, killed after two minutes.
replay_result run_replay(const temp_dir& dir, const std::string& args) {
    replay_result r;
    r.rc = sh("cd " + dir.path() + " && timeout 120 env DPDK_APP=" + app_binary() + " bash " +
              SOURCE_ROOT + "/scripts/replay.sh " + args + " >replay.out 2>replay.err </dev/null");
    r.out = slurp(dir.file("replay.out"));
    r.err = slurp(dir.file("replay.err"));
    return r;
}

// The printed table without its first line (which names the files and says
// how long the replay took).
std::string table_of(const std::string& out) {
    const auto nl = out.find('\n');
    return nl == std::string::npos ? "" : out.substr(nl + 1);
}

// A row of the verdicts: the label (indented) padded to width, the count
// right-aligned in 12 columns.
std::string row(const std::string& label, uint64_t count, int width) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-*s%12llu\n", width, label.c_str(),
                  static_cast<unsigned long long>(count));
    return buf;
}

std::string rule_row(const std::string& name, const std::string& action, uint64_t packets,
                     uint64_t bytes, int width) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-*s%-8s%12llu%14llu\n", width, name.c_str(), action.c_str(),
                  static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes));
    return buf;
}

corpus::bytes ipv4_frame(uint8_t proto, const corpus::bytes& l4, bool bad_checksum = false) {
    corpus::ipv4_header h;
    h.proto = proto;
    h.dst = {203, 0, 113, 9};
    h.bad_checksum = bad_checksum;
    return corpus::pad_to(corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::ipv4(h, l4)),
                          60);
}

// A one-armed bridge that owns 198.51.100.2: 30 UDP and 20 TCP frames
// bridged back out, 5 with a bad IPv4 checksum and 3 cut inside the IPv4
// header dropped under their reasons, an ARP request for 198.51.100.2
// answered (consumed, one reply generated); the appliance also announces its
// address once (a gratuitous ARP).
TEST(ReplayScript, BridgeTableCountsEveryVerdict) {
    temp_dir dir;
    std::vector<frame> in;
    for (int i = 0; i < 30; ++i) {
        in.push_back(ipv4_frame(corpus::proto_udp, corpus::udp(1000 + i, 53, 20)));
    }
    for (int i = 0; i < 20; ++i) {
        in.push_back(ipv4_frame(corpus::proto_tcp, corpus::tcp(2000 + i, 443, 0x02)));
    }
    for (int i = 0; i < 5; ++i) {
        in.push_back(ipv4_frame(corpus::proto_udp, corpus::udp(3000 + i, 53, 20), true));
    }
    for (int i = 0; i < 3; ++i) {
        in.push_back(corpus::cat(corpus::ethernet(corpus::ether_ipv4), corpus::filler(10, 1)));
    }
    in.push_back(corpus::pad_to(corpus::cat(corpus::ethernet(corpus::ether_arp), corpus::arp()), 60));
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("bridge.toml")) << "[[interface]]\nport = \"net_pcap0\"\n"
                                              "addresses = [\"198.51.100.2/24\"]\n";

    const auto r = run_replay(dir, "in.pcap -c bridge.toml -o out.pcap --stats stats.json");
    ASSERT_EQ(r.rc, 0) << r;
    EXPECT_THAT(r.out, ::testing::StartsWith("in.pcap through bridge.toml: bridge mode, ")) << r;
    const int w = 23;  // "    ipv4_bad_checksum" and two blanks
    EXPECT_EQ(table_of(r.out),
              row("  frames in", 59, w) + row("  forwarded", 50, w) + row("  consumed", 1, w) +
                  row("  dropped", 8, w) + row("    ipv4_truncated", 3, w) +
                  row("    ipv4_bad_checksum", 5, w) + row("  generated", 2, w) +
                  row("    arp_replies", 1, w) + row("    gratuitous_arps", 1, w) +
                  row("    sent", 2, w) + row("    not sent", 0, w) + row("  frames out", 52, w) +
                  "output out.pcap, stats stats.json\n")
        << r;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(read_pcap(dir.file("out.pcap")).size(), 52u);
    EXPECT_TRUE(conservation_holds(read_json(dir.file("stats.json"))));
}

// Three rules over make_frames' mix: IPv6 counted, IPv4 TCP dropped, UDP
// to ports below 1024 dropped; each rule's packets and bytes. A count rule
// does not end the search: what it counts still meets the rules after it
// and the default. ARP is not IP and goes by every rule unseen.
TEST(ReplayScript, FirewallTableShowsEachRulesHits) {
    temp_dir dir;
    const auto in = make_frames(1000, 11);
    write_pcap(dir.file("capture.pcap"), in);
    std::ofstream(dir.file("fw.toml")) << R"(
[firewall]
default = "accept"

[[firewall.rule]]
id = "ipv6-seen"
comment = "every IPv6 packet"
action = "count"
src = "::/0"

[[firewall.rule]]
id = "no-tcp4"
action = "drop"
proto = "tcp"
src = "0.0.0.0/0"

[[firewall.rule]]
id = "low-udp"
action = "drop"
proto = "udp"
dport = "0-1023"
)";
    struct hits {
        uint64_t packets = 0, bytes = 0;
        void add(const frame& f) {
            ++packets;
            bytes += f.size();
        }
    } ipv6, tcp4, low_udp, by_default;
    uint64_t not_ip = 0;
    for (const auto& f : in) {
        // make_frames: IPv4 (EtherType at 12, or at 16 behind one VLAN tag,
        // no options) with UDP or TCP, IPv6 with UDP (no extension
        // headers), or ARP.
        const std::size_t l3 = f[12] == 0x81 ? 18 : 14;
        const bool v4 = f[l3 - 2] == 0x08 && f[l3 - 1] == 0x00;
        const bool v6 = f[l3 - 2] == 0x86 && f[l3 - 1] == 0xdd;
        if (!v4 && !v6) {
            ++not_ip;
            continue;
        }
        const int proto = v4 ? f[l3 + 9] : f[l3 + 6];
        const std::size_t l4 = l3 + (v4 ? 20 : 40);
        if (v6) {
            ipv6.add(f);
        }
        if (v4 && proto == 6) {
            tcp4.add(f);
        } else if (proto == 17 && (f[l4 + 2] << 8 | f[l4 + 3]) < 1024) {
            low_udp.add(f);
        } else {
            ASSERT_EQ(proto, 17) << "make_frames wrote IP that is neither UDP nor IPv4 TCP";
            by_default.add(f);
        }
    }
    ASSERT_GT(ipv6.packets, 100u);
    ASSERT_GT(tcp4.packets, 100u);
    ASSERT_GT(low_udp.packets, 0u);
    ASSERT_GT(not_ip, 10u);
    const uint64_t dropped = tcp4.packets + low_udp.packets;

    const auto r = run_replay(dir, "capture.pcap -c fw.toml --stats=fw.json");
    ASSERT_EQ(r.rc, 0) << r;
    const int w = 14;   // "    acl_deny", "  frames out" and two blanks
    const int rw = 15;  // "firewall rule", "  1 ipv6-seen" and two blanks
    EXPECT_EQ(table_of(r.out),
              row("  frames in", 1000, w) + row("  forwarded", 1000 - dropped, w) +
                  row("  consumed", 0, w) + row("  dropped", dropped, w) +
                  row("    acl_deny", dropped, w) + row("  generated", 0, w) +
                  row("  frames out", 1000 - dropped, w) +
                  "firewall rule  action       packets         bytes\n" +
                  rule_row("  1 ipv6-seen", "count", ipv6.packets, ipv6.bytes, rw) +
                  rule_row("  2 no-tcp4", "drop", tcp4.packets, tcp4.bytes, rw) +
                  rule_row("  3 low-udp", "drop", low_udp.packets, low_udp.bytes, rw) +
                  rule_row("  default", "accept", by_default.packets, by_default.bytes, rw) +
                  "output capture-out.pcap, stats fw.json\n")
        << r;
    EXPECT_EQ(read_pcap(dir.file("capture-out.pcap")).size(), 1000 - dropped);
    EXPECT_TRUE(fs::exists(dir.file("fw.json")));
}

TEST(ReplayScript, ArgumentErrorsSayWhatIsWrong) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(10, 1));
    write_pcap(dir.file("empty.pcap"), {});
    std::ofstream(dir.file("ok.toml")) << "[dataplane]\nmode = \"bridge\"\n";
    struct bad_invocation {
        std::string args;
        std::string message;
    };
    const std::vector<bad_invocation> cases = {
        {"", "replay.sh: no capture given\nusage: replay.sh IN.pcap -c CONFIG"},
        {"in.pcap", "replay.sh: no configuration given (-c CONFIG)\nusage:"},
        {"in.pcap -c", "replay.sh: -c needs a value\n"},
        {"in.pcap -c ok.toml --stats", "replay.sh: --stats needs a value\n"},
        {"in.pcap -c ok.toml -- --quiet", "replay.sh: '--': the application's options are"},
        {"absent.pcap -c ok.toml", "replay.sh: no capture absent.pcap\n"},
        {". -c ok.toml", "replay.sh: capture . is not a readable file\n"},
        {"empty.pcap -c ok.toml", "replay.sh: capture empty.pcap holds no frames\n"},
        {"in.pcap -c absent.toml", "replay.sh: no configuration absent.toml\n"},
        {"in.pcap -c ok.toml -o in.pcap", "replay.sh: -o in.pcap is the capture itself\n"},
        {"in.pcap -c ok.toml -o a,b.pcap", "replay.sh: a,b.pcap: net_pcap cannot take a path"},
    };
    for (const auto& c : cases) {
        const auto r = run_replay(dir, c.args);
        EXPECT_EQ(r.rc, 2) << "'" << c.args << "': " << r;
        EXPECT_THAT(r.err, HasSubstr(c.message)) << "'" << c.args << "': " << r;
        EXPECT_EQ(r.out, "") << "'" << c.args << "': " << r;
    }
    EXPECT_FALSE(fs::exists(dir.file("in-out.pcap")));
}

// dpdk-app's own refusals come through with its exit status, and no table.
TEST(ReplayScript, PassesOnTheExitStatusOfDpdkApp) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(10, 1));
    std::ofstream(dir.file("bad.toml")) << "[dataplane]\nmode = \"teleport\"\n";
    std::ofstream(dir.file("tap.toml")) << "[[port]]\nname = \"net_tap0\"\n";
    struct refused {
        std::string args;
        std::string message;
    };
    for (const refused& c : std::vector<refused>{
             {"in.pcap -c bad.toml", "bad.toml:2:8: dataplane.mode: expected one of"},
             {"in.pcap -c tap.toml",
              "port 'net_tap0' was not found by EAL (available: net_pcap0)"},
             {"in.pcap -c tap.toml --no-such-eal-option", "EAL initialisation failed"},
         }) {
        const auto r = run_replay(dir, c.args);
        EXPECT_EQ(r.rc, 2) << "'" << c.args << "': " << r;
        EXPECT_THAT(r.err, HasSubstr(c.message)) << "'" << c.args << "': " << r;
        EXPECT_THAT(r.err, HasSubstr("replay.sh: dpdk-app exited with status 2 and wrote no stats"))
            << "'" << c.args << "': " << r;
        EXPECT_EQ(r.out, "") << "'" << c.args << "': " << r;
    }
}

TEST(ReplayScript, HelpSaysWhatRouterModeNeeds) {
    temp_dir dir;
    const auto r = run_replay(dir, "--help");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("scripts/replay.sh IN.pcap -c CONFIG [-o OUT.pcap] [--stats FILE]"));
    EXPECT_THAT(r.out, HasSubstr("must be addressed to the port's MAC"));
    EXPECT_THAT(r.out, HasSubstr("[[neighbor]]"));
    EXPECT_EQ(r.err, "");
}

}  // namespace
