// The stage framework with real DPDK, in-process: EAL without hugepages,
// ports from rte_eth_from_rings() (RX reads a ring the test fills, TX writes a
// ring the test reads) and segments driven with step() on the test thread.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/compose.hpp"
#include "eal_env.hpp"
#include "forward/bridge.hpp"
#include "io/port.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/placement.hpp"
#include "pipeline/segment.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {
namespace {

using ::testing::ElementsAre;
using step_result = segment::step_result;

using unit::dpdk_environment;

constexpr unsigned pool_size = dpdk_environment::pool_size;
constexpr uint16_t payload_len = 64;

struct test_port {
    uint16_t id = no_port;
    std::string name;  // the ethdev name: "net_ring_" + the name given to rte_eth_from_rings
    std::vector<rte_ring*> rx;  // the test enqueues here, the port's RX reads
    std::vector<rte_ring*> tx;  // the port's TX writes here, the test dequeues
};

uint32_t seq_of(const rte_mbuf* m) {
    uint32_t seq;
    std::memcpy(&seq, rte_pktmbuf_mtod(m, const char*), sizeof seq);
    return seq;
}

bool payload_intact(const rte_mbuf* m) {
    if (rte_pktmbuf_data_len(m) != payload_len || rte_pktmbuf_pkt_len(m) != payload_len) {
        return false;
    }
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t seq = seq_of(m);
    for (uint16_t i = sizeof seq; i < payload_len; ++i) {
        if (p[i] != static_cast<uint8_t>(seq * 7 + i)) {
            return false;
        }
    }
    return true;
}

// A stage for tests: drops odd sequence numbers, consumes every 5th of the
// rest (sequence multiple of 5), keeps the others in order.
class sieve_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "sieve"; }
    void process(burst& b, stage_context& ctx) noexcept override {
        uint16_t kept = 0;
        for (uint16_t i = 0; i < b.count; ++i) {
            rte_mbuf* m = b.pkts[i];
            const uint32_t seq = seq_of(m);
            if (seq % 2 == 1) {
                ctx.drop(m, drop_reason::no_egress_port);
            } else if (seq % 5 == 0) {
                ctx.consume(m);
            } else {
                b.pkts[kept++] = m;
            }
        }
        b.count = kept;
    }
};

// Counts the rte_eth_tx_burst calls on queue 0 of a port while it lives
// (a TX callback, removed again on destruction).
class tx_call_counter {
  public:
    explicit tx_call_counter(uint16_t port) : port_(port) {
        cb_ = rte_eth_add_tx_callback(port, 0, &tx_call_counter::count, &calls_);
        EXPECT_NE(cb_, nullptr) << "cannot add a TX callback to port " << port;
    }
    ~tx_call_counter() {
        if (cb_ != nullptr) {
            rte_eth_remove_tx_callback(port_, 0, cb_);
        }
    }
    tx_call_counter(const tx_call_counter&) = delete;
    tx_call_counter& operator=(const tx_call_counter&) = delete;
    unsigned calls() const { return calls_; }

  private:
    static uint16_t count(uint16_t, uint16_t, rte_mbuf**, uint16_t n, void* arg) {
        ++*static_cast<unsigned*>(arg);
        return n;
    }
    uint16_t port_;
    unsigned calls_ = 0;
    const rte_eth_rxtx_callback* cb_ = nullptr;
};

// Turns packets into "replies" as the responder does (reuse_consumed): every
// packet with all_of = true (and says so with burst::all_generated), else
// the even ones (the burst only knows some may be generated).
class reply_stage final : public stage {
  public:
    explicit reply_stage(bool all_of) : all_of_(all_of) {}
    std::string_view name() const noexcept override { return "reply"; }
    void process(burst& b, stage_context& ctx) noexcept override {
        for (uint16_t i = 0; i < b.count; ++i) {
            if (all_of_ || seq_of(b.pkts[i]) % 2 == 0) {
                ctx.reuse_consumed(b.pkts[i]);
            }
        }
        b.has_generated = true;
        b.all_generated = all_of_;
    }

  private:
    bool all_of_;
};

// Sends even sequence numbers to one port and odd ones to the other, and
// turns every third packet into a "reply" (generated).
class split_stage final : public stage {
  public:
    split_stage(uint16_t even, uint16_t odd) : even_(even), odd_(odd) {}
    std::string_view name() const noexcept override { return "split"; }
    void process(burst& b, stage_context& ctx) noexcept override {
        b.out_port = no_port;
        for (uint16_t i = 0; i < b.count; ++i) {
            const uint32_t seq = seq_of(b.pkts[i]);
            b.pkts[i]->port = seq % 2 == 0 ? even_ : odd_;
            if (seq % 3 == 0) {
                ctx.reuse_consumed(b.pkts[i]);
            }
        }
        b.has_generated = true;
    }

  private:
    uint16_t even_;
    uint16_t odd_;
};

// Groups a burst by egress itself, as the fused router stage does: sequence
// numbers divisible by 3 to one port first, the rest to the other after
// them, each in order, and says so in burst::port_runs (or, with
// inconsistent = true, gives runs that do not add up to the burst).
class runs_stage final : public stage {
  public:
    runs_stage(uint16_t thirds, uint16_t rest, bool inconsistent)
        : thirds_(thirds), rest_(rest), inconsistent_(inconsistent) {}
    std::string_view name() const noexcept override { return "runs"; }
    void process(burst& b, stage_context&) noexcept override {
        b.out_port = no_port;
        std::vector<rte_mbuf*> first;
        std::vector<rte_mbuf*> second;
        for (uint16_t i = 0; i < b.count; ++i) {
            const bool third = seq_of(b.pkts[i]) % 3 == 0;
            b.pkts[i]->port = third ? thirds_ : rest_;
            (third ? first : second).push_back(b.pkts[i]);
        }
        std::copy(first.begin(), first.end(), b.pkts.begin());
        std::copy(second.begin(), second.end(), b.pkts.begin() + first.size());
        b.port_runs = {static_cast<uint16_t>(first.size()), static_cast<uint16_t>(second.size())};
        if (inconsistent_) {
            b.port_runs[1] = 0;
        }
    }

  private:
    uint16_t thirds_;
    uint16_t rest_;
    bool inconsistent_;
};

// Sends sequence number s to ports[s % ports.size()].
class spread_stage final : public stage {
  public:
    explicit spread_stage(std::vector<uint16_t> ports) : ports_(std::move(ports)) {}
    std::string_view name() const noexcept override { return "spread"; }
    void process(burst& b, stage_context&) noexcept override {
        b.out_port = no_port;
        for (uint16_t i = 0; i < b.count; ++i) {
            b.pkts[i]->port = ports_[seq_of(b.pkts[i]) % ports_.size()];
        }
    }

  private:
    std::vector<uint16_t> ports_;
};

// Sends packets to ports that do not exist: seq % 3 == 0 to port 31 (below
// max_ports but no device), seq % 3 == 1 to port 200 (beyond max_ports).
class misroute_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "misroute"; }
    void process(burst& b, stage_context&) noexcept override {
        b.materialize_egress();
        for (uint16_t i = 0; i < b.count; ++i) {
            const uint32_t seq = seq_of(b.pkts[i]);
            if (seq % 3 == 0) {
                b.pkts[i]->port = 31;
            } else if (seq % 3 == 1) {
                b.pkts[i]->port = 200;
            }
        }
    }
};

