// The dataplane of one process: from a validated configuration to running
// lanes, and back. It owns the ports' mempools, the pipeline, the state
// that outlives generations (the slow path's queues and neighbour table,
// the neighbour resolver) and the generations themselves: it compiles
// generation 1 at start and every later one on reload, publishes each with
// one RCU grace period, and keeps the running one when a reload fails.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "classify/acl.hpp"
#include "config/config.hpp"
#include "flow/exporter.hpp"
#include "io/port.hpp"
#include "pipeline/pipeline.hpp"
#include "police/police_table.hpp"

namespace dpdk_app {

class slow_path;
class resolver;

// The running generation and the reloads so far.
struct generation_info {
    uint64_t number = 0;
    uint64_t reloads = 0;
    uint64_t reload_failures = 0;
    uint64_t routes4 = 0;
    uint64_t routes6 = 0;
};

// What a reload did. lines: what to tell the operator, in order (every
// configuration error first, then the verdict).
struct reload_outcome {
    bool ok = false;
    std::vector<std::string> lines;
};

// The settings that differ between a and b and that a reload cannot change
// (they size memory, queues and lcores, or are read once at start), by
// their configuration key; empty when b may replace a without a restart.
std::vector<std::string> restart_only_changes(const app_config& a, const app_config& b);

class dataplane {
  public:
    enum class start_failure { none, usage, runtime };

    // Resolves the ports, places the chain on the EAL lcores, creates the
    // mempools and the pipeline, starts the ports, and compiles and
    // publishes generation 1. On failure returns nullptr, says why in error
    // and whether the configuration (usage) or the system (runtime) is at
    // fault in failure. EAL must be initialised.
    static std::unique_ptr<dataplane> start(const app_config& config, std::string& error,
                                            start_failure& failure);
    ~dataplane();
    dataplane(const dataplane&) = delete;
    dataplane& operator=(const dataplane&) = delete;

    // Starts the worker lcores and announces the appliance's addresses.
    void launch();
    // One round of control-thread work (the neighbour resolver, the flow
    // exporter); now: TSC.
    void poll(uint64_t now);
    // Re-reads the configuration (path; nothing = the embedded default,
    // which cannot change) and, when it is valid and needs no restart,
    // swaps in a new generation without stopping traffic. A failed reload
    // changes nothing.
    reload_outcome reload(const std::optional<std::string>& path);
    // After pipe().request_stop() and once pipe().finished(): waits for
    // the worker lcores, then the slow path drops what it still holds
    // (counted) and the flow exporter sends every flow still live.
    void shutdown();

    pipeline& pipe() noexcept { return *pipe_; }
    const pipeline& pipe() const noexcept { return *pipe_; }
    // Every counter: the lanes' and the control thread's (slow path).
    pipeline_stats stats() const;
    const app_config& config() const noexcept { return config_; }
    const std::vector<port_plan>& ports() const noexcept { return ports_; }
    const generation_info& info() const noexcept { return info_; }
    rte_mempool* pool() const noexcept { return pool_; }
    // The firewall's rules with their hits (every lane, carried over
    // reloads by id), then the default policy; empty without [firewall].
    // Any thread may call it (the telemetry thread does).
    std::vector<rule_report> firewall_report() const;
    // The exact-match table: its entries and hits (every lane, carried over
    // reloads while [firewall.exact] stays); nullopt without one.
    std::optional<exact_summary> exact_report() const;
    // The policers with their counters (every lane, carried over reloads by
    // name), in the configuration's order; empty without [[policer]]s.
    std::vector<policer_report> policer_reports() const;
    // Flow accounting and export; nullopt without [flow]. Any thread.
    std::optional<flow_report> flow_summary() const;
    // Stops and closes the ports (before the final report's mempool count).
    void close_ports();

  private:
    dataplane() = default;
    bool publish(uint64_t number, const app_config& config, std::vector<std::string>& errors);

    app_config config_;
    std::vector<port_plan> ports_;
    std::vector<uint16_t> started_;
    rte_mempool* pool_ = nullptr;
    rte_mempool* control_pool_ = nullptr;  // ARP / NDP requests: never the RX pool
    std::unique_ptr<slow_path> slow_;      // outlives every generation (the fib points into it)
    std::unique_ptr<flow_exporter> flows_;  // the flow stages' rings and the collectors
    std::unique_ptr<pipeline> pipe_;
    std::unique_ptr<resolver> neighbors_;
    generation_info info_;
    firewall_totals firewall_totals_;  // hits of retired generations
    policer_totals policer_totals_;    // policer counts of retired generations
    mutable std::mutex report_mutex_;   // publish vs firewall_report from other threads
};

}  // namespace dpdk_app
