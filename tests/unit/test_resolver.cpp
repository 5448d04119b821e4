// The neighbour resolver on the control thread, driven by hand: packets
// punted for an unresolved next hop are held while ARP requests / neighbour
// solicitations go out with doubling intervals, released rewritten when the
// neighbour answers, dropped when it never does; entries age into re-checks;
// the hold queue is bounded; shutdown drops what is left, counted. Time is
// simulated: the resolver gets hz = 1000, so one tick is one millisecond.
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "corpus.hpp"
#include "eal_env.hpp"
#include "generation_util.hpp"
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "packet/parse.hpp"
#include "pipeline/generated.hpp"
#include "respond/resolver.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

namespace dpdk_app {
namespace {

constexpr uint64_t hz = 1000;
const rte_ether_addr mac0 = {{0x02, 0, 0, 0, 0, 0x01}};
const rte_ether_addr mac1 = {{0x02, 0, 0, 0, 0x01, 0x01}};
const uint8_t host7_mac[6] = {0x02, 0, 0, 0, 0x0a, 0x07};

ip_prefix prefix(const char* text) {
    std::string error;
    auto p = parse_ip_prefix(text, true, error);
    EXPECT_TRUE(p.has_value()) << text << ": " << error;
    return p.value_or(ip_prefix{});
}

ip_address address(const char* text) {
    auto a = parse_ip_address(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(ip_address{});
}

class resolver_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (unit::dpdk_environment::pool() == nullptr) {
            GTEST_SKIP() << unit::dpdk_environment::error();
        }
        ASSERT_TRUE(register_generated_flag());
        static unsigned instance = 0;
        ++instance;
        const std::string n = std::to_string(instance);
        rx_pool_ = create_mbuf_pool(("res_rx" + n).c_str(), 255, 0, packet_meta_priv_size,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
        ctl_pool_ = create_mbuf_pool(("res_ctl" + n).c_str(), 255, 0, packet_meta_priv_size,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
        ASSERT_NE(rx_pool_, nullptr);
        ASSERT_NE(ctl_pool_, nullptr);
        std::string error;
        sp_ = slow_path::create(1, 64, error);
        ASSERT_TRUE(sp_) << error;

        router_config rc;
        interface_config i0;
        i0.port = "p0";
        i0.addresses = {prefix("192.0.2.1/24")};
        interface_config i1;
        i1.port = "p1";
        i1.addresses = {prefix("198.51.100.1/24"), prefix("2001:db8:2::1/64")};
        rc.interfaces = {i0, i1};
        std::vector<config_error> errors;
        const resolved_router rr = resolve_router(rc, "test", errors);
        ASSERT_TRUE(errors.empty());
        fib_port p0;
        p0.id = 0;
        p0.mac = mac0;
        p0.addr4 = {rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1))};
        fib_port p1;
        p1.id = 1;
        p1.mac = mac1;
        p1.addr4 = {rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, 1))};
        p1.addr6 = {prefix("2001:db8:2::1/128").address.bytes};
        auto f = fib::build(rr, {{"p0", p0}, {"p1", p1}}, 1, sp_->neighbors(), true, error);
        ASSERT_TRUE(f) << error;
        store_ = unit::store_with(std::move(f));
        settings_.hold_per_neighbor = 2;
        settings_.retries = 3;
        settings_.retry_ms = 100;
        settings_.timeout_s = 5;
        settings_.failed_hold_ms = 500;
        res_ = std::make_unique<resolver>(*sp_, *store_, ctl_pool_, settings_, hz);
    }

    void TearDown() override {
        res_.reset();  // drops what it still holds
        drain_inject();
        store_.reset();
        sp_.reset();
        if (rx_pool_ != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(rx_pool_), 255u) << "RX mbufs leaked";
            rte_mempool_free(rx_pool_);
        }
        if (ctl_pool_ != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(ctl_pool_), 255u) << "control mbufs leaked";
            rte_mempool_free(ctl_pool_);
        }
    }

    // A routed IPv4 / IPv6 UDP packet the route stage punted: egress port 1.
    rte_mbuf* punted(const corpus::bytes& frame) {
        rte_mbuf* m = rte_pktmbuf_alloc(rx_pool_);
        EXPECT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                    frame.size());
        m->port = 0;
        packet_meta& pm = *meta_of(m);
        EXPECT_FALSE(parse_packet(m, pm).has_value());
        pm.punt = punt_kind::unresolved;
        pm.punt_arg = no_neighbor_slot;
        m->port = 1;
        return m;
    }
    rte_mbuf* punted4(uint8_t last, uint8_t ttl = 64) {
        corpus::ipv4_header h;
        h.src = {192, 0, 2, 10};
        h.dst = {198, 51, 100, last};
        h.ttl = ttl;
        return punted(corpus::cat(corpus::ethernet(RTE_ETHER_TYPE_IPV4),
                                  corpus::ipv4(h, corpus::udp(1000, 53, 20))));
    }
    void punt(rte_mbuf* m) { ASSERT_EQ(rte_ring_sp_enqueue(sp_->punt(0), m), 0); }

    void learn4(uint8_t last, const uint8_t* mac, bool targeted) {
        learn_message msg;
        msg.port = 1;
        msg.targeted = targeted ? 1 : 0;
        std::memcpy(msg.mac, mac, 6);
        const uint8_t ip[4] = {198, 51, 100, last};
        std::memcpy(msg.address, ip, 4);
        ASSERT_EQ(rte_ring_sp_enqueue_elem(sp_->learn(0), &msg, sizeof msg), 0);
    }

    // What the resolver handed to lane 0's TX.
    std::vector<rte_mbuf*> injected() {
        std::vector<rte_mbuf*> out;
        void* m = nullptr;
        while (rte_ring_sc_dequeue(sp_->inject(0), &m) == 0) {
            out.push_back(static_cast<rte_mbuf*>(m));
        }
        return out;
    }
    void drain_inject() {
        if (sp_) {
            for (rte_mbuf* m : injected()) {
                rte_pktmbuf_free(m);
            }
        }
    }
    static void free_all(const std::vector<rte_mbuf*>& v) {
        for (rte_mbuf* m : v) {
            rte_pktmbuf_free(m);
        }
    }

    uint64_t ev(event e) const { return sp_->counters().events[static_cast<size_t>(e)].get(); }
    uint64_t drops(drop_reason r) const {
        return sp_->counters().drops[static_cast<size_t>(r)].get();
    }
    uint64_t held() const { return sp_->counters().held.get(); }

    static bool is_arp_request_for(const rte_mbuf* m, uint8_t last, const rte_ether_addr* dst) {
        const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
        const auto* a = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, sizeof(rte_ether_hdr));
        const rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
        return eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
               rte_is_same_ether_addr(&eth->dst_addr, dst != nullptr ? dst : &bcast) &&
               rte_is_same_ether_addr(&eth->src_addr, &mac1) &&
               a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
               a->arp_data.arp_sip == rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, 1)) &&
               a->arp_data.arp_tip == rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, last)) &&
               m->port == 1 && is_generated(m);
    }

    rte_mempool* rx_pool_ = nullptr;
    rte_mempool* ctl_pool_ = nullptr;
    std::unique_ptr<slow_path> sp_;
    std::unique_ptr<generation_store> store_;
    resolver_settings settings_;
    std::unique_ptr<resolver> res_;
};