// A pipeline of the composer's stages for a bridge on these ports, as the
// dataplane builds it (no slow path: these chains have no responder).
std::unique_ptr<pipeline> create_pipeline(const pipeline_options& opt, const placement& where,
                                          const std::vector<port_plan>& plans,
                                          std::string& error) {
    static const app_config bridge_config;
    std::vector<uint16_t> ids;
    for (const auto& p : plans) {
        ids.push_back(p.port_id);
    }
    const stage_builder build = [plans](const std::vector<std::string>& names, unsigned lane,
                                        std::vector<std::unique_ptr<stage>>& out,
                                        std::string& why) {
        stage_deps deps;
        deps.lane = lane;
        deps.config = &bridge_config;
        deps.ports = &plans;
        deps.tsc_hz = rte_get_tsc_hz();
        return make_stages(names, deps, true, out, why);
    };
    return pipeline::create(opt, where, ids, build, {}, error);
}

class segment_test : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(dpdk_environment::error(), "");
        pool_ = dpdk_environment::pool();
        ASSERT_NE(pool_, nullptr);
        start_avail_ = rte_mempool_avail_count(pool_);
        ASSERT_EQ(start_avail_, pool_size);
    }

    void TearDown() override {
        for (auto& p : ports_) {
            for (rte_ring* r : p.rx) {
                free_all(drain(r));
            }
            for (rte_ring* r : p.tx) {
                free_all(drain(r));
            }
            stop_and_close_port(p.id);
            rte_vdev_uninit(p.name.c_str());
        }
        for (rte_ring* r : rings_) {
            free_all(drain(r));
        }
        for (auto& p : ports_) {
            for (rte_ring* r : p.rx) {
                rte_ring_free(r);
            }
            for (rte_ring* r : p.tx) {
                rte_ring_free(r);
            }
        }
        for (rte_ring* r : rings_) {
            rte_ring_free(r);
        }
        // Every mbuf a test took from the pool is back.
        EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_) << "mbufs leaked";
    }

    static std::string unique(const char* what) {
        static unsigned n = 0;
        return std::string(what) + std::to_string(++n);
    }

    rte_ring* make_ring(unsigned size) {
        rte_ring* r = rte_ring_create(unique("ut_r").c_str(), size, SOCKET_ID_ANY,
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
        EXPECT_NE(r, nullptr) << rte_strerror(rte_errno);
        return r;
    }

    // An ethdev on rings: queues RX and TX queues, created but not started.
    test_port& make_port(unsigned queues = 1, unsigned rx_size = 1024, unsigned tx_size = 1024) {
        test_port p;
        const std::string short_name = unique("ut");
        for (unsigned q = 0; q < queues; ++q) {
            p.rx.push_back(rte_ring_create(unique("ut_prx").c_str(), rx_size, SOCKET_ID_ANY,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ));
            p.tx.push_back(rte_ring_create(unique("ut_ptx").c_str(), tx_size, SOCKET_ID_ANY,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ));
            EXPECT_NE(p.rx.back(), nullptr);
            EXPECT_NE(p.tx.back(), nullptr);
        }
        const int id = rte_eth_from_rings(short_name.c_str(), p.rx.data(), queues, p.tx.data(),
                                          queues, rte_socket_id());
        EXPECT_GE(id, 0) << rte_strerror(rte_errno);
        p.id = static_cast<uint16_t>(id);
        char name[RTE_ETH_NAME_MAX_LEN];
        EXPECT_EQ(rte_eth_dev_get_name_by_port(p.id, name), 0);
        p.name = name;
        EXPECT_EQ(p.name, "net_ring_" + short_name);
        ports_.push_back(p);
        return ports_.back();
    }

    // Starts ports a and b as bridge peers of each other.
    std::vector<port_plan> start_pair(const test_port& a, const test_port& b, uint16_t lanes = 1) {
        std::vector<port_plan> plans = {{a.id, a.name, b.id, 1024, 1024, true},
                                        {b.id, b.name, a.id, 1024, 1024, true}};
        for (auto& plan : plans) {
            EXPECT_EQ(start_port(plan, lanes, pool_), "");
        }
        return plans;
    }

    // Puts n packets with sequence numbers first.. on the RX ring of a port
    // queue, as the wire would: m->port is the ingress port.
    void inject(const test_port& p, unsigned n, uint32_t first = 0, unsigned queue = 0) {
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = rte_pktmbuf_alloc(pool_);
            ASSERT_NE(m, nullptr);
            auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, payload_len));
            ASSERT_NE(data, nullptr);
            const uint32_t seq = first + i;
            std::memcpy(data, &seq, sizeof seq);
            for (uint16_t k = sizeof seq; k < payload_len; ++k) {
                data[k] = static_cast<uint8_t>(seq * 7 + k);
            }
            m->port = p.id;
            ASSERT_EQ(rte_ring_enqueue(p.rx[queue], m), 0);
        }
    }

    static std::vector<rte_mbuf*> drain(rte_ring* r) {
        std::vector<rte_mbuf*> out;
        void* obj;
        while (rte_ring_dequeue(r, &obj) == 0) {
            out.push_back(static_cast<rte_mbuf*>(obj));
        }
        return out;
    }

    static void free_all(const std::vector<rte_mbuf*>& v) {
        for (rte_mbuf* m : v) {
            rte_pktmbuf_free(m);
        }
    }

    // Takes what a port transmitted on a queue: sequence numbers, in order.
    // Checks that every packet is unchanged (being on p's TX ring proves its
    // egress: with a burst-level egress, TX does not rewrite mbuf->port).
    std::vector<uint32_t> transmitted(const test_port& p, unsigned queue = 0) {
        std::vector<uint32_t> seqs;
        const auto pkts = drain(p.tx[queue]);
        for (rte_mbuf* m : pkts) {
            seqs.push_back(seq_of(m));
            EXPECT_TRUE(payload_intact(m)) << "seq " << seq_of(m);
        }
        free_all(pkts);
        return seqs;
    }

    static std::vector<uint32_t> range(uint32_t first, uint32_t n, uint32_t step = 1) {
        std::vector<uint32_t> v;
        for (uint32_t i = 0; i < n; ++i) {
            v.push_back(first + i * step);
        }
        return v;
    }

    // Steps until `quiet` idle results in a row; returns how many steps worked.
    static unsigned step_until_idle(segment& s, unsigned quiet = 4) {
        unsigned worked = 0;
        unsigned idle = 0;
        for (unsigned i = 0; i < 100000 && idle < quiet; ++i) {
            const step_result r = s.step();
            if (r == step_result::worked) {
                ++worked;
                idle = 0;
            } else {
                ++idle;
            }
        }
        return worked;
    }

    static uint64_t dropped(const segment_counters& c) {
        uint64_t n = 0;
        for (const auto& d : c.drops) {
            n += d.get();
        }
        return n;
    }

    static uint64_t drops(const segment_counters& c, drop_reason r) {
        return c.drops[static_cast<std::size_t>(r)].get();
    }

    segment::wiring rx_wiring(std::vector<uint16_t> rx_ports) {
        segment::wiring w;
        w.rx_ports = std::move(rx_ports);
        w.burst_size = 32;
        w.stop_rx = &stop_;
        w.timing_sample = 1;  // time every burst
        return w;
    }

    // One segment: RX on rx_port, the stage s, TX.
    std::unique_ptr<segment> rx_stage_tx(uint16_t rx_port, std::unique_ptr<stage> s) {
        std::vector<std::unique_ptr<stage>> stages;
        stages.push_back(std::move(s));
        auto w = rx_wiring({rx_port});
        w.tx = true;
        return std::make_unique<segment>(w, std::move(stages));
    }

    rte_mempool* pool_ = nullptr;
    unsigned start_avail_ = 0;
    std::atomic<bool> stop_{false};
    std::deque<test_port> ports_;  // stable references
    std::vector<rte_ring*> rings_;
};

