// The stage interface: a stage takes a burst, works on it in bulk and sorts
// every packet: kept in the burst (handed to the next stage), dropped with a
// named reason, or consumed. Whoever holds an mbuf frees it on every path.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "pipeline/counters.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/generated.hpp"
#include "pipeline/generation.hpp"

namespace dpdk_app {

// Largest burst a stage is ever handed (dataplane.burst_size <= this).
inline constexpr uint16_t max_burst = 64;

// Egress convention: once a forwarding stage has decided, mbuf->port holds
// the egress port id; TX sends each packet to its mbuf->port. A burst that
// came from one port in one RX call knows it (in_port), and a stage that
// sends the whole burst to one port may say so once (out_port) instead of
// writing every mbuf: TX then sends it in one call, and a ring hop writes
// mbuf->port before the burst leaves the lcore.
struct burst {
    std::array<rte_mbuf*, max_burst> pkts;
    uint16_t count = 0;
    uint16_t in_port = no_port;   // every packet arrived on this port
    uint16_t out_port = no_port;  // every packet leaves through this port
    bool has_generated = false;   // some packets may carry the generated flag
    bool has_punts = false;       // some packets may carry packet_meta::punt
    bool all_generated = false;   // every packet carries the generated flag
    // Egress runs: a stage that leaves the burst grouped by egress port says
    // so here, and TX sends each run in one call without grouping it again:
    // the first port_runs[0] packets go to one port, the next port_runs[1]
    // to another (their sum is count). {0, 0}: not known. Each port's
    // packets keep their order. A stage that changes any packet's egress,
    // or the order, clears it.
    std::array<uint16_t, 2> port_runs{};

    // Writes a burst-level egress into every mbuf->port. A stage that
    // changes egress per packet calls this first.
    void materialize_egress() noexcept {
        if (out_port != no_port) {
            for (uint16_t i = 0; i < count; ++i) {
                pkts[i]->port = out_port;
            }
            out_port = no_port;
        }
    }
};

// What a stage may use while it runs: the time of this burst, the
// generation of tables the burst is handled with, the owning segment's
// counters and the drop/consume sinks (freed in bulk later).
class stage_context {
  public:
    // gen: the current generation, read once per burst by the segment (or
    // set by a test); nullptr before the first one is published.
    explicit stage_context(segment_counters& counters,
                           const generation* gen = nullptr) noexcept
        : counters_(counters), generation_(gen) {}

    // The table of type T in this burst's generation, or nullptr.
    template <class T>
    const T* table() const noexcept {
        return generation_ != nullptr ? generation_->find<T>() : nullptr;
    }
    void set_generation(const generation* gen) noexcept { generation_ = gen; }

    // The time of this burst (TSC): read when first asked for (most bursts
    // never need it: a TSC read costs tens of cycles here) or set by the
    // segment when it read the TSC anyway (timed bursts), or by a test.
    uint64_t now() noexcept {
        if (!has_now_) {
            now_ = rte_rdtsc();
            has_now_ = true;
        }
        return now_;
    }
    void set_now(uint64_t tsc) noexcept {
        now_ = tsc;
        has_now_ = true;
    }

    void drop(rte_mbuf* m, drop_reason why) noexcept {
        counters_.drops[static_cast<std::size_t>(why)].inc();
        if (is_generated(m)) {
            counters_.generated_dropped.inc();
        }
        discard(m);
    }
    void consume(rte_mbuf* m) noexcept {
        ++consumed_;
        discard(m);
    }
    // The received packet in m is dropped (why) or consumed, and m itself is
    // reused for a packet the appliance generates: m lives on, flagged.
    void reuse_dropped(rte_mbuf* m, drop_reason why) noexcept {
        counters_.drops[static_cast<std::size_t>(why)].inc();
        begin_generated(m);
    }
    void reuse_consumed(rte_mbuf* m) noexcept {
        ++consumed_;
        begin_generated(m);
    }
    // reuse_consumed for n packets at once, whose mbufs the caller already
    // marked generated (mark_generated).
    void reuse_consumed_bulk(uint32_t n) noexcept {
        consumed_ += n;
        generated_ += n;
    }
    void count(event e, uint32_t n = 1) noexcept {
        if (!events_dirty_) {
            events_.fill(0);  // zeroed on a burst's first event, not for every burst
            events_dirty_ = true;
        }
        events_[static_cast<std::size_t>(e)] += n;
    }
    // Frees what drop()/consume() collected and adds the burst's counts to
    // the segment's counters (one add per counter per burst, not per
    // packet); called once per burst.
    void free_discarded() noexcept {
        if (n_discarded_ > 0) {
            rte_pktmbuf_free_bulk(discarded_.data(), n_discarded_);
            n_discarded_ = 0;
        }
        flush_counts();
    }
    segment_counters& counters() noexcept { return counters_; }

  private:
    void begin_generated(rte_mbuf* m) noexcept {
        ++generated_;
        mark_generated(m);
    }
    void flush_counts() noexcept {
        if (consumed_ != 0) {
            counters_.consumed.add(consumed_);
            consumed_ = 0;
        }
        if (generated_ != 0) {
            counters_.generated.add(generated_);
            generated_ = 0;
        }
        if (events_dirty_) {
            for (std::size_t e = 0; e < event_count; ++e) {
                if (events_[e] != 0) {
                    counters_.events[e].add(events_[e]);
                }
            }
            events_dirty_ = false;
        }
    }
    void discard(rte_mbuf* m) noexcept {
        if (n_discarded_ == discarded_.size()) {
            free_discarded();
        }
        discarded_[n_discarded_++] = m;
    }

    segment_counters& counters_;
    const generation* generation_;
    uint64_t now_ = 0;
    bool has_now_ = false;
    std::array<rte_mbuf*, 2 * max_burst> discarded_;  // not zeroed: written before read
    uint16_t n_discarded_ = 0;
    uint32_t consumed_ = 0;
    uint32_t generated_ = 0;
    bool events_dirty_ = false;
    std::array<uint32_t, event_count> events_;  // valid while events_dirty_
};

// What a stage may leave on the packets it passes on. A burst's flags
// (burst::has_punts, has_generated) do not travel through a ring: the
// segment after one sets them from the marks of every stage before it.
struct stage_marks {
    bool punts = false;      // sets packet_meta::punt on packets it passes on
    bool generates = false;  // turns packets into generated ones (replies, errors)
};

class stage {
  public:
    virtual ~stage() = default;
    virtual std::string_view name() const noexcept = 0;
    virtual stage_marks marks() const noexcept { return {}; }
    // Processes b in place. Packets left in b go on to the next stage in
    // their original order, except that packets whose egress is decided may
    // be grouped by egress port with each port's packets in order (what TX
    // does anyway; see burst::port_runs). Every other packet went to
    // ctx.drop() or ctx.consume().
    virtual void process(burst& b, stage_context& ctx) noexcept = 0;
    // Housekeeping while the lane has nothing to do (timeouts that must
    // fire without traffic): the segment calls it every idle_round empty
    // polls in a row, with the TSC. It must stay short and may not touch
    // packets.
    virtual void idle(uint64_t /*now*/) noexcept {}
};

// Empty polls in a row between two calls of stage::idle.
inline constexpr uint32_t idle_round = 64;

}  // namespace dpdk_app
