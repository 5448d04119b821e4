// Per-lcore counters: each block is written by exactly one lcore and read by
// the control lcore, which sums blocks. Writes are plain adds (relaxed
// load + store by the single owner), reads are relaxed loads: no locked
// instruction and no shared writable cache line on the fast path.
#pragma once

#include <atomic>
#include <cstdint>

#include <rte_common.h>

#include "io/port_id.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/events.hpp"

namespace dpdk_app {

inline constexpr std::size_t max_stages_per_segment = 8;

class counter {
  public:
    void add(uint64_t n) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void inc() noexcept { add(1); }
    uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
    void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> v_{0};
};

// What one stage on one lcore has seen: packets handed to it, packets it
// passed on and the bursts it ran (all exact), and the TSC cycles it spent
// on the sampled bursts with the packets of those bursts
// (pipeline.timing_sample): cycles / sampled_packets is its cost per packet.
struct stage_counters {
    counter packets_in;
    counter packets_out;
    counter bursts;
    counter cycles;
    counter sampled_packets;
};

// Counters of one segment (the stages one lcore runs for one lane).
struct alignas(RTE_CACHE_LINE_SIZE) segment_counters {
    counter rx;                 // packets received from ports (RX segments only)
    counter forwarded;          // received packets handed to a port's TX queue
    counter consumed;           // received packets absorbed by the appliance itself
    counter generated;          // packets the appliance created (replies, errors, requests)
    counter generated_sent;     // generated packets handed to a port's TX queue
    counter generated_dropped;  // generated packets dropped (also in drops[reason])
    counter held;  // packets held in this segment's pending output right now
    counter port_rx[max_ports];
    counter port_tx[max_ports];
    counter port_rx_polls[max_ports];  // RX polls of each port (empty ones too)
    stage_counters stages[max_stages_per_segment];
    // Last: the vocabularies grow with every feature, and the counters every
    // burst touches above keep their places.
    counter drops[drop_reason_count];  // every drop, received or generated packet
    counter events[event_count];
};

}  // namespace dpdk_app