// Conservation over the segments of one lane: every received packet is
// forwarded, dropped, consumed or still in flight (rings and held outputs).
void expect_conserved(const std::vector<const segment*>& segs, const std::vector<rte_ring*>& rings,
                      const char* where) {
    uint64_t rx = 0, out = 0;
    for (const segment* s : segs) {
        const segment_counters& c = s->counters();
        rx += c.rx.get();
        out += c.forwarded.get() + c.consumed.get() + c.held.get();
        for (const auto& d : c.drops) {
            out += d.get();
        }
    }
    for (rte_ring* r : rings) {
        out += rte_ring_count(r);
    }
    EXPECT_EQ(rx, out) << where;
}

TEST_F(segment_test, single_segment_rx_bridge_tx_forwards_everything_unchanged) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 100, 0);
    inject(b, 37, 1000);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id, b.id});
    w.tx = true;
    segment seg(w, std::move(stages));
    EXPECT_THAT(seg.stage_names(), ElementsAre("rx", "bridge", "tx"));

    // Round robin over a and b: a gives 32, 32, 32, 4 and b 32, 5.
    const uint64_t tsc_before = rte_rdtsc();
    EXPECT_EQ(step_until_idle(seg), 6u);
    const uint64_t tsc_spent = rte_rdtsc() - tsc_before;

    EXPECT_EQ(transmitted(b), range(0, 100));
    EXPECT_EQ(transmitted(a), range(1000, 37));

    const segment_counters& c = seg.counters();
    EXPECT_EQ(c.rx.get(), 137u);
    EXPECT_EQ(c.forwarded.get(), 137u);
    EXPECT_EQ(c.consumed.get(), 0u);
    EXPECT_EQ(c.generated.get(), 0u);
    EXPECT_EQ(c.held.get(), 0u);
    EXPECT_EQ(dropped(c), 0u);
    EXPECT_EQ(c.port_rx[a.id].get(), 100u);
    EXPECT_EQ(c.port_rx[b.id].get(), 37u);
    EXPECT_EQ(c.port_tx[a.id].get(), 37u);
    EXPECT_EQ(c.port_tx[b.id].get(), 100u);
    for (std::size_t slot = 0; slot < 3; ++slot) {
        SCOPED_TRACE(seg.stage_names()[slot]);
        EXPECT_EQ(c.stages[slot].packets_in.get(), 137u);
        EXPECT_EQ(c.stages[slot].packets_out.get(), 137u);
        EXPECT_EQ(c.stages[slot].bursts.get(), 6u);
    }
    EXPECT_GT(c.stages[0].cycles.get(), 0u);
    EXPECT_GT(c.stages[2].cycles.get(), 0u);
    // Each stage is charged only cycles spent in these steps.
    uint64_t charged = 0;
    for (std::size_t slot = 0; slot < 3; ++slot) {
        charged += c.stages[slot].cycles.get();
    }
    EXPECT_LE(charged, tsc_spent);
    EXPECT_EQ(c.stages[3].bursts.get(), 0u);  // no fourth stage
    EXPECT_FALSE(seg.done());
}

TEST_F(segment_test, idle_rx_counts_nothing) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    segment seg(w, std::move(stages));
    EXPECT_EQ(seg.step(), step_result::idle);
    EXPECT_EQ(seg.step(), step_result::idle);
    EXPECT_EQ(seg.counters().rx.get(), 0u);
    EXPECT_EQ(seg.counters().stages[0].bursts.get(), 0u);
    EXPECT_EQ(seg.counters().stages[1].bursts.get(), 0u);
}

// A port that stays empty is polled on one visit in idle_rx_backoff once it
// came back empty idle_rx_polls times in a row; its packets still all come
// through, and a poll that returns packets ends the backoff.
TEST_F(segment_test, an_idle_rx_port_is_polled_less_until_it_has_packets) {
    for (const uint32_t backoff : {8u, 1u}) {
        SCOPED_TRACE("idle_rx_backoff " + std::to_string(backoff));
        test_port& a = make_port();
        test_port& b = make_port();
        const auto plans = start_pair(a, b);
        std::vector<std::unique_ptr<stage>> stages;
        stages.push_back(std::make_unique<bridge_stage>(plans));
        auto w = rx_wiring({a.id, b.id});
        w.tx = true;
        w.idle_rx_backoff = backoff;
        segment seg(w, std::move(stages));
        const segment_counters& c = seg.counters();

        // a always has packets, b none: every step polls exactly one port.
        constexpr unsigned steps = 800;
        uint32_t seq = 0;
        std::vector<uint32_t> from_a;
        for (unsigned i = 0; i < steps; ++i) {
            inject(a, 2, seq);
            seq += 2;
            EXPECT_NE(seg.step(), step_result::finished);
            const auto got = transmitted(b);
            from_a.insert(from_a.end(), got.begin(), got.end());
        }
        const uint64_t polls_a = c.port_rx_polls[a.id].get();
        const uint64_t polls_b = c.port_rx_polls[b.id].get();
        EXPECT_EQ(polls_a + polls_b, steps);
        if (backoff == 1) {
            EXPECT_EQ(polls_b, steps / 2);  // round robin, as l3fwd polls
        } else {
            // 16 empty polls on alternate steps, then 1 visit in 8: a poll
            // of b, a poll of a, then 7 visits of b that poll a instead.
            const uint64_t expected =
                segment::idle_rx_polls + (steps - 2 * segment::idle_rx_polls) / (backoff + 1);
            EXPECT_GE(polls_b, expected - 2);
            EXPECT_LE(polls_b, expected + 2);
        }

        // b's packets come through within one backoff period of polls of a,
        // and the poll that returns them ends b's backoff.
        inject(b, 10, 100000);
        std::vector<uint32_t> from_b;
        unsigned waited = 0;
        while (from_b.size() < 10 && waited < 4 * backoff + 4) {
            inject(a, 2, seq);
            seq += 2;
            seg.step();
            ++waited;
            const auto got = transmitted(a);
            from_b.insert(from_b.end(), got.begin(), got.end());
            const auto more = transmitted(b);
            from_a.insert(from_a.end(), more.begin(), more.end());
        }
        EXPECT_EQ(from_b, range(100000, 10));
        EXPECT_LE(waited, 2 * backoff + 1);
        const uint64_t polls_b_after = c.port_rx_polls[b.id].get();
        seg.step();  // a
        seg.step();  // b again on its next visit, empty: not backed off yet
        EXPECT_EQ(c.port_rx_polls[b.id].get(), polls_b_after + 1);
        step_until_idle(seg);  // whatever a still holds
        const auto rest = transmitted(b);
        from_a.insert(from_a.end(), rest.begin(), rest.end());

        EXPECT_EQ(from_a, range(0, seq));  // every packet of a, in order
        EXPECT_EQ(c.rx.get(), seq + 10u);
        EXPECT_EQ(c.forwarded.get(), seq + 10u);
        EXPECT_EQ(dropped(c), 0u);
        EXPECT_EQ(c.port_rx[b.id].get(), 10u);
    }
}

