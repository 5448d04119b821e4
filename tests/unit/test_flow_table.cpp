// The flow table of a lane on a simulated clock: flows counted exactly (by
// 5-tuple, ICMP type and code, input port, VLAN), ended by the inactive
// timeout, reported on the active timeout and counted again, ended after a
// FIN's linger, drained at shutdown; a full table counts what it could not
// account; a refusing sink counts lost records; the ledger created = ended
// + live + lost holds.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include "corpus.hpp"
#include "firewall_util.hpp"
#include "flow/flow_table.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"

namespace dpdk_app {
namespace {

using namespace corpus;

constexpr uint64_t hz = 1'000'000;  // the simulated TSC: 1 MHz
constexpr uint64_t sec = hz;

bytes v4(uint8_t proto, const bytes& l4, std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst,
         uint8_t tos = 0) {
    ipv4_header h;
    h.proto = proto;
    h.src = src;
    h.dst = dst;
    h.tos = tos;
    return cat(ethernet(ether_ipv4), ipv4(h, l4));
}

bytes v6(uint8_t next, const bytes& l4) {
    ipv6_header h;
    h.next = next;
    return cat(ethernet(ether_ipv6), ipv6(h, l4));
}

// Records a vector; refuses once it holds `room` records.
struct vector_sink final : flow_sink {
    std::size_t room = SIZE_MAX;
    std::vector<flow_record> got;
    bool put(const flow_record& r) noexcept override {
        if (got.size() >= room) {
            return false;
        }
        got.push_back(r);
        return true;
    }
};

struct frame_in {
    bytes frame;
    uint16_t in_port = 0;
    uint16_t out_port = 1;
};

class flow_table_test : public unit::pool_test<flow_table_test> {
  public:
    static constexpr const char* pool_name = "flow_pool";
    static constexpr unsigned pool_size = 1023;

  protected:
    void make(uint32_t capacity = 1024, uint32_t top = 0) {
        std::string error;
        table_ = flow_table::create(0, capacity,
                                    {.inactive = 15 * sec, .active = 60 * sec, .linger = 2 * sec},
                                    sink_, clock_, top, error);
        ASSERT_TRUE(table_) << error;
    }
    void TearDown() override {
        table_.reset();
        pool_test::TearDown();
    }
    // One burst at second `at`.
    void run(double at, const std::vector<frame_in>& frames) {
        std::vector<rte_mbuf*> pkts;
        for (const auto& f : frames) {
            rte_mbuf* m = unit::make_mbuf(pool_, f.frame, f.in_port);
            ASSERT_NE(m, nullptr);
            packet_meta& pm = *meta_of(m);
            ASSERT_FALSE(parse_packet(m, pm)) << "a test frame is malformed";
            pm.in_port = f.in_port;
            m->port = f.out_port;  // the egress routing chose
            pkts.push_back(m);
        }
        table_->update(pkts.data(), static_cast<uint16_t>(pkts.size()),
                       static_cast<uint64_t>(at * static_cast<double>(sec)));
        for (rte_mbuf* m : pkts) {
            rte_pktmbuf_free(m);
        }
    }
    void expire(double at) {
        table_->expire(static_cast<uint64_t>(at * static_cast<double>(sec)), UINT32_MAX);
    }
    bool ledger_holds() const {
        return table_->created() == table_->ended() + table_->lost() + table_->live();
    }