TEST_F(resolver_test, holds_asks_and_releases_the_packet_rewritten) {
    punt(punted4(7));
    res_->poll(0);
    auto out = injected();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(is_arp_request_for(out[0], 7, nullptr));
    free_all(out);
    EXPECT_EQ(held(), 1u);
    EXPECT_EQ(ev(event::arp_requests), 1u);
    EXPECT_EQ(sp_->counters().generated.get(), 1u);

    learn4(7, host7_mac, true);
    res_->poll(10);
    out = injected();
    ASSERT_EQ(out.size(), 1u);
    rte_mbuf* m = out[0];
    EXPECT_FALSE(is_generated(m)) << "a held packet is forwarded, not generated";
    EXPECT_EQ(m->port, 1);
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    EXPECT_EQ(std::memcmp(eth->dst_addr.addr_bytes, host7_mac, 6), 0);
    EXPECT_TRUE(rte_is_same_ether_addr(&eth->src_addr, &mac1));
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    EXPECT_EQ(ip->time_to_live, 63);
    EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "the header checksum follows the TTL";
    free_all(out);
    EXPECT_EQ(held(), 0u);
    EXPECT_EQ(ev(event::neighbors_learned), 1u);
    EXPECT_EQ(ev(event::held_released), 1u);

    // The lanes now find the neighbour themselves.
    const int32_t slot = sp_->neighbors().find(address("198.51.100.7"));
    ASSERT_GE(slot, 0);
    const neighbor_view v = neighbor_table::unpack(sp_->neighbors().load(static_cast<uint32_t>(slot)));
    EXPECT_EQ(v.state, neighbor_state::reachable);
    EXPECT_EQ(v.port, 1);
    EXPECT_EQ(std::memcmp(v.mac.addr_bytes, host7_mac, 6), 0);
}