TEST_F(segment_test, two_segments_over_a_ring_keep_order_and_conserve_packets) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    rte_ring* ring = make_ring(1024);
    rings_.push_back(ring);
    inject(a, 300, 0);

    std::vector<std::unique_ptr<stage>> up_stages;
    up_stages.push_back(std::make_unique<bridge_stage>(plans));
    auto wu = rx_wiring({a.id});
    wu.out_ring = ring;
    segment up(wu, std::move(up_stages));

    segment::wiring wd;
    wd.burst_size = 32;
    wd.in_ring = ring;
    wd.upstream = &up;
    wd.tx = true;
    wd.stop_rx = &stop_;
    wd.timing_sample = 1;
    segment down(wd, {});

    EXPECT_THAT(up.stage_names(), ElementsAre("rx", "bridge"));
    EXPECT_THAT(down.stage_names(), ElementsAre("tx"));

    // Upstream runs twice as often as downstream; check after every step.
    for (unsigned i = 0; i < 1000 && down.counters().forwarded.get() < 300; ++i) {
        up.step();
        expect_conserved({&up, &down}, {ring}, "after upstream step");
        if (i % 2 == 1) {
            down.step();
            expect_conserved({&up, &down}, {ring}, "after downstream step");
        }
    }
    EXPECT_EQ(up.counters().rx.get(), 300u);
    EXPECT_EQ(down.counters().forwarded.get(), 300u);
    EXPECT_EQ(down.counters().port_tx[b.id].get(), 300u);
    EXPECT_EQ(up.counters().port_rx[a.id].get(), 300u);
    EXPECT_EQ(up.counters().forwarded.get(), 0u);  // only TX forwards
    EXPECT_EQ(dropped(up.counters()) + dropped(down.counters()), 0u);
    EXPECT_EQ(rte_ring_count(ring), 0u);
    EXPECT_EQ(up.counters().stages[1].packets_out.get(), 300u);   // bridge
    EXPECT_EQ(down.counters().stages[0].packets_in.get(), 300u);  // tx
    EXPECT_EQ(down.counters().stages[0].packets_out.get(), 300u);
    EXPECT_EQ(transmitted(b), range(0, 300));
}

TEST_F(segment_test, downstream_finishes_only_after_upstream_is_done_and_the_ring_is_empty) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    rte_ring* ring = make_ring(1024);
    rings_.push_back(ring);

    std::vector<std::unique_ptr<stage>> up_stages;
    up_stages.push_back(std::make_unique<bridge_stage>(plans));
    auto wu = rx_wiring({a.id});
    wu.out_ring = ring;
    segment up(wu, std::move(up_stages));
    segment::wiring wd;
    wd.burst_size = 32;
    wd.in_ring = ring;
    wd.upstream = &up;
    wd.tx = true;
    wd.stop_rx = &stop_;
    wd.timing_sample = 1;
    segment down(wd, {});

    inject(a, 100, 0);
    EXPECT_EQ(step_until_idle(up), 4u);
    EXPECT_EQ(rte_ring_count(ring), 100u);

    // Upstream still running: an empty ring means idle, not finished.
    std::vector<step_result> results;
    for (int i = 0; i < 5; ++i) {
        results.push_back(down.step());
    }
    EXPECT_THAT(results, ElementsAre(step_result::worked, step_result::worked, step_result::worked,
                                     step_result::worked, step_result::idle));
    EXPECT_FALSE(down.done());

    inject(a, 50, 100);
    EXPECT_EQ(step_until_idle(up), 2u);
    EXPECT_EQ(rte_ring_count(ring), 50u);

    // Stop: RX finishes at once and leaves what is still on the wire.
    inject(a, 10, 150);
    stop_ = true;
    EXPECT_EQ(up.step(), step_result::finished);
    EXPECT_TRUE(up.done());
    EXPECT_EQ(up.counters().rx.get(), 150u);
    EXPECT_EQ(rte_ring_count(a.rx[0]), 10u);
    EXPECT_EQ(up.step(), step_result::finished);

    // Downstream drains the ring, then finishes.
    results.clear();
    for (int i = 0; i < 3; ++i) {
        results.push_back(down.step());
    }
    EXPECT_THAT(results,
                ElementsAre(step_result::worked, step_result::worked, step_result::finished));
    EXPECT_TRUE(down.done());
    EXPECT_EQ(rte_ring_count(ring), 0u);
    EXPECT_EQ(down.step(), step_result::finished);
    EXPECT_EQ(down.counters().forwarded.get(), 150u);
    expect_conserved({&up, &down}, {ring}, "at the end");
    EXPECT_EQ(transmitted(b), range(0, 150));
}

TEST_F(segment_test, stop_flag_finishes_a_single_rx_segment) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    segment seg(w, std::move(stages));

    inject(a, 40, 0);
    EXPECT_EQ(seg.step(), step_result::worked);
    EXPECT_FALSE(seg.done());
    stop_ = true;
    EXPECT_EQ(seg.step(), step_result::finished);
    EXPECT_TRUE(seg.done());
    EXPECT_EQ(seg.counters().rx.get(), 32u);
    EXPECT_EQ(rte_ring_count(a.rx[0]), 8u);
    // run() returns at once on a finished segment.
    seg.run();
    EXPECT_EQ(transmitted(b), range(0, 32));
}

TEST_F(segment_test, backpressure_holds_the_leftover_and_loses_nothing) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    rte_ring* ring = make_ring(64);  // 63 usable entries
    rings_.push_back(ring);
    inject(a, 200, 0);

    std::vector<std::unique_ptr<stage>> up_stages;
    up_stages.push_back(std::make_unique<bridge_stage>(plans));
    auto wu = rx_wiring({a.id});
    wu.out_ring = ring;
    wu.ring_full = ring_full_policy::backpressure;
    segment up(wu, std::move(up_stages));
    segment::wiring wd;
    wd.burst_size = 32;
    wd.in_ring = ring;
    wd.upstream = &up;
    wd.tx = true;
    wd.stop_rx = &stop_;
    wd.timing_sample = 1;
    segment down(wd, {});

    EXPECT_EQ(up.step(), step_result::worked);
    EXPECT_EQ(up.counters().held.get(), 0u);
    EXPECT_EQ(up.step(), step_result::worked);
    EXPECT_EQ(rte_ring_count(ring), 63u);
    EXPECT_EQ(up.counters().held.get(), 1u);
    // Still full: the segment neither reads nor loses anything.
    EXPECT_EQ(up.step(), step_result::idle);
    EXPECT_EQ(up.counters().rx.get(), 64u);
    EXPECT_EQ(up.counters().held.get(), 1u);
    EXPECT_EQ(dropped(up.counters()), 0u);
    expect_conserved({&up, &down}, {ring}, "while held");

    for (unsigned i = 0; i < 1000 && down.counters().forwarded.get() < 200; ++i) {
        up.step();
        expect_conserved({&up, &down}, {ring}, "after upstream step");
        down.step();
        expect_conserved({&up, &down}, {ring}, "after downstream step");
    }
    EXPECT_EQ(up.counters().rx.get(), 200u);
    EXPECT_EQ(down.counters().forwarded.get(), 200u);
    EXPECT_EQ(up.counters().held.get(), 0u);
    EXPECT_EQ(dropped(up.counters()) + dropped(down.counters()), 0u);
    EXPECT_EQ(transmitted(b), range(0, 200));
}

TEST_F(segment_test, stop_waits_until_held_packets_are_handed_on) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    rte_ring* ring = make_ring(64);
    rings_.push_back(ring);
    inject(a, 100, 0);

    std::vector<std::unique_ptr<stage>> up_stages;
    up_stages.push_back(std::make_unique<bridge_stage>(plans));
    auto wu = rx_wiring({a.id});
    wu.out_ring = ring;
    segment up(wu, std::move(up_stages));
    segment::wiring wd;
    wd.burst_size = 32;
    wd.in_ring = ring;
    wd.upstream = &up;
    wd.tx = true;
    wd.stop_rx = &stop_;
    wd.timing_sample = 1;
    segment down(wd, {});

    up.step();
    up.step();
    ASSERT_EQ(up.counters().held.get(), 1u);
    stop_ = true;
    // The held packet has nowhere to go yet: not finished.
    EXPECT_EQ(up.step(), step_result::idle);
    EXPECT_FALSE(up.done());
    EXPECT_EQ(down.step(), step_result::worked);  // frees 32 slots
    EXPECT_EQ(up.step(), step_result::finished);  // flushes, then sees the stop
    EXPECT_EQ(up.counters().held.get(), 0u);
    // 31 + the flushed 1 are left in the ring.
    std::vector<step_result> results;
    for (int i = 0; i < 2; ++i) {
        results.push_back(down.step());
    }
    EXPECT_THAT(results, ElementsAre(step_result::worked, step_result::finished));
    EXPECT_EQ(down.counters().forwarded.get(), 64u);
    EXPECT_EQ(transmitted(b), range(0, 64));
    EXPECT_EQ(rte_ring_count(a.rx[0]), 36u);  // never read
}

