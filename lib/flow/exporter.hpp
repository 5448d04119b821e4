// The flow exporter: the control side of flow accounting. Each lane hands
// its ended flow records to a ring of its own (single producer, single
// consumer, records by value: no allocation on the worker); the control
// thread takes them off in batches, encodes them once per collector
// (IPFIX, NetFlow v9 or v5, each with its own templates and sequence
// numbers) and sends them over UDP. A full ring refuses a record (the lane
// counts it lost and goes on); a collector that is down or slow costs
// failed sends, counted and logged at most once per log_interval_s per
// collector, never a stalled worker.
//
// At shutdown (finish(), after every worker stopped) the rings are
// emptied and every live flow of every lane's table is exported with the
// forced-end reason, so that a collector sees every flow the run saw.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "flow/export.hpp"
#include "flow/flow_table.hpp"

struct rte_ring;

namespace dpdk_app {

struct flow_collector_report {
    std::string address;   // host:port
    std::string protocol;  // "ipfix", "netflow-v9", "netflow-v5"
    uint64_t messages = 0;  // datagrams sent
    uint64_t records = 0;   // data records encoded for it
    uint64_t skipped = 0;   // records it cannot carry (IPv6 in NetFlow v5)
    uint64_t errors = 0;    // datagrams the network refused
    std::string last_error;  // strerror of the last refusal, empty without
};

struct flow_top_report {
    uint8_t ip_version = 4;
    std::string src, dst;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0;
    uint16_t in_port = 0;
    uint16_t out_port = 0;  // no_port: not known (flow.packets = "received")
    uint16_t vlan = 0;
    unsigned lane = 0;
    uint64_t packets = 0;
    uint64_t octets = 0;
};

// Every count of flow accounting and export, summed over the lanes.
struct flow_report {
    uint32_t lanes = 0;
    uint32_t max_flows = 0;  // per lane
    // The ledger: created = exported + queued + lost + live (exact once
    // the lanes stopped; while they run, the parts are read one after the
    // other).
    uint64_t live = 0;
    uint64_t created = 0;
    uint64_t exported = 0;  // flows ended whose record the exporter took
    uint64_t queued = 0;    // ended, in a ring still
    uint64_t lost = 0;      // ended, the ring was full: no record
    uint64_t evicted = 0;   // ended early to make room (lack of resources)
    uint64_t table_full = 0;  // packets left unaccounted: no room, nothing to evict
    uint64_t active_reports = 0;       // long flows reported on the active timeout
    uint64_t active_reports_lost = 0;  // ... refused by a full ring
    uint64_t sampled_out = 0;          // packets passed over by 1-in-N sampling
    std::vector<flow_collector_report> collectors;
    // The largest live flows (flow.top of each), as of each lane's last
    // pass over its table; top_age_s: the oldest of those passes.
    std::vector<flow_top_report> top_octets, top_packets;
    double top_age_s = 0;
};

class flow_exporter {
  public:
    // The collectors' sockets and one ring per lane. nullptr with error
    // when a ring or a socket cannot be made.
    static std::unique_ptr<flow_exporter> create(const flow_config& config, unsigned lanes,
                                                 uint64_t tsc_hz, std::string& error);
    ~flow_exporter();
    flow_exporter(const flow_exporter&) = delete;
    flow_exporter& operator=(const flow_exporter&) = delete;

    // Worker side: where lane's table puts ended records, and the clock
    // that turns its TSC times into wall-clock milliseconds.
    flow_sink& sink(unsigned lane) noexcept;
    const tsc_clock& clock() const noexcept { return clock_; }
    const flow_config& config() const noexcept { return config_; }

    // The flow stage of each lane hands over its table when it is made
    // (before the lanes start) and its sampling count: drained by finish(),
    // read by report().
    void attach(unsigned lane, flow_table* table, const counter* sampled_out);

    // Control thread: takes what the rings hold, encodes and sends it, and
    // the templates when they are due. now: TSC.
    void poll(uint64_t now);
    // Control thread, once every worker stopped: empties the rings, then
    // ends every live flow (forced end) and sends it all.
    void finish();

    // Any thread.
    flow_report report() const;

    // Records taken off the rings per poll, at most (the rest waits for
    // the next poll: a busy exporter never starves the control loop).
    static constexpr uint32_t batch = 1024;
    static constexpr uint32_t max_per_poll = 16 * batch;
    static constexpr uint64_t log_interval_s = 10;

  private:
    class ring_sink;
    struct collector;
    struct lane_state;
    flow_exporter() = default;
    // Encodes recs for every collector and sends them; now_ms: wall clock.
    void send(const std::vector<flow_record>& recs, uint64_t now_ms);
    uint64_t lost_total() const noexcept;

    flow_config config_;
    uint64_t hz_ = 1;
    tsc_clock clock_;
    std::vector<std::unique_ptr<lane_state>> lanes_;
    std::vector<std::unique_ptr<collector>> collectors_;
    std::vector<flow_record> batch_;
    counter exported_;  // flow records (not active reports) taken off the rings
    counter taken_active_;
    mutable std::mutex mutex_;  // the collectors' counts: poll vs report
};

}  // namespace dpdk_app