    std::unique_ptr<flow_table> table_;
    tsc_clock clock_{.base_tsc = 0, .base_ms = 1'800'000'000'000, .hz = hz};
    vector_sink sink_;
};

const std::array<uint8_t, 4> A = {192, 0, 2, 1};
const std::array<uint8_t, 4> B = {198, 51, 100, 2};

TEST_F(flow_table_test, counts_each_flow_exactly_and_drains_them_at_shutdown) {
    make();
    const bytes u = v4(proto_udp, udp(5000, 53, 100), A, B, 0x28 << 2);  // DSCP 40
    const bytes t = v4(proto_tcp, tcp(40000, 443, 0x10), A, B);
    const bytes ping = v4(proto_icmp, icmp(8, 0, 56), A, B);
    const bytes six = v6(proto_udp, udp(1, 2, 10));
    run(1, {{u}, {u}, {t}, {ping}, {six}, {arp()}, {t, 2, 3}});
    run(2, {{u}});
    EXPECT_EQ(table_->live(), 5u) << "udp, tcp from port 0, tcp from port 2, ping, IPv6; ARP is no flow";
    table_->drain();
    ASSERT_EQ(sink_.got.size(), 5u);
    std::map<std::string, flow_record> by;
    for (const auto& r : sink_.got) {
        EXPECT_EQ(r.end, flow_end_reason::forced_end);
        by[std::to_string(r.ip_version) + "/" + std::to_string(r.proto) + "/" + std::to_string(r.in_if)] = r;
    }
    const flow_record& ur = by.at("4/17/0");
    EXPECT_EQ(ur.packets, 3u);
    EXPECT_EQ(ur.octets, 3u * (20 + 8 + 100)) << "IP length";
    EXPECT_EQ(ur.sport, 5000);
    EXPECT_EQ(ur.dport, 53);
    EXPECT_EQ(ur.dscp, 40);
    EXPECT_EQ(ur.out_if, 1);
    EXPECT_EQ(ur.first_ms, clock_.base_ms + 1000);
    EXPECT_EQ(ur.last_ms, clock_.base_ms + 2000);
    EXPECT_EQ(std::vector<uint8_t>(ur.src.begin(), ur.src.begin() + 4), std::vector<uint8_t>(A.begin(), A.end()));
    EXPECT_EQ(by.at("4/6/0").tcp_flags, 0x10);
    EXPECT_EQ(by.at("4/6/2").out_if, 3) << "another input port: another flow";
    EXPECT_EQ(by.at("4/1/0").dport, 8 << 8) << "ICMP: type << 8 | code";
    EXPECT_EQ(by.at("6/17/0").packets, 1u);
    EXPECT_EQ(table_->live(), 0u);
    EXPECT_TRUE(ledger_holds());
}

TEST_F(flow_table_test, inactive_active_and_fin_ends) {
    make();
    const bytes quiet = v4(proto_udp, udp(1, 1), A, B);
    const bytes talker = v4(proto_udp, udp(2, 2, 20), A, B);
    auto conn = [](uint8_t flags) { return v4(proto_tcp, tcp(3, 3, flags), A, B); };
    run(0, {{quiet}, {talker}, {conn(0x02)}});
    for (int s = 1; s <= 130; ++s) {
        run(s, {{talker}});
        if (s == 10) {
            run(s, {{conn(0x11)}});  // FIN: ends 2 s later
        }
        if (s == 11) {
            run(s, {{conn(0x10)}});  // the last ACK within the linger counts
        }
        expire(s + 0.5);
    }
    std::map<flow_end_reason, std::vector<flow_record>> by;
    for (const auto& r : sink_.got) {
        by[r.end].push_back(r);
    }
    ASSERT_EQ(by[flow_end_reason::idle_timeout].size(), 1u);
    EXPECT_EQ(by[flow_end_reason::idle_timeout][0].sport, 1) << "the quiet flow, 15 s after its packet";
    ASSERT_EQ(by[flow_end_reason::end_of_flow].size(), 1u);
    EXPECT_EQ(by[flow_end_reason::end_of_flow][0].packets, 3u);
    EXPECT_EQ(by[flow_end_reason::end_of_flow][0].tcp_flags, 0x13);
    // The talker: reported every 60 s, still live, nothing counted twice.
    ASSERT_EQ(by[flow_end_reason::active_timeout].size(), 2u);
    EXPECT_EQ(table_->active_reports(), 2u);
    uint64_t reported = 0;
    for (const auto& r : by[flow_end_reason::active_timeout]) {
        reported += r.packets;
        EXPECT_LE(r.last_ms - r.first_ms, 60'000u);
    }
    EXPECT_EQ(table_->live(), 1u);
    table_->drain();
    EXPECT_EQ(reported + sink_.got.back().packets, 131u);
    EXPECT_TRUE(ledger_holds());
}

TEST_F(flow_table_test, a_full_table_ends_an_older_flow_for_a_new_one) {
    make(1024);
    auto flow = [](uint32_t j) { return v4(proto_udp, udp(static_cast<uint16_t>(j), 9), A, B); };
    auto flows = [&](uint32_t from, uint32_t to, double at) {
        std::vector<frame_in> burst;
        for (uint32_t j = from; j < to; ++j) {
            burst.push_back({flow(j)});
            if (burst.size() == 32 || j + 1 == to) {
                run(at, burst);
                burst.clear();
            }
        }
    };
    flows(0, 1024 + 40, 0);
    // Every flow in the table was touched at this very time: none can make
    // room, and the 40 new flows' packets are counted as not accounted.
    EXPECT_EQ(table_->live(), 1024u);
    EXPECT_EQ(table_->table_full(), 40u);
    EXPECT_EQ(table_->evicted(), 0u);
    // 40 new flows a second later: 40 older ones end for lack of resources.
    flows(2000, 2040, 1);
    EXPECT_EQ(table_->live(), 1024u);
    EXPECT_EQ(table_->evicted(), 40u);
    EXPECT_EQ(table_->table_full(), 40u);
    ASSERT_EQ(sink_.got.size(), 40u);
    for (const auto& r : sink_.got) {
        EXPECT_EQ(r.end, flow_end_reason::lack_of_resources);
        EXPECT_LT(r.sport, 1024) << "an older flow, not one of this burst";
        EXPECT_EQ(r.packets, 1u);
    }
    run(1, {{flow(2000)}});  // a known flow still counts
    EXPECT_EQ(table_->table_full(), 40u);
    expire(20);  // every flow idle: room again
    EXPECT_EQ(table_->live(), 0u);
    run(21, {{flow(60000)}});
    EXPECT_EQ(table_->live(), 1u);
    EXPECT_TRUE(ledger_holds());
}

TEST_F(flow_table_test, the_largest_flows_are_published_after_a_pass) {
    make(1024, 3);
    std::vector<frame_in> burst;
    for (uint16_t p = 1; p <= 6; ++p) {
        for (uint16_t k = 0; k < p; ++k) {  // flow p: p packets of 100 + p bytes of payload
            burst.push_back({v4(proto_udp, udp(p, 9, static_cast<uint16_t>(100 + p)), A, B)});
        }
    }
    run(1, burst);
    std::vector<flow_top_row> by_octets, by_packets;
    EXPECT_EQ(table_->top().read(by_octets, by_packets), 0u) << "nothing published before a pass";
    EXPECT_TRUE(by_octets.empty());
    expire(2);  // one whole pass (no flow is due)
    EXPECT_NE(table_->top().read(by_octets, by_packets), 0u);
    ASSERT_EQ(by_octets.size(), 3u);
    ASSERT_EQ(by_packets.size(), 3u);
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(by_packets[i].key.sport, 6 - i);
        EXPECT_EQ(by_packets[i].packets, 6u - i);
        EXPECT_EQ(by_octets[i].key.sport, 6 - i);
        EXPECT_EQ(by_octets[i].octets, (6u - i) * (20 + 8 + 100 + 6 - i));
    }
    EXPECT_EQ(table_->live(), 6u);
}

TEST_F(flow_table_test, a_refusing_sink_loses_records_and_says_so) {
    make();
    std::vector<frame_in> burst;
    for (uint16_t p = 0; p < 10; ++p) {
        burst.push_back({v4(proto_udp, udp(p, 9), A, B)});
        burst.push_back({v4(proto_udp, udp(p, 9), A, B)});  // the same new flow twice in a burst
    }
    run(0, burst);
    EXPECT_EQ(table_->live(), 10u);
    EXPECT_EQ(table_->created(), 10u);
    sink_.room = 4;
    expire(30);
    EXPECT_EQ(sink_.got.size(), 4u);
    EXPECT_EQ(table_->lost(), 6u);
    for (const auto& r : sink_.got) {
        EXPECT_EQ(r.packets, 2u);
    }
    EXPECT_TRUE(ledger_holds());
}

}  // namespace
}  // namespace dpdk_app