TEST_F(segment_test, ring_full_drop_policy_counts_and_frees_the_leftover) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    rte_ring* ring = make_ring(64);
    rings_.push_back(ring);
    inject(a, 200, 0);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 200);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.out_ring = ring;
    w.ring_full = ring_full_policy::drop;
    segment up(w, std::move(stages));

    // 32 + 31 fit; 1 + 32 * 4 + 8 are dropped.
    EXPECT_EQ(step_until_idle(up), 7u);
    const segment_counters& c = up.counters();
    EXPECT_EQ(c.rx.get(), 200u);
    EXPECT_EQ(rte_ring_count(ring), 63u);
    EXPECT_EQ(drops(c, drop_reason::ring_full), 137u);
    EXPECT_EQ(dropped(c), 137u);
    EXPECT_EQ(c.held.get(), 0u);
    expect_conserved({&up}, {ring}, "after drops");
    // The dropped mbufs went back to the pool; only the ring holds some.
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 63);

    const auto in_ring = drain(ring);
    std::vector<uint32_t> seqs;
    for (rte_mbuf* m : in_ring) {
        seqs.push_back(seq_of(m));
    }
    free_all(in_ring);
    EXPECT_EQ(seqs, range(0, 63));
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

TEST_F(segment_test, full_tx_queue_drops_with_tx_full_after_retries) {
    test_port& a = make_port();
    test_port& b = make_port(1, 1024, 64);  // b's TX takes 63 packets
    const auto plans = start_pair(a, b);
    inject(a, 100, 0);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.tx_retries = 3;
    segment seg(w, std::move(stages));

    EXPECT_EQ(step_until_idle(seg), 4u);
    const segment_counters& c = seg.counters();
    EXPECT_EQ(c.rx.get(), 100u);
    EXPECT_EQ(c.forwarded.get(), 63u);
    EXPECT_EQ(c.port_tx[b.id].get(), 63u);
    EXPECT_EQ(drops(c, drop_reason::tx_full), 37u);
    EXPECT_EQ(dropped(c), 37u);
    // The tx stage saw 100 and passed 63 to the port.
    EXPECT_EQ(c.stages[2].packets_in.get(), 100u);
    EXPECT_EQ(c.stages[2].packets_out.get(), 63u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 63);
    EXPECT_EQ(transmitted(b), range(0, 63));
}

TEST_F(segment_test, transmit_to_a_port_that_does_not_exist_drops_no_egress_port) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 30, 0);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    stages.push_back(std::make_unique<misroute_stage>());
    auto w = rx_wiring({a.id});
    w.tx = true;
    segment seg(w, std::move(stages));
    EXPECT_THAT(seg.stage_names(), ElementsAre("rx", "bridge", "misroute", "tx"));

    EXPECT_EQ(step_until_idle(seg), 1u);
    const segment_counters& c = seg.counters();
    EXPECT_EQ(c.rx.get(), 30u);
    EXPECT_EQ(c.forwarded.get(), 10u);
    EXPECT_EQ(drops(c, drop_reason::no_egress_port), 20u);
    EXPECT_EQ(dropped(c), 20u);
    EXPECT_EQ(c.port_tx[31].get(), 0u);
    EXPECT_EQ(transmitted(b), range(2, 10, 3));
}

TEST_F(segment_test, bridge_stage_rewrites_port_and_drops_without_peer) {
    const std::vector<port_plan> plans = {
        {0, "p0", 1, 1024, 1024, true},
        {1, "p1", no_port, 1024, 1024, true},
        {2, "p2", 2, 1024, 1024, true},
        {40, "beyond", 0, 1024, 1024, true},  // id >= max_ports: ignored
    };
    bridge_stage bridge(plans);
    EXPECT_EQ(bridge.name(), "bridge");

    const uint16_t ingress[] = {0, 1, 2, 5, 40, 0, no_port};
    burst b;
    for (uint16_t port : ingress) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        m->port = port;
        b.pkts[b.count++] = m;
    }
    rte_mbuf* const first = b.pkts[0];
    rte_mbuf* const third = b.pkts[2];
    rte_mbuf* const sixth = b.pkts[5];

    auto counters = std::make_unique<segment_counters>();
    stage_context ctx(*counters);
    bridge.process(b, ctx);

    ASSERT_EQ(b.count, 3);
    EXPECT_EQ(b.pkts[0], first);
    EXPECT_EQ(b.pkts[1], third);
    EXPECT_EQ(b.pkts[2], sixth);
    EXPECT_EQ(first->port, 1);
    EXPECT_EQ(third->port, 2);
    EXPECT_EQ(sixth->port, 1);
    EXPECT_EQ(drops(*counters, drop_reason::no_egress_port), 4u);
    EXPECT_EQ(dropped(*counters), 4u);
    // Dropped mbufs are freed in bulk, by free_discarded().
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 7);
    ctx.free_discarded();
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 3);
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_pktmbuf_free(b.pkts[i]);
    }
}

TEST_F(segment_test, stage_context_frees_in_bulk_when_its_buffer_fills) {
    auto counters = std::make_unique<segment_counters>();
    stage_context ctx(*counters);
    EXPECT_EQ(&ctx.counters(), counters.get());
    std::vector<rte_mbuf*> mbufs(200);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool_, mbufs.data(), 200), 0);
    for (unsigned i = 0; i < 128; ++i) {
        if (i % 2 == 0) {
            ctx.drop(mbufs[i], drop_reason::ring_full);
        } else {
            ctx.consume(mbufs[i]);
        }
    }
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 200);
    ctx.consume(mbufs[128]);  // the buffer of 2 * max_burst is full: freed first
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 200 + 128);
    for (unsigned i = 129; i < 200; ++i) {
        ctx.drop(mbufs[i], drop_reason::tx_full);
    }
    ctx.free_discarded();
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
    EXPECT_EQ(drops(*counters, drop_reason::ring_full), 64u);
    EXPECT_EQ(drops(*counters, drop_reason::tx_full), 71u);
    EXPECT_EQ(counters->consumed.get(), 65u);
    ctx.free_discarded();  // nothing left: a no-op
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

TEST_F(segment_test, custom_stage_drops_and_consumes_and_every_mbuf_returns) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 100, 0);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<sieve_stage>());
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    segment seg(w, std::move(stages));
    EXPECT_THAT(seg.stage_names(), ElementsAre("rx", "sieve", "bridge", "tx"));

    EXPECT_EQ(step_until_idle(seg), 4u);
    const segment_counters& c = seg.counters();
    // 0..99: 50 odd dropped, 10 even multiples of 5 consumed, 40 forwarded.
    EXPECT_EQ(c.rx.get(), 100u);
    EXPECT_EQ(drops(c, drop_reason::no_egress_port), 50u);
    EXPECT_EQ(dropped(c), 50u);
    EXPECT_EQ(c.consumed.get(), 10u);
    EXPECT_EQ(c.forwarded.get(), 40u);
    EXPECT_EQ(c.rx.get(), c.forwarded.get() + dropped(c) + c.consumed.get());
    EXPECT_EQ(c.stages[1].packets_in.get(), 100u);  // sieve
    EXPECT_EQ(c.stages[1].packets_out.get(), 40u);
    EXPECT_EQ(c.stages[1].bursts.get(), 4u);
    EXPECT_EQ(c.stages[2].packets_in.get(), 40u);  // bridge
    EXPECT_EQ(c.stages[2].packets_out.get(), 40u);
    EXPECT_EQ(c.stages[3].packets_in.get(), 40u);  // tx
    EXPECT_EQ(c.stages[3].packets_out.get(), 40u);
    // Only the transmitted packets are out of the pool.
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_ - 40);

    std::vector<uint32_t> expected;
    for (uint32_t s = 0; s < 100; ++s) {
        if (s % 2 == 0 && s % 5 != 0) {
            expected.push_back(s);
        }
    }
    EXPECT_EQ(transmitted(b), expected);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

