// Flow export: IPFIX, NetFlow v9 and v5 messages read back by an
// independent decoder written here from the RFCs (sizes, sequence numbers,
// templates, MTU), and by the collector operators run: nfcapd receives what
// udp_collector sends on 127.0.0.1 and nfdump lists every flow, which must
// equal what was exported, field by field.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include "collectors.hpp"
#include "flow/export.hpp"

namespace dpdk_app {
namespace {

namespace fs = std::filesystem;

using collectors::be16;
using collectors::be32;

constexpr uint64_t t0 = 1'800'000'000'000;  // wall clock, ms

// n flows: every third IPv6, the rest IPv4 (TCP, UDP and ICMP), distinct
// addresses, ports, counts and times.
std::vector<flow_record> flows(std::size_t n, uint32_t seed = 1) {
    std::mt19937 rng(seed);
    std::vector<flow_record> out;
    for (std::size_t i = 0; i < n; ++i) {
        flow_record r;
        r.ip_version = i % 3 == 2 ? 6 : 4;
        r.proto = i % 4 == 0 ? 6 : (i % 4 == 3 ? (r.ip_version == 6 ? 58 : 1) : 17);
        if (r.ip_version == 4) {
            r.src = {198, 51, 100, static_cast<uint8_t>(1 + i % 250)};
            r.dst = {203, 0, 113, static_cast<uint8_t>(1 + (i / 250) % 250)};
        } else {
            r.src = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                     static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
            r.dst = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
        }
        const bool icmp = r.proto == 1 || r.proto == 58;
        r.sport = icmp ? 0 : static_cast<uint16_t>(1024 + i);
        r.dport = icmp ? static_cast<uint16_t>(8 << 8) : static_cast<uint16_t>(i % 2 ? 53 : 443);
        r.tcp_flags = r.proto == 6 ? 0x1b : 0;
        r.dscp = static_cast<uint8_t>(i % 64);
        r.in_if = 0;
        r.out_if = 1;
        r.packets = 1 + rng() % 1000;
        r.octets = r.packets * (40 + rng() % 1400);
        r.first_ms = t0 + i * 10;
        r.last_ms = r.first_ms + rng() % 60000;
        r.end = flow_end_reason::idle_timeout;
        out.push_back(r);
    }
    return out;
}

// ---- the messages, decoded from the RFCs ------------------------------------------------

struct ipfix_view {
    uint32_t sequence = 0;
    uint32_t domain = 0;
    unsigned templates = 0;      // template records (set 2)
    unsigned options_templates = 0;
    unsigned data_records = 0;   // of templates 256 / 257 / 258
    unsigned option_records = 0;
};

// Walks one IPFIX message (RFC 7011 3.1, 3.3): every set inside the
// message, lengths consistent.
ipfix_view decode_ipfix(const std::vector<uint8_t>& m) {
    ipfix_view v;
    EXPECT_EQ(be16(m, 0), 10);
    EXPECT_EQ(be16(m, 2), m.size()) << "message length";
    v.sequence = be32(m, 8);
    v.domain = be32(m, 12);
    std::size_t at = 16;
    while (at < m.size()) {
        const uint16_t id = be16(m, at);
        const uint16_t len = be16(m, at + 2);
        EXPECT_GE(len, 4u);
        EXPECT_LE(at + len, m.size()) << "set past the message";
        if (id == 2) {
            std::size_t t = at + 4;
            while (t < at + len) {
                t += 4 + 4u * be16(m, t + 2);
                ++v.templates;
            }
            EXPECT_EQ(t, at + len);
        } else if (id == 3) {
            ++v.options_templates;
        } else if (id == 256 || id == 257) {
            const std::size_t rec = id == 256 ? 59 : 83;  // the templates' record lengths
            EXPECT_EQ((len - 4) % rec, 0u);
            v.data_records += static_cast<unsigned>((len - 4) / rec);
        } else if (id == 258) {
            v.option_records += static_cast<unsigned>((len - 4) / 25);
        } else {
            ADD_FAILURE() << "unknown set id " << id;
        }
        at += len == 0 ? m.size() : len;
    }
    return v;
}

TEST(flow_export, ipfix_messages_fit_the_mtu_and_number_every_data_record) {
    flow_encoder e({.protocol = export_protocol::ipfix, .domain_id = 7, .mtu = 512});
    const auto recs = flows(300);
    std::vector<std::vector<uint8_t>> out;
    e.encode(recs, t0, 3, out);
    ASSERT_GT(out.size(), 30u);
    uint32_t expect_sequence = 0;
    unsigned data = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_LE(out[i].size(), 512u);
        const ipfix_view v = decode_ipfix(out[i]);
        EXPECT_EQ(v.domain, 7u);
        EXPECT_EQ(v.sequence, expect_sequence) << "message " << i;
        EXPECT_EQ(v.templates, i == 0 ? 2u : 0u) << "templates in the first message only";
        EXPECT_EQ(v.options_templates, i == 0 ? 1u : 0u);
        expect_sequence += v.data_records + v.option_records;  // RFC 7011: every data record
        data += v.data_records;
    }
    EXPECT_EQ(data, recs.size());
    EXPECT_EQ(e.exported(), recs.size());
    // Later: no templates until the refresh interval has passed.
    out.clear();
    e.encode(std::span(recs).first(5), t0 + 59'000, 0, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(decode_ipfix(out[0]).templates, 0u);
    EXPECT_EQ(decode_ipfix(out[0]).sequence, expect_sequence);
    out.clear();
    e.encode({}, t0 + 61'000, 0, out);
    ASSERT_EQ(out.size(), 1u) << "templates alone when due";
    EXPECT_EQ(decode_ipfix(out[0]).templates, 2u);
    EXPECT_EQ(decode_ipfix(out[0]).option_records, 1u);
    out.clear();
    e.encode({}, t0 + 62'000, 0, out);
    EXPECT_TRUE(out.empty()) << "nothing to say";
}

TEST(flow_export, v9_and_v5_headers_counts_and_sequences) {
    const auto recs = flows(100);
    flow_encoder v9({.protocol = export_protocol::netflow_v9, .domain_id = 3, .mtu = 600,
                     .boot_ms = t0 - 5000});
    std::vector<std::vector<uint8_t>> out;
    v9.encode(recs, t0, 0, out);
    unsigned records = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto& m = out[i];
        EXPECT_LE(m.size(), 600u);
        EXPECT_EQ(be16(m, 0), 9);
        EXPECT_EQ(be32(m, 4), 5000u) << "sysUptime";
        EXPECT_EQ(be32(m, 12), i) << "v9 counts export packets";
        EXPECT_EQ(be32(m, 16), 3u);
        std::size_t at = 20;
        unsigned count = 0;
        while (at < m.size()) {
            const uint16_t id = be16(m, at);
            const uint16_t len = be16(m, at + 2);
            EXPECT_EQ(len % 4, 0u) << "flowsets end on 32-bit boundaries";
            if (id == 0) {
                count += 2;
            } else {
                const unsigned n = static_cast<unsigned>((len - 4) / (id == 256 ? 47 : 71));
                count += n;
                records += n;
            }
            at += len;
        }
        EXPECT_EQ(at, m.size());
        EXPECT_EQ(be16(m, 2), count) << "the header counts template and data records";
    }
    EXPECT_EQ(records, recs.size());

    flow_encoder v5({.protocol = export_protocol::netflow_v5, .domain_id = 2, .boot_ms = t0});
    out.clear();
    v5.encode(recs, t0 + 1234, 0, out);
    uint32_t sequence = 0;
    unsigned v4 = 0;
    for (const auto& m : out) {
        EXPECT_EQ(be16(m, 0), 5);
        const unsigned count = be16(m, 2);
        EXPECT_LE(count, 30u);
        EXPECT_EQ(m.size(), 24 + 48u * count);
        EXPECT_EQ(be32(m, 4), 1234u);
        EXPECT_EQ(be32(m, 16), sequence) << "v5 counts flows";
        EXPECT_EQ(m[21], 2);
        sequence += count;
        v4 += count;
    }
    const auto ipv4 = static_cast<unsigned>(
        std::count_if(recs.begin(), recs.end(), [](const auto& r) { return r.ip_version == 4; }));
    EXPECT_EQ(v4, ipv4);
    EXPECT_EQ(v5.skipped(), recs.size() - ipv4) << "v5 has no IPv6";
}

// ---- a real collector --------------------------------------------------------------------

using collectors::nfcapd;

std::string run(const std::string& cmd) {
    return collectors::command_output(cmd);
}

std::string addr_text(const flow_record& r, const std::array<uint8_t, 16>& a) {
    char buf[64];
    ::inet_ntop(r.ip_version == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
    return buf;
}

std::string expected_line(const flow_record& r) {
    const bool icmp = r.proto == 1 || r.proto == 58;
    // nfdump shows an ICMP flow's type.code in the destination port.
    const std::string dport = icmp ? std::to_string(r.dport >> 8) + "." + std::to_string(r.dport & 0xff)
                                   : std::to_string(r.dport);
    return addr_text(r, r.src) + "," + std::to_string(r.sport) + "," + addr_text(r, r.dst) + "," +
           dport + "," + std::to_string(r.proto) + "," + std::to_string(r.packets) + "," +
           std::to_string(r.octets);
}

class flow_collector : public ::testing::TestWithParam<export_protocol> {};

TEST_P(flow_collector, nfdump_lists_every_exported_flow_exactly) {
    if (run("command -v nfcapd >/dev/null && command -v nfdump >/dev/null && echo yes") != "yes\n") {
        GTEST_SKIP() << "nfcapd / nfdump not installed (Debian package nfdump)";
    }
    const export_protocol proto = GetParam();
    const fs::path dir = fs::temp_directory_path() /
                         ("dpa_nfcapd_" + std::to_string(::getpid()) + "_" +
                          std::to_string(static_cast<int>(proto)));
    fs::remove_all(dir);
    const auto port = static_cast<uint16_t>(20000 + (::getpid() * 3 + static_cast<int>(proto)) % 30000);
    nfcapd collector(dir, port);
    ASSERT_TRUE(collector.ready()) << collector.stop();
    std::string error;
    udp_collector to("127.0.0.1", port, error);
    ASSERT_TRUE(to.ok()) << error;
    flow_encoder e({.protocol = proto, .domain_id = 1, .mtu = 1400, .boot_ms = t0 - 1000});
    const auto recs = flows(250);
    for (std::size_t i = 0; i < recs.size(); i += 50) {  // five batches, as the exporter sends them
        std::vector<std::vector<uint8_t>> out;
        e.encode(std::span(recs).subspan(i, 50), t0 + 60'000 + i, 0, out);
        EXPECT_EQ(to.send(out), out.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(to.errors(), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string log = collector.stop();
    std::multiset<std::string> expect;
    for (const auto& r : recs) {
        if (proto != export_protocol::netflow_v5 || r.ip_version == 4) {
            expect.insert(expected_line(r));
        }
    }
    EXPECT_THAT(log, ::testing::HasSubstr("Flows: " + std::to_string(expect.size()) + ","));
    // nfdump 1.7 leaves the IPFIX options record (first message) out of its
    // sequence count, which RFC 7011 and Wireshark include: one "error"
    // at the second message. NetFlow v9 / v5 count as nfdump does.
    const std::string sequence_errors = proto == export_protocol::ipfix ? "1" : "0";
    EXPECT_THAT(log, ::testing::HasSubstr("Sequence Errors: " + sequence_errors + ", Bad Packets: 0"))
        << log;
    const auto got = collector.listed();
    EXPECT_EQ(got, expect);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(protocols, flow_collector,
                         ::testing::Values(export_protocol::ipfix, export_protocol::netflow_v9,
                                           export_protocol::netflow_v5),
                         [](const auto& info) {
                             return info.param == export_protocol::ipfix        ? "ipfix"
                                    : info.param == export_protocol::netflow_v9 ? "v9"
                                                                                 : "v5";
                         });

TEST(flow_export, an_unreachable_collector_is_counted_and_never_blocks) {
    std::string error;
    udp_collector bad("not-an-address", 9, error);
    EXPECT_FALSE(bad.ok());
    EXPECT_THAT(error, ::testing::HasSubstr("not a numeric IPv4 or IPv6 address"));
    error.clear();
    // Nothing listens on this port: the kernel answers port unreachable,
    // and a later send on the connected socket reports ECONNREFUSED.
    udp_collector none("127.0.0.1", 9, error);
    ASSERT_TRUE(none.ok()) << error;
    flow_encoder e({.protocol = export_protocol::ipfix});
    std::vector<std::vector<uint8_t>> out;
    e.encode(flows(10), t0, 0, out);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        none.send(out);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_GT(none.errors(), 0u);
    EXPECT_EQ(none.last_error(), ECONNREFUSED);
    EXPECT_EQ(none.sent() + none.errors(), 20u * out.size());
}

// tshark's dissector (cflow) reads every message of each protocol: no
// malformed packet, no unknown template, every flow's addresses found.
TEST_P(flow_collector, tshark_decodes_every_message) {
    if (run("command -v tshark >/dev/null && echo yes") != "yes\n") {
        GTEST_SKIP() << "tshark not installed";
    }
    const export_protocol proto = GetParam();
    flow_encoder e({.protocol = proto, .domain_id = 1, .mtu = 1400, .boot_ms = t0 - 1000});
    const auto recs = flows(120);
    std::vector<std::vector<uint8_t>> out;
    e.encode(recs, t0 + 60'000, 0, out);
    const fs::path file = fs::temp_directory_path() /
                          ("dpa_cflow_" + std::to_string(::getpid()) + "_" +
                           std::to_string(static_cast<int>(proto)) + ".pcap");
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t* d = pcap_dump_open(dead, file.c_str());
    ASSERT_NE(d, nullptr);
    const uint16_t port = proto == export_protocol::ipfix ? 4739 : 2055;
    for (const auto& m : out) {
        std::vector<uint8_t> f(14 + 20 + 8);
        f[12] = 0x08;
        const std::size_t ip_len = 20 + 8 + m.size();
        const uint8_t ip[20] = {0x45, 0, static_cast<uint8_t>(ip_len >> 8), static_cast<uint8_t>(ip_len),
                                0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1};
        std::copy(ip, ip + 20, f.begin() + 14);
        const std::size_t udp_len = 8 + m.size();
        const uint8_t udp[8] = {0x9c, 0x40, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port),
                                static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len), 0, 0};
        std::copy(udp, udp + 8, f.begin() + 34);
        f.insert(f.end(), m.begin(), m.end());
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
    const std::string decode = "tshark -r '" + file.string() + "' -d udp.port==" + std::to_string(port) + ",cflow";
    EXPECT_EQ(run(decode + " -Y '_ws.malformed || _ws.expert.severity >= warning' 2>/dev/null | wc -l"), "0\n")
        << run(decode + " -Y '_ws.malformed || _ws.expert.severity >= warning' -T fields -e frame.number "
                        "-e _ws.expert.message 2>/dev/null | head -20");
    const std::string fields = proto == export_protocol::ipfix || proto == export_protocol::netflow_v9
                                   ? "-e cflow.srcaddr -e cflow.srcaddrv6"
                                   : "-e cflow.srcaddr";
    const std::string listed = run(decode + " -T fields " + fields + " -E separator=, -E aggregator=, 2>&1");
    for (const auto& r : recs) {
        if (proto == export_protocol::netflow_v5 && r.ip_version != 4) {
            continue;
        }
        EXPECT_NE(listed.find(addr_text(r, r.src)), std::string::npos) << addr_text(r, r.src);
    }
    fs::remove(file);
}

}  // namespace
}  // namespace dpdk_app
