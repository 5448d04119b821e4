// The malformed-packet corpus through the real binary (bridge mode,
// net_pcap in and out): every malformed frame is dropped under its reason,
// exactly the well-formed frames come out byte-identical, and jumbo frames
// cross as chained mbufs.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;
namespace corpus = dpdk_app::corpus;

namespace {

struct bridge_run {
    run_result result;
    std::vector<frame> out;
    nlohmann::json stats;
};

bridge_run run_bridge(const temp_dir& dir, const std::vector<frame>& in) {
    write_pcap(dir.file("in.pcap"), in);
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") +
                                 ",tx_pcap=" + dir.file("out.pcap"),
                             "--", "--idle-exit", "500", "--stats-json", dir.file("stats.json")});
    bridge_run r;
    r.result = run_app(args, dir, 60s);
    if (r.result.exit_code == 0) {
        r.out = read_pcap(dir.file("out.pcap"));
        r.stats = read_json(dir.file("stats.json"));
    }
    return r;
}

TEST(Malformed, EachFrameIsDroppedUnderItsReasonAndTheRestComeOutIdentical) {
    const auto cases = corpus::malformed_corpus();
    ASSERT_GE(cases.size(), 30u);
    std::vector<frame> in;
    std::vector<const corpus::corpus_case*> kept;
    std::map<std::string, uint64_t> want_drops;
    for (const auto& name : dpdk_app::drop_reason_names) {
        want_drops[std::string(name)] = 0;
    }
    for (const auto& c : cases) {
        in.push_back(c.frame);
        if (c.expect) {
            ++want_drops[std::string(dpdk_app::name_of(*c.expect))];
        } else {
            kept.push_back(&c);
        }
    }

    temp_dir dir;
    const bridge_run r = run_bridge(dir, in);
    ASSERT_EQ(r.result.exit_code, 0) << r.result.err;

    ASSERT_EQ(r.out.size(), kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        EXPECT_EQ(r.out[i], kept[i]->frame) << kept[i]->name << " differs";
    }

    const auto& stats = r.stats;
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["totals"]["rx"], in.size());
    EXPECT_EQ(stats["totals"]["forwarded"], kept.size());
    EXPECT_EQ(stats["totals"]["dropped"], in.size() - kept.size());
    EXPECT_EQ(stats["totals"]["in_flight"], 0u);
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
    for (const auto& [name, want] : want_drops) {
        ASSERT_TRUE(stats["drops"].contains(name)) << name;
        EXPECT_EQ(stats["drops"][name].get<uint64_t>(), want) << name;
    }
    // The parse stage, alone or fused with the stages after it on its lcore
    // (parse+bridge+respond, which here drops only what parse drops).
    bool saw_parse = false;
    for (const auto& s : stats["stages"]) {
        const std::string name = s["name"];
        if (name == "parse" || name.rfind("parse+", 0) == 0) {
            saw_parse = true;
            EXPECT_EQ(s["packets_in"], in.size());
            EXPECT_EQ(s["packets_out"], kept.size());
        }
    }
    EXPECT_TRUE(saw_parse) << stats["stages"].dump();
}

frame jumbo_ipv4_udp(std::size_t len, bool bad_checksum) {
    corpus::ipv4_header h;
    h.bad_checksum = bad_checksum;
    return corpus::cat(corpus::ethernet(corpus::ether_ipv4),
                       corpus::ipv4(h, corpus::udp(1000, 2000, len - 14 - 20 - 8)));
}

frame jumbo_vlan_ipv6_tcp(std::size_t len) {
    corpus::ipv6_header h;
    h.next = corpus::proto_tcp;
    return corpus::cat(corpus::ethernet(corpus::ether_ipv6, {{corpus::ether_vlan, 42}}),
                       corpus::ipv6(h, corpus::tcp(443, 50000, 0x10, 5, len - 18 - 40 - 20)));
}

// 9000-byte frames are larger than an mbuf's 2 KiB data room: RX scatters
// them over chained mbufs, parse reads headers across segments, TX gathers.
TEST(Malformed, JumboFramesPassThroughChainedMbufsByteIdentical) {
    const std::vector<frame> good = {jumbo_ipv4_udp(9000, false), jumbo_vlan_ipv6_tcp(9000),
                                     jumbo_ipv4_udp(4000, false), jumbo_ipv4_udp(2100, false)};
    std::vector<frame> in = good;
    in.insert(in.begin() + 1, jumbo_ipv4_udp(9000, true));  // dropped
    for (const auto& f : in) {
        ASSERT_GT(f.size(), 2048u);
    }
    temp_dir dir;
    const bridge_run r = run_bridge(dir, in);
    ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
    EXPECT_EQ(r.out, good);
    EXPECT_TRUE(conservation_holds(r.stats));
    EXPECT_EQ(r.stats["totals"]["rx"], in.size());
    EXPECT_EQ(r.stats["totals"]["forwarded"], good.size());
    EXPECT_EQ(r.stats["drops"]["ipv4_bad_checksum"], 1u);
    EXPECT_EQ(r.stats["totals"]["dropped"], 1u);
    EXPECT_EQ(r.stats["mempool"]["in_use"], 0u);
    EXPECT_EQ(r.stats["ports"][0]["ierrors"], 0u);
}

}  // namespace