// TX tells generated packets from forwarded ones by their flag, or for the
// whole burst when a stage says every packet is generated.
TEST_F(segment_test, transmit_counts_generated_packets_apart_from_forwarded_ones) {
    ASSERT_TRUE(register_generated_flag());
    for (const bool all_of : {false, true}) {
        SCOPED_TRACE(all_of ? "all generated" : "every other packet generated");
        test_port& a = make_port();
        test_port& b = make_port();
        const auto plans = start_pair(a, b);
        inject(a, 100, 0);
        std::vector<std::unique_ptr<stage>> stages;
        stages.push_back(std::make_unique<bridge_stage>(plans));
        stages.push_back(std::make_unique<reply_stage>(all_of));
        auto w = rx_wiring({a.id});
        w.tx = true;
        segment seg(w, std::move(stages));
        step_until_idle(seg);
        const segment_counters& c = seg.counters();
        const uint64_t replies = all_of ? 100u : 50u;
        EXPECT_EQ(c.rx.get(), 100u);
        EXPECT_EQ(c.consumed.get(), replies);
        EXPECT_EQ(c.generated.get(), replies);
        EXPECT_EQ(c.generated_sent.get(), replies);
        EXPECT_EQ(c.forwarded.get(), 100u - replies);
        EXPECT_EQ(c.rx.get(), c.forwarded.get() + dropped(c) + c.consumed.get());
        EXPECT_EQ(c.generated.get(), c.generated_sent.get() + c.generated_dropped.get());
        EXPECT_EQ(transmitted(b).size(), 100u);
        EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
    }
}

// Packets alternating between two ports leave in one TX call per port, each
// port's packets in their order; generated packets are told apart after the
// regrouping, also when a port's queue is full.
TEST_F(segment_test, transmit_groups_a_burst_by_port_and_keeps_each_ports_order) {
    ASSERT_TRUE(register_generated_flag());
    test_port& a = make_port();
    test_port& b = make_port(1, 1024, 32);  // b's TX takes 31 packets
    start_pair(a, b);
    inject(a, 96, 0);

    const tx_call_counter calls_a(a.id);
    const tx_call_counter calls_b(b.id);

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<split_stage>(a.id, b.id));
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.tx_retries = 0;
    segment seg(w, std::move(stages));
    const unsigned bursts = step_until_idle(seg);
    EXPECT_EQ(bursts, 3u);  // 96 packets in bursts of 32
    EXPECT_EQ(calls_a.calls(), bursts) << "one TX call per port and burst";
    EXPECT_EQ(calls_b.calls(), bursts);

    const segment_counters& c = seg.counters();
    // 48 even to a, all sent; 48 odd to b, of which the first 31 fit.
    const std::vector<uint32_t> to_a = transmitted(a);
    const std::vector<uint32_t> to_b = transmitted(b);
    EXPECT_EQ(to_a, range(0, 48, 2));
    EXPECT_EQ(to_b, range(1, 31, 2));
    EXPECT_EQ(drops(c, drop_reason::tx_full), 17u);
    uint64_t generated_sent = 0;
    for (uint32_t seq : to_a) {
        generated_sent += seq % 3 == 0 ? 1 : 0;
    }
    for (uint32_t seq : to_b) {
        generated_sent += seq % 3 == 0 ? 1 : 0;
    }
    EXPECT_EQ(c.generated.get(), 32u);  // 0, 3, ..., 93
    EXPECT_EQ(c.generated_sent.get(), generated_sent);
    EXPECT_EQ(c.generated_dropped.get(), 32u - generated_sent);
    EXPECT_EQ(c.forwarded.get(), to_a.size() + to_b.size() - generated_sent);
    // A dropped reply counts as a drop (tx_full) and as generated_dropped;
    // the request it answered was consumed.
    EXPECT_EQ(c.rx.get(), c.forwarded.get() + (dropped(c) - c.generated_dropped.get()) +
                              c.consumed.get());
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

