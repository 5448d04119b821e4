// The running pipeline: lanes of segments (one per lcore), the rings between
// them, the generation store the segments read, worker launch and the
// ordered shutdown that loses no packet. It knows no feature: the stages of
// each segment come from a stage_builder (lib/dataplane composes them).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/generation.hpp"
#include "pipeline/placement.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

struct pipeline_options {
    uint16_t lanes = 1;
    uint16_t burst_size = 64;
    uint32_t ring_size = 1024;
    ring_full_policy ring_full = ring_full_policy::backpressure;
    uint32_t tx_retries = 8;
    uint32_t idle_sleep_us = 0;   // sleep after this many idle polls in a row (0 = spin)
    uint32_t idle_rx_backoff = 8;  // segment::wiring::idle_rx_backoff
    uint32_t timing_sample = 16;  // time 1 burst in this many per stage (0 = never)
};

struct stage_stats {
    std::string name;
    unsigned lane = 0;
    unsigned lcore = 0;
    uint64_t packets_in = 0;
    uint64_t packets_out = 0;
    uint64_t bursts = 0;
    uint64_t cycles = 0;           // over the sampled bursts
    uint64_t sampled_packets = 0;  // packets of the sampled bursts
};

struct pipeline_stats {
    uint64_t rx = 0;
    uint64_t forwarded = 0;
    uint64_t consumed = 0;
    uint64_t generated = 0;
    uint64_t generated_sent = 0;
    uint64_t generated_dropped = 0;
    uint64_t in_flight = 0;  // in rings, pending outputs and held right now
    std::array<uint64_t, drop_reason_count> drops{};  // every drop, by reason
    std::array<uint64_t, event_count> events{};
    std::array<uint64_t, max_ports> port_rx{};
    std::array<uint64_t, max_ports> port_tx{};
    std::array<uint64_t, max_ports> port_rx_polls{};
    std::vector<stage_stats> stages;

    // Drops of received packets (the drops by reason, less generated_dropped).
    uint64_t dropped() const;
    // Adds one block's totals (packets, drops, events, held) to these.
    void add(const segment_counters& c);
};

class segment;

// Makes the middle stages of one segment of one lane: names are a placement
// group's stages without "rx" and "tx", in chain order. Returns false and
// sets error when a name is unknown or a stage cannot be made.
using stage_builder = std::function<bool(const std::vector<std::string>& names, unsigned lane,
                                         std::vector<std::unique_ptr<stage>>& out,
                                         std::string& error)>;

class pipeline {
  public:
    // Builds every lane's segments, stages and rings. ports: the started
    // ports' ids (RX polls each, TX may send on each). inject: per lane,
    // a ring of packets the control thread sends through the lane's TX (or
    // empty: none). On failure returns nullptr and sets error.
    static std::unique_ptr<pipeline> create(const pipeline_options& options, const placement& where,
                                            const std::vector<uint16_t>& ports,
                                            const stage_builder& build,
                                            const std::vector<rte_ring*>& inject,
                                            std::string& error);
    ~pipeline();
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;

    // Starts the segments placed on worker lcores.
    void launch();
    // Runs a bounded slice of the segment placed on the main lcore, if any
    // (used when EAL gave no worker lcore). Returns false when there is none.
    bool run_main_slice(unsigned iterations) noexcept;
    // Stops RX; the other segments drain their input and finish.
    void request_stop() noexcept;
    bool finished() const noexcept;
    // The generation the segments read; the control thread publishes.
    generation_store& generations() noexcept { return *generations_; }
    const generation_store& generations() const noexcept { return *generations_; }
    // QSBR thread id the control thread passes to generation_store::publish.
    unsigned control_thread_id() const noexcept;
    // Waits for every worker lcore to return.
    void wait();

    pipeline_stats stats() const;
    // Packets received so far (cheap: no allocation; the control loop polls it).
    uint64_t rx_total() const noexcept;

  private:
    pipeline() = default;

    pipeline_options options_;
    std::atomic<bool> stop_rx_{false};
    std::vector<std::unique_ptr<segment>> segments_;
    std::vector<rte_ring*> rings_;
    rte_rcu_qsbr* qsbr_ = nullptr;
    std::unique_ptr<generation_store> generations_;
    bool launched_ = false;
};

}  // namespace dpdk_app