TEST_F(resolver_test, retries_with_doubling_intervals_then_fails_and_drops) {
    // The control loop polls about every millisecond; the resolver's timers
    // run every 10 ms of those polls, so a retry may be up to 10 ms late.
    punt(punted4(8));
    std::vector<uint64_t> asked;
    uint64_t failed_at = 0;
    for (uint64_t now = 0; now <= 1000 && failed_at == 0; ++now) {
        res_->poll(now);
        for (rte_mbuf* m : injected()) {
            EXPECT_TRUE(is_arp_request_for(m, 8, nullptr));
            asked.push_back(now);
            rte_pktmbuf_free(m);
        }
        if (ev(event::neighbors_failed) > 0) {
            failed_at = now;
        }
    }
    ASSERT_EQ(asked.size(), 3u) << "resolve_retries = 3 requests";
    EXPECT_EQ(asked[0], 0u);
    EXPECT_GE(asked[1], 100u);  // retry_ms
    EXPECT_LT(asked[1], 111u);
    EXPECT_GE(asked[2] - asked[1], 200u);  // doubled
    EXPECT_LT(asked[2] - asked[1], 211u);
    EXPECT_GE(failed_at - asked[2], 400u);  // doubled again, then given up
    EXPECT_LT(failed_at - asked[2], 411u);
    EXPECT_EQ(held(), 0u);
    EXPECT_EQ(drops(drop_reason::neighbor_unresolved), 1u);
    EXPECT_EQ(ev(event::arp_requests), 3u);

    // Within failed_hold_ms packets are dropped at once, without asking.
    punt(punted4(8));
    res_->poll(failed_at + 200);
    EXPECT_TRUE(injected().empty());
    EXPECT_EQ(drops(drop_reason::neighbor_unresolved), 2u);
    // After it, resolution starts again.
    punt(punted4(8));
    res_->poll(failed_at + 600);
    auto out = injected();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(is_arp_request_for(out[0], 8, nullptr));
    free_all(out);
    EXPECT_EQ(held(), 1u);
}

TEST_F(resolver_test, hold_queue_is_bounded_per_neighbor) {
    for (int i = 0; i < 4; ++i) {
        punt(punted4(9));
    }
    res_->poll(0);
    free_all(injected());
    EXPECT_EQ(held(), 2u);
    EXPECT_EQ(drops(drop_reason::neighbor_queue_full), 2u);
    EXPECT_EQ(ev(event::arp_requests), 1u) << "one request per neighbour, not per packet";
}

TEST_F(resolver_test, learns_only_what_is_addressed_to_us_or_known) {
    learn4(20, host7_mac, false);  // a gratuitous ARP from a stranger
    res_->poll(0);
    EXPECT_LT(sp_->neighbors().find(address("198.51.100.20")), 0);
    EXPECT_EQ(ev(event::neighbors_learned), 0u);
    learn4(20, host7_mac, true);  // a request for our address
    res_->poll(1);
    EXPECT_GE(sp_->neighbors().find(address("198.51.100.20")), 0);
    EXPECT_EQ(ev(event::neighbors_learned), 1u);
    const uint8_t moved[6] = {0x02, 0, 0, 0, 0x0a, 0x99};
    learn4(20, moved, false);  // the known neighbour announces a new MAC
    res_->poll(2);
    EXPECT_EQ(ev(event::neighbors_updated), 1u);
    const auto slot = static_cast<uint32_t>(sp_->neighbors().find(address("198.51.100.20")));
    EXPECT_EQ(std::memcmp(neighbor_table::unpack(sp_->neighbors().load(slot)).mac.addr_bytes, moved, 6),
              0);
}

