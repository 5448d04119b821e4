// The running dataplane: lanes of segments (one per lcore), the rings between
// them, worker launch and the ordered shutdown that loses no packet.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "io/port.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/placement.hpp"
#include "pipeline/stage.hpp"
#include "respond/respond_stage.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

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
    // Stages that share a group run fused: router "parse", "route",
    // "respond" as "parse+route+respond" (parse_route_respond_stage); bridge
    // "parse", "bridge", "respond" as "parse+bridge+respond"
    // (parse_bridge_respond_stage).
    bool fuse = true;
    responder_settings responder;  // router: whether the respond stage serves router mode
    uint32_t neighbor_max = 4096;  // neighbour table entries per address family
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
};

class segment;

// What stage factories may hand to the stages they make.
struct stage_env {
    const std::vector<port_plan>* ports = nullptr;
    const fib_store* fibs = nullptr;
    unsigned lane = 0;
    slow_path* slow = nullptr;
    const responder_settings* responder = nullptr;
};

class pipeline {
  public:
    // Builds every lane's segments, stages and rings. On failure returns
    // nullptr and sets error.
    static std::unique_ptr<pipeline> create(const pipeline_options& options, const placement& where,
                                            const std::vector<port_plan>& ports,
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
    // The router's tables; readers are the segments, writers the control thread.
    fib_store& fibs() noexcept { return *fibs_; }
    // Queues and neighbour table shared with the control thread.
    slow_path& slow() noexcept { return *slow_; }
    // QSBR thread id the control thread passes to fib_store::publish.
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
    std::unique_ptr<slow_path> slow_;  // before fibs_: every fib points into its table
    std::unique_ptr<fib_store> fibs_;
    bool launched_ = false;
};

// Stage factory: a fresh instance of a middle stage for one lane.
std::unique_ptr<stage> make_stage(const std::string& name, const stage_env& env);

}  // namespace dpdk_app
