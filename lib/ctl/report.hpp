// The run report: what --stats-json writes (at exit, and on SIGUSR1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/dataplane.hpp"
#include "pipeline/pipeline.hpp"

namespace dpdk_app {

struct port_report {
    uint16_t id = 0;
    std::string name;
    uint16_t peer = 0;
    uint64_t rx = 0;  // packets the pipeline took from this port
    uint64_t tx = 0;  // packets the pipeline handed to this port
    uint64_t rx_polls = 0;  // RX polls of this port by the pipeline, empty ones too
    // From the driver (rte_eth_stats).
    uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
    uint64_t imissed = 0, ierrors = 0, oerrors = 0, rx_nombuf = 0;
};

struct mempool_report {
    uint64_t size = 0;
    uint64_t available = 0;
};

struct run_report {
    std::string mode;
    generation_info config;   // the generation in use, reloads so far
    uint64_t generations_alive = 0;  // 1 between reloads (the old one freed after its grace period)
    double seconds = 0;
    bool final = false;  // written at exit, after every lcore stopped
    pipeline_stats pipe;
    std::vector<port_report> ports;
    mempool_report mempool;
    std::vector<rule_report> firewall;  // rules then the default; empty without [firewall]
    const firewall_config* firewall_setup = nullptr;  // the dataplane's [firewall], when it has one
    std::optional<exact_summary> exact;               // [firewall.exact], when it has one
    std::vector<policer_report> policers;             // [[policer]]s in order; empty without
    std::optional<flow_report> flows;                 // [flow], when it has one
};

std::string to_json(const run_report& r);

// The report of a running (final = false) or stopped dataplane; seconds:
// since the lanes started.
run_report make_report(const dataplane& dp, double seconds, bool final);

// Each tx_pcap file of eal_args against what its port sent (the driver's
// opackets and obytes in r, the ports closed so the files are complete): a
// file shorter than the 24-byte header plus 16 bytes and the frame per
// packet lost frames that its port counted as sent — a full file system, of
// which libpcap says nothing. One message per such file.
std::vector<std::string> short_tx_pcap_files(const std::vector<std::string>& eal_args,
                                             const run_report& r);

// The lines printed at exit: totals, drops by reason, ports.
std::string summary_text(const run_report& r);

// The one-line status shown every second on a terminal: rates between
// last and now over dt seconds.
std::string status_line(const pipeline_stats& now, const pipeline_stats& last, double dt,
                        const std::vector<port_plan>& ports);

// Writes text to path atomically (temporary file + rename). Returns an empty
// string or the reason it failed.
std::string write_file_atomic(const std::string& path, const std::string& text);

}  // namespace dpdk_app