// The control thread's inject ring carries both kinds: its own requests
// (generated) and held packets it releases once their next hop resolved
// (received, so forwarded when sent).
TEST_F(segment_test, injected_packets_count_as_generated_or_forwarded_by_their_flag) {
    ASSERT_TRUE(register_generated_flag());
    test_port& a = make_port();
    test_port& b = make_port();
    start_pair(a, b);
    inject(a, 6, 0);
    std::vector<rte_mbuf*> pkts = drain(a.rx[0]);
    ASSERT_EQ(pkts.size(), 6u);
    rte_ring* ring = rte_ring_create(unique("ut_inj").c_str(), 64, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(ring, nullptr);
    for (rte_mbuf* m : pkts) {
        m->port = b.id;
        if (seq_of(m) % 3 == 0) {
            mark_generated(m);  // 0 and 3
        }
        ASSERT_EQ(rte_ring_enqueue(ring, m), 0);
    }
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.inject_ring = ring;
    {
        segment seg(w, {});
        seg.step();
        const segment_counters& c = seg.counters();
        EXPECT_EQ(c.generated_sent.get(), 2u);
        EXPECT_EQ(c.forwarded.get(), 4u);
        EXPECT_EQ(c.port_tx[b.id].get(), 6u);
    }
    EXPECT_EQ(transmitted(b), range(0, 6));
    rte_ring_free(ring);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

TEST_F(segment_test, transmit_groups_a_burst_over_three_ports_in_one_call_each) {
    test_port& a = make_port();
    test_port& b = make_port();
    test_port& c = make_port();
    start_pair(a, b);
    port_plan plan_c{c.id, c.name, a.id, 1024, 1024, true};
    ASSERT_EQ(start_port(plan_c, 1, pool_), "");
    inject(a, 96, 0);
    const tx_call_counter calls_a(a.id);
    const tx_call_counter calls_b(b.id);
    const tx_call_counter calls_c(c.id);
    const auto seg =
        rx_stage_tx(a.id, std::make_unique<spread_stage>(std::vector<uint16_t>{a.id, b.id, c.id}));
    EXPECT_EQ(step_until_idle(*seg), 3u);
    EXPECT_EQ(calls_a.calls(), 3u) << "one TX call per port and burst";
    EXPECT_EQ(calls_b.calls(), 3u);
    EXPECT_EQ(calls_c.calls(), 3u);
    EXPECT_EQ(transmitted(a), range(0, 32, 3));
    EXPECT_EQ(transmitted(b), range(1, 32, 3));
    EXPECT_EQ(transmitted(c), range(2, 32, 3));
    EXPECT_EQ(seg->counters().forwarded.get(), 96u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

// A burst a stage left grouped (burst::port_runs) goes out in one call per
// run, each port's packets in order; runs that do not add up to the burst
// are not trusted: TX groups the burst itself.
TEST_F(segment_test, transmit_sends_the_port_runs_a_stage_declared) {
    for (const bool inconsistent : {false, true}) {
        SCOPED_TRACE(inconsistent ? "inconsistent runs" : "runs");
        test_port& a = make_port();
        test_port& b = make_port();
        start_pair(a, b);
        inject(a, 96, 0);
        const tx_call_counter calls_a(a.id);
        const tx_call_counter calls_b(b.id);
        const auto seg = rx_stage_tx(a.id, std::make_unique<runs_stage>(a.id, b.id, inconsistent));
        EXPECT_EQ(step_until_idle(*seg), 3u);
        EXPECT_EQ(calls_a.calls(), 3u) << "one TX call per port and burst";
        EXPECT_EQ(calls_b.calls(), 3u);
        EXPECT_EQ(transmitted(a), range(0, 32, 3));
        std::vector<uint32_t> rest;
        for (uint32_t s = 0; s < 96; ++s) {
            if (s % 3 != 0) {
                rest.push_back(s);
            }
        }
        EXPECT_EQ(transmitted(b), rest);
        EXPECT_EQ(seg->counters().forwarded.get(), 96u);
        EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
    }
}

TEST_F(segment_test, a_burst_emptied_by_a_stage_skips_the_rest) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 1, 1);  // odd: the sieve drops it

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<sieve_stage>());
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    segment seg(w, std::move(stages));
    EXPECT_EQ(seg.step(), step_result::worked);
    const segment_counters& c = seg.counters();
    EXPECT_EQ(c.stages[1].bursts.get(), 1u);
    EXPECT_EQ(c.stages[2].bursts.get(), 0u);
    EXPECT_EQ(c.stages[3].bursts.get(), 0u);
    EXPECT_EQ(dropped(c), 1u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

TEST_F(segment_test, pipeline_on_the_main_lcore_forwards_and_stops) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 500, 0);
    inject(b, 100, 10000);

    pipeline_options opt;
    opt.burst_size = 32;
    opt.ring_size = 64;  // small: backpressure happens
    placement where;
    where.groups = {{"rx"}, {"bridge"}, {"tx"}};
    where.lane_lcores = {{0, 0, 0}};
    std::string error;
    auto pipe = create_pipeline(opt, where, plans, error);
    ASSERT_NE(pipe, nullptr) << error;
    EXPECT_EQ(error, "");
    EXPECT_FALSE(pipe->finished());

    for (unsigned i = 0; i < 1000 && pipe->stats().forwarded < 600; ++i) {
        ASSERT_TRUE(pipe->run_main_slice(4));
        const pipeline_stats st = pipe->stats();
        ASSERT_EQ(st.rx, st.forwarded + st.dropped() + st.consumed + st.in_flight) << "slice " << i;
    }
    const pipeline_stats st = pipe->stats();
    EXPECT_EQ(st.rx, 600u);
    EXPECT_EQ(st.forwarded, 600u);
    EXPECT_EQ(st.dropped(), 0u);
    EXPECT_EQ(st.in_flight, 0u);
    EXPECT_EQ(st.port_rx[a.id], 500u);
    EXPECT_EQ(st.port_rx[b.id], 100u);
    EXPECT_EQ(st.port_tx[a.id], 100u);
    EXPECT_EQ(st.port_tx[b.id], 500u);
    ASSERT_EQ(st.stages.size(), 3u);
    const char* names[] = {"rx", "bridge", "tx"};
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(st.stages[i].name, names[i]);
        EXPECT_EQ(st.stages[i].lane, 0u);
        EXPECT_EQ(st.stages[i].lcore, 0u);
        EXPECT_EQ(st.stages[i].packets_in, 600u) << names[i];
        EXPECT_EQ(st.stages[i].packets_out, 600u) << names[i];
        EXPECT_GT(st.stages[i].bursts, 0u) << names[i];
    }
    EXPECT_FALSE(pipe->finished());

    inject(a, 5, 500);  // arrives after the stop: stays on the wire
    pipe->request_stop();
    for (unsigned i = 0; i < 100 && !pipe->finished(); ++i) {
        pipe->run_main_slice(4);
    }
    EXPECT_TRUE(pipe->finished());
    EXPECT_EQ(pipe->stats().rx, 600u);
    pipe.reset();

    EXPECT_EQ(transmitted(b), range(0, 500));
    EXPECT_EQ(transmitted(a), range(10000, 100));
    EXPECT_EQ(rte_ring_count(a.rx[0]), 5u);
}

TEST_F(segment_test, pipeline_lanes_use_their_own_queues) {
    test_port& a = make_port(2);
    test_port& b = make_port(2);
    const auto plans = start_pair(a, b, 2);
    inject(a, 70, 0, 0);
    inject(a, 50, 5000, 1);

    pipeline_options opt;
    opt.lanes = 2;
    opt.ring_size = 256;
    placement where;
    where.groups = {{"rx", "bridge"}, {"tx"}};
    where.lane_lcores = {{0, 0}, {0, 0}};
    std::string error;
    auto pipe = create_pipeline(opt, where, plans, error);
    ASSERT_NE(pipe, nullptr) << error;
    for (unsigned i = 0; i < 1000 && pipe->stats().forwarded < 120; ++i) {
        pipe->run_main_slice(2);
    }
    const pipeline_stats st = pipe->stats();
    EXPECT_EQ(st.rx, 120u);
    EXPECT_EQ(st.forwarded, 120u);
    ASSERT_EQ(st.stages.size(), 6u);  // (rx, bridge), (tx) per lane
    EXPECT_EQ(st.stages[0].name, "rx");
    EXPECT_EQ(st.stages[0].lane, 0u);
    EXPECT_EQ(st.stages[0].packets_in, 70u);
    EXPECT_EQ(st.stages[2].name, "tx");
    EXPECT_EQ(st.stages[2].lane, 0u);
    EXPECT_EQ(st.stages[2].packets_out, 70u);
    EXPECT_EQ(st.stages[3].name, "rx");
    EXPECT_EQ(st.stages[3].lane, 1u);
    EXPECT_EQ(st.stages[3].packets_in, 50u);
    EXPECT_EQ(st.stages[5].name, "tx");
    EXPECT_EQ(st.stages[5].lane, 1u);
    EXPECT_EQ(st.stages[5].packets_out, 50u);
    pipe->request_stop();
    for (unsigned i = 0; i < 100 && !pipe->finished(); ++i) {
        pipe->run_main_slice(2);
    }
    EXPECT_TRUE(pipe->finished());
    pipe.reset();
    // Lane n receives on queue n and transmits on queue n.
    EXPECT_EQ(transmitted(b, 0), range(0, 70));
    EXPECT_EQ(transmitted(b, 1), range(5000, 50));
}

TEST_F(segment_test, resolve_ports_without_config_pairs_every_eal_port_in_order) {
    test_port& a = make_port();
    test_port& b = make_port();
    test_port& c = make_port();
    ASSERT_LT(a.id, b.id);
    ASSERT_LT(b.id, c.id);
    std::string error;
    const auto plans = resolve_ports(app_config{}, error);
    EXPECT_EQ(error, "");
    ASSERT_EQ(plans.size(), 3u);
    EXPECT_EQ(plans[0].port_id, a.id);
    EXPECT_EQ(plans[0].name, a.name);
    EXPECT_EQ(plans[0].peer, b.id);
    EXPECT_EQ(plans[1].port_id, b.id);
    EXPECT_EQ(plans[1].peer, a.id);
    EXPECT_EQ(plans[2].port_id, c.id);
    EXPECT_EQ(plans[2].peer, c.id);  // the odd one out is bridged to itself
    EXPECT_EQ(plans[2].rx_desc, 1024);
    EXPECT_TRUE(plans[2].promiscuous);
}