TEST_F(resolver_test, ages_entries_into_unicast_rechecks) {
    learn4(7, host7_mac, true);
    res_->poll(0);
    const auto slot = static_cast<uint32_t>(sp_->neighbors().find(address("198.51.100.7")));
    res_->poll(4000);
    EXPECT_TRUE(injected().empty());
    res_->poll(5100);  // older than timeout_s = 5
    EXPECT_EQ(neighbor_table::unpack(sp_->neighbors().load(slot)).state, neighbor_state::stale)
        << "still used while it is re-checked";
    EXPECT_EQ(ev(event::neighbors_expired), 1u);
    auto out = injected();
    ASSERT_EQ(out.size(), 1u);
    rte_ether_addr known;
    std::memcpy(known.addr_bytes, host7_mac, 6);
    EXPECT_TRUE(is_arp_request_for(out[0], 7, &known)) << "unicast to the known MAC";
    free_all(out);
    learn4(7, host7_mac, true);
    res_->poll(5150);
    EXPECT_EQ(neighbor_table::unpack(sp_->neighbors().load(slot)).state, neighbor_state::reachable);
}

TEST_F(resolver_test, solicits_ipv6_neighbors_on_their_solicited_node_group) {
    corpus::ipv6_header h;
    h.dst = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
    punt(punted(corpus::cat(corpus::ethernet(RTE_ETHER_TYPE_IPV6),
                            corpus::ipv6(h, corpus::udp(1000, 53, 10)))));
    res_->poll(0);
    auto out = injected();
    ASSERT_EQ(out.size(), 1u);
    rte_mbuf* m = out[0];
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    const rte_ether_addr group = {{0x33, 0x33, 0xff, 0x00, 0x12, 0x34}};
    EXPECT_TRUE(rte_is_same_ether_addr(&eth->dst_addr, &group));
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    const uint8_t solicited[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x00, 0x12, 0x34};
    EXPECT_EQ(std::memcmp(ip->dst_addr, solicited, 16), 0);
    EXPECT_EQ(ip->hop_limits, 255);
    EXPECT_EQ(ip->proto, IPPROTO_ICMPV6);
    const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
    EXPECT_EQ(icmp[0], 135);  // neighbour solicitation
    EXPECT_EQ(std::memcmp(icmp + 8, h.dst.data(), 16), 0);
    EXPECT_EQ(icmp[24], 1) << "source link-layer address option";
    EXPECT_EQ(std::memcmp(icmp + 26, mac1.addr_bytes, 6), 0);
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0) << "ICMPv6 checksum";
    EXPECT_EQ(ev(event::neighbor_solicitations), 1u);
    free_all(out);
}

TEST_F(resolver_test, shutdown_drops_what_is_held_and_queued) {
    punt(punted4(11));
    res_->poll(0);
    free_all(injected());
    punt(punted4(12));  // still in the punt ring
    res_->shutdown();
    EXPECT_EQ(held(), 0u);
    EXPECT_EQ(drops(drop_reason::neighbor_unresolved), 2u);
}

TEST_F(resolver_test, announces_every_ipv4_address) {
    res_->announce();
    auto out = injected();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(ev(event::gratuitous_arps), 2u);
    for (rte_mbuf* m : out) {
        const auto* a = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, sizeof(rte_ether_hdr));
        EXPECT_EQ(a->arp_data.arp_sip, a->arp_data.arp_tip) << "gratuitous: sender = target";
        EXPECT_TRUE(is_generated(m));
    }
    free_all(out);
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

TEST(neighbor_table, each_family_holds_capacity_entries) {
    if (unit::dpdk_environment::pool() == nullptr) {
        GTEST_SKIP() << unit::dpdk_environment::error();
    }
    std::string error;
    auto t = neighbor_table::create(4, "ut_cap", error);
    ASSERT_TRUE(t) << error;
    for (int i = 1; i <= 4; ++i) {
        const std::string a = "198.51.100." + std::to_string(i);
        EXPECT_EQ(t->insert(address(a.c_str()), 1), i - 1) << a;
    }
    EXPECT_EQ(t->insert(address("198.51.100.1"), 1), 0) << "known: the same slot";
    EXPECT_EQ(t->insert(address("198.51.100.5"), 1), -1) << "IPv4 is full";
    EXPECT_EQ(t->insert(address("2001:db8::5"), 1), 4) << "IPv6 has its own share";
    EXPECT_EQ(t->find(address("198.51.100.5")), -1);
    EXPECT_EQ(t->find(address("198.51.100.3")), 2);
    EXPECT_EQ(neighbor_table::unpack(t->load(2)).state, neighbor_state::incomplete);
}

}  // namespace
}  // namespace dpdk_app
