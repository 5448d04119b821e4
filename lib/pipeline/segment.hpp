// A segment is the part of one lane's stage chain that one lcore runs: an
// input (RX queues of the ports, or the ring from the previous segment), the
// stages, and an output (TX queues, or the ring to the next segment).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class segment {
  public:
    enum class step_result { worked, idle, finished };
    // Empty polls in a row after which an RX port is backed off
    // (wiring::idle_rx_backoff).
    static constexpr uint16_t idle_rx_polls = 16;

    struct wiring {
        unsigned lane = 0;
        unsigned lcore = 0;
        uint16_t burst_size = 64;
        std::vector<uint16_t> rx_ports;  // non-empty: this segment polls RX
        rte_ring* in_ring = nullptr;     // else it dequeues from here
        const segment* upstream = nullptr;
        bool tx = false;                 // true: this segment transmits
        std::vector<uint16_t> tx_ports;  // ports it may send on (started, one queue per
                                         // lane); empty = every port EAL knows
        rte_ring* out_ring = nullptr;    // else it enqueues here
        rte_ring* inject_ring = nullptr;  // TX segments: packets from the control thread
        // What stages before the input ring may have left on the packets:
        // the burst flags do not travel through a ring.
        bool upstream_punts = false;     // a stage that sets packet_meta::punt
        bool upstream_generates = false;  // a stage that turns packets into generated ones
        ring_full_policy ring_full = ring_full_policy::backpressure;
        uint32_t tx_retries = 8;
        uint32_t idle_sleep_us = 0;
        // An RX port that came back empty on idle_rx_polls polls in a row is
        // then polled on one visit in idle_rx_backoff (a power of two; 1 =
        // every visit) until a poll returns packets again: the busy ports
        // of a segment are not slowed by empty polls of idle ones.
        uint32_t idle_rx_backoff = 8;
        const std::atomic<bool>* stop_rx = nullptr;
        rte_rcu_qsbr* qsbr = nullptr;  // readers of published tables report here
        // The generation each burst is handled with (read once per burst).
        const generation_store* generations = nullptr;
        uint32_t timing_sample = 16;   // time 1 burst in this many (power of 2); 0 = never
    };

    segment(const wiring& w, std::vector<std::unique_ptr<stage>> stages);

    // One poll of the input and, if packets came, one pass of the stages.
    step_result step() noexcept;
    // Loops step() until the segment has finished (worker lcore body).
    void run() noexcept;
    // Registers this segment's lcore as an RCU reader, online (before launch).
    void attach_rcu() noexcept;

    bool done() const noexcept { return done_.load(std::memory_order_acquire); }
    const wiring& wires() const noexcept { return w_; }
    const segment_counters& counters() const noexcept { return counters_; }
    // Stage names in counter slot order: "rx" first if this segment polls RX,
    // then the middle stages, then "tx" if it transmits.
    const std::vector<std::string>& stage_names() const noexcept { return names_; }

  private:
    step_result step_once() noexcept;
    // The index in rx_ports of the port to poll next (idle ports backed off).
    std::size_t next_rx_index() noexcept;
    uint16_t receive(burst& b) noexcept;
    void transmit(burst& b, stage_context& ctx) noexcept;
    // Sends pkts[0..n) on port (retrying, then dropping what is left as
    // tx_full; everything as no_egress_port on a port it may not send on).
    // Returns how many went out.
    uint16_t send_run(rte_mbuf** pkts, uint16_t n, uint16_t port, stage_context& ctx) noexcept;
    // Sends what the control thread injected (TX segments).
    void transmit_injected(stage_context& ctx) noexcept;
    void enqueue(burst& b, stage_context& ctx) noexcept;
    bool flush_pending() noexcept;
    // Inline: three counter adds per stage and burst, not worth a call.
    void account(std::size_t slot, uint16_t in, uint16_t out) noexcept {
        stage_counters& c = counters_.stages[slot];
        c.packets_in.add(in);
        c.packets_out.add(out);
        c.bursts.inc();
    }
    // Charges the stage in slot from the last boundary to now (timed bursts).
    void charge(std::size_t slot, uint16_t in) noexcept;

    wiring w_;
    std::vector<std::unique_ptr<stage>> stages_;
    std::vector<std::string> names_;
    segment_counters counters_;
    std::atomic<bool> done_{false};
    std::size_t next_rx_ = 0;
    // Per RX port index: empty polls in a row (saturating) and visits while
    // backed off.
    std::array<uint16_t, max_ports> rx_empty_{};
    std::array<uint16_t, max_ports> rx_skipped_{};
    uint64_t tsc_ = 0;  // end of the last timed step of the current burst
    uint64_t burst_seq_ = 0;
    uint32_t idle_steps_ = 0;  // empty polls in a row, up to idle_round
    std::array<bool, max_ports> tx_ok_{};  // from wiring::tx_ports, checked once per run
    bool timed_ = false;                   // this burst's stage boundaries are timed
    burst pending_{};                      // packets the output ring did not take yet
    uint16_t pending_from_ = 0;
};

}  // namespace dpdk_app