TEST_F(segment_test, resolve_ports_by_name_with_explicit_and_implicit_peers) {
    test_port& a = make_port();
    test_port& b = make_port();
    test_port& c = make_port();
    app_config cfg;
    port_config pb;
    pb.name = b.name;
    pb.peer = c.name;
    pb.rx_desc = 256;
    pb.tx_desc = 512;
    pb.promiscuous = false;
    port_config pa;
    pa.name = a.name;
    port_config pc;
    pc.name = c.name;
    cfg.ports = {pb, pa, pc};
    std::string error;
    const auto plans = resolve_ports(cfg, error);
    EXPECT_EQ(error, "");
    ASSERT_EQ(plans.size(), 3u);
    EXPECT_EQ(plans[0].port_id, b.id);
    EXPECT_EQ(plans[0].name, b.name);
    EXPECT_EQ(plans[0].peer, c.id);  // explicit
    EXPECT_EQ(plans[0].rx_desc, 256);
    EXPECT_EQ(plans[0].tx_desc, 512);
    EXPECT_FALSE(plans[0].promiscuous);
    EXPECT_EQ(plans[1].port_id, a.id);
    EXPECT_EQ(plans[1].peer, b.id);  // paired in order with the first
    EXPECT_TRUE(plans[1].promiscuous);
    EXPECT_EQ(plans[2].port_id, c.id);
    EXPECT_EQ(plans[2].peer, c.id);  // no partner: itself
}

TEST_F(segment_test, resolve_ports_reports_a_port_eal_did_not_find) {
    test_port& a = make_port();
    test_port& b = make_port();
    app_config cfg;
    cfg.source = "ports.toml";
    port_config pa;
    pa.name = a.name;
    port_config ghost;
    ghost.name = "net_ghost0";
    ghost.where = {7, 1};
    cfg.ports = {pa, ghost};
    std::string error;
    const auto plans = resolve_ports(cfg, error);
    EXPECT_TRUE(plans.empty());
    EXPECT_EQ(error, "ports.toml:7:1: port 'net_ghost0' was not found by EAL (available: " +
                         a.name + ", " + b.name + ")");
}

TEST_F(segment_test, start_port_rejects_more_lanes_than_queues) {
    test_port& a = make_port(1);
    port_plan plan{a.id, a.name, a.id, 1024, 1024, true};
    EXPECT_EQ(start_port(plan, 2, pool_),
              "port " + std::to_string(a.id) + " (" + a.name +
                  "): dataplane.lanes = 2 but the device has 1 RX and 1 TX queues");
}

// The ring PMD can scatter RX and send chained mbufs, and has no frame size
// limit: start_port takes jumbo frames (MTU 9000) as chains of 2 KiB mbufs.
TEST_F(segment_test, start_port_enables_jumbo_frames_where_the_device_scatters) {
    test_port& a = make_port();
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(a.id, &info), 0);
    ASSERT_NE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER, 0u);
    ASSERT_NE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS, 0u);
    port_plan plan{a.id, a.name, a.id, 1024, 1024, true};
    ASSERT_EQ(start_port(plan, 1, pool_), "");
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_conf_get(a.id, &conf), 0);
    EXPECT_NE(conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER, 0u);
    EXPECT_NE(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS, 0u);
    uint16_t mtu = 0;
    ASSERT_EQ(rte_eth_dev_get_mtu(a.id, &mtu), 0);
    EXPECT_EQ(mtu, 9000);
}

TEST_F(segment_test, start_port_on_a_missing_device) {
    port_plan plan{31, "ghost", 31, 1024, 1024, true};
    EXPECT_EQ(start_port(plan, 1, pool_),
              "port 31 (ghost): cannot read device info: No such device");
}

TEST_F(segment_test, start_port_starts_the_device_and_keeps_the_descriptor_counts) {
    test_port& a = make_port(2);
    port_plan plan{a.id, a.name, a.id, 512, 256, true};
    EXPECT_EQ(start_port(plan, 2, pool_), "");
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(a.id, &info), 0);
    EXPECT_EQ(plan.rx_desc, 512);
    EXPECT_EQ(plan.tx_desc, 256);
    rte_eth_link link{};
    ASSERT_EQ(rte_eth_link_get_nowait(a.id, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);
    EXPECT_EQ(rte_eth_promiscuous_get(a.id), 1);
}

TEST_F(segment_test, pipeline_rejects_an_unknown_stage) {
    placement where;
    where.groups = {{"rx"}, {"nat"}, {"tx"}};
    where.lane_lcores = {{0, 0, 0}};
    std::string error;
    auto pipe = create_pipeline(pipeline_options{}, where, {}, error);
    EXPECT_EQ(pipe, nullptr);
    EXPECT_EQ(error, "unknown stage 'nat'");
}

TEST_F(segment_test, pipeline_without_a_main_lcore_segment_has_no_main_slice) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    placement where;
    where.groups = {{"rx", "bridge", "tx"}};
    where.lane_lcores = {{1}};  // a worker lcore; never launched here
    std::string error;
    auto pipe = create_pipeline(pipeline_options{}, where, plans, error);
    ASSERT_NE(pipe, nullptr) << error;
    EXPECT_FALSE(pipe->run_main_slice(1));
    const pipeline_stats st = pipe->stats();
    ASSERT_EQ(st.stages.size(), 3u);
    EXPECT_EQ(st.stages[0].lcore, 1u);
    EXPECT_EQ(st.rx, 0u);
    EXPECT_FALSE(pipe->finished());
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

// pipeline.timing_sample = 4: packet counts stay exact, cycles are taken on
// bursts 0, 4, 8, ... only, with the packets of those bursts.
TEST_F(segment_test, stage_cycles_are_sampled_on_one_burst_in_n) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 32 * 8 + 5, 0);  // 9 bursts: 8 of 32, then 5

    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.timing_sample = 4;
    segment seg(w, std::move(stages));
    EXPECT_EQ(step_until_idle(seg), 9u);
    EXPECT_EQ(transmitted(b), range(0, 32 * 8 + 5));

    const segment_counters& c = seg.counters();
    for (std::size_t slot = 0; slot < 3; ++slot) {
        SCOPED_TRACE(seg.stage_names()[slot]);
        EXPECT_EQ(c.stages[slot].packets_in.get(), 32u * 8 + 5);
        EXPECT_EQ(c.stages[slot].bursts.get(), 9u);
        // Bursts 0, 4 and 8 are timed: 32 + 32 + 5 packets.
        EXPECT_EQ(c.stages[slot].sampled_packets.get(), 69u);
        EXPECT_GT(c.stages[slot].cycles.get(), 0u);
    }
}

TEST_F(segment_test, timing_sample_zero_takes_no_cycles) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 100, 0);
    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.timing_sample = 0;
    segment seg(w, std::move(stages));
    step_until_idle(seg);
    EXPECT_EQ(transmitted(b), range(0, 100));
    for (std::size_t slot = 0; slot < 3; ++slot) {
        EXPECT_EQ(seg.counters().stages[slot].packets_in.get(), 100u);
        EXPECT_EQ(seg.counters().stages[slot].cycles.get(), 0u);
        EXPECT_EQ(seg.counters().stages[slot].sampled_packets.get(), 0u);
    }
}

}  // namespace
}  // namespace dpdk_app

namespace dpdk_app {
namespace {

// A port EAL knows but the pipeline did not start for this segment (not in
// wiring::tx_ports) is never handed to rte_eth_tx_burst.
TEST_F(segment_test, egress_outside_tx_ports_drops_no_egress_port) {
    test_port& a = make_port();
    test_port& b = make_port();
    const auto plans = start_pair(a, b);
    inject(a, 40, 0);
    std::vector<std::unique_ptr<stage>> stages;
    stages.push_back(std::make_unique<bridge_stage>(plans));  // a -> b
    auto w = rx_wiring({a.id});
    w.tx = true;
    w.tx_ports = {a.id};  // b is not ours to send on
    segment seg(w, std::move(stages));
    step_until_idle(seg);
    EXPECT_EQ(drops(seg.counters(), drop_reason::no_egress_port), 40u);
    EXPECT_EQ(seg.counters().forwarded.get(), 0u);
    EXPECT_TRUE(transmitted(b).empty());
    EXPECT_EQ(rte_mempool_avail_count(pool_), start_avail_);
}

}  // namespace
}  // namespace dpdk_app
