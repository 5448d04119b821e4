// Flow accounting on a worker lane: a bounded table of the flows its packets
// belong to (rte_hash, bulk lookups per burst), keyed by IP version,
// addresses, protocol, ports (ICMP: type and code), input port and VLAN;
// each flow's packets, octets (IP length), first and last time, TCP flags
// seen, DSCP and output port.
//
// Flows end on an inactive timeout, an active timeout (a long flow is
// reported and goes on counting from zero, as NetFlow / IPFIX exporters
// do), a TCP FIN or RST (after a short linger, so the last ACKs count), or
// at shutdown (drain()). Ended flows come out as flow_records through the
// sink the table was made with; expiry looks at a few slots after every
// burst (and more while the lane is idle), never at the whole table on the
// fast path.
//
// A new flow that finds the table full evicts a live one: the next flow
// the expiry cursor finds (within evict_scan slots) that no packet of the
// current burst touched ends with flowEndReason "lack of resources"
// (counted: evicted()). Only when every flow it looks at was touched by
// this very burst is the new flow's packet left unaccounted (table_full()).
// Times are TSC values from the caller's clock (tests drive a simulated
// one); the records carry wall-clock milliseconds: tsc_clock converts.
//
// The largest flows are kept for operators: every flow the expiry cursor
// passes is offered to a top-N by octets and by packets, published (under a
// sequence lock, for other threads) each time the cursor completes a pass.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "flow/export.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/stage.hpp"

struct rte_hash;

namespace dpdk_app {

struct flow_timeouts {
    uint64_t inactive = 0;  // TSC cycles without a packet
    uint64_t active = 0;    // TSC cycles since the flow (or its last report) began
    uint64_t linger = 0;    // TSC cycles after a FIN / RST
};

// TSC -> wall-clock milliseconds: ms = base_ms + (tsc - base_tsc) * 1000 / hz.
struct tsc_clock {
    uint64_t base_tsc = 0;
    uint64_t base_ms = 0;
    uint64_t hz = 1;
    uint64_t ms(uint64_t tsc) const noexcept {
        return base_ms + (tsc >= base_tsc ? (tsc - base_tsc) * 1000 / hz : 0);
    }
};

// Where ended flows go (the flow stage: a ring to the exporter).
class flow_sink {
  public:
    virtual ~flow_sink() = default;
    // false: no room; the record is lost (counted by the table).
    virtual bool put(const flow_record& r) noexcept = 0;
};

struct flow_key {
    uint8_t src[16];  // IPv4: first 4 bytes, rest 0
    uint8_t dst[16];
    uint16_t sport;  // ICMP: 0
    uint16_t dport;  // ICMP: type << 8 | code
    uint16_t in_port;
    uint16_t vlan;
    uint8_t proto;
    uint8_t version;
    uint8_t pad[6];
};
static_assert(sizeof(flow_key) == 48);

struct flow_entry {
    uint64_t packets;
    uint64_t octets;
    uint64_t first;    // TSC of the first packet (of this report)
    uint64_t last;     // TSC of the last packet
    uint64_t fin_at;   // TSC of the first FIN / RST, 0 before
    uint16_t out_port;
    uint8_t tcp_flags;
    uint8_t dscp;
    uint8_t used;
    uint8_t pad[3];
};

// The largest live flows of a lane by octets and by packets: collected by
// the lane while its expiry cursor passes (offer), published at the end of
// each pass (publish) and read by any other thread (read).
struct flow_top_row {
    flow_key key;
    uint64_t packets = 0;
    uint64_t octets = 0;
    uint64_t first = 0;  // TSC
    uint16_t out_port = 0;
};

class flow_top {
  public:
    static constexpr uint32_t max_rows = 100;
    explicit flow_top(uint32_t n) noexcept : n_(n < max_rows ? n : max_rows) {}

    uint32_t size() const noexcept { return n_; }
    // Lane side.
    void offer(const flow_key& k, const flow_entry& e) noexcept;
    void publish(uint64_t now) noexcept;
    // Any thread: the last published lists (largest first) and the TSC of
    // their publication (0: none yet).
    uint64_t read(std::vector<flow_top_row>& by_octets, std::vector<flow_top_row>& by_packets) const;

  private:
    struct list {
        std::array<flow_top_row, max_rows> rows;
        uint32_t count = 0;
    };
    // Keeps the n largest by field (sorted, largest first).
    void insert(list& l, const flow_top_row& r, uint64_t flow_top_row::*field) noexcept;

    uint32_t n_;
    list octets_, packets_;  // being collected
    std::atomic<uint64_t> seq_{0};  // odd while published_ is written
    list published_octets_, published_packets_;
    uint64_t published_at_ = 0;
};

class flow_table {
  public:
    ~flow_table();
    flow_table(const flow_table&) = delete;
    flow_table& operator=(const flow_table&) = delete;

    // capacity: flows (>= 1024); ended flows go to sink, their times
    // converted by clock (both outlive the table); top: how many of the
    // largest flows to keep (0: none). nullptr with error on failure.
    static std::unique_ptr<flow_table> create(unsigned lane, uint32_t capacity,
                                              const flow_timeouts& t, flow_sink& sink,
                                              const tsc_clock& clock, uint32_t top,
                                              std::string& error);

    // Accounts a burst of parsed packets (packet_meta filled; non-IP
    // packets are not flows and are skipped) at TSC now. A packet's egress
    // is out_port when the burst has one, else its mbuf->port (set by
    // routing / bridging); egress_known false records no_port (the flow
    // stage before the forwarding decision).
    void update(rte_mbuf* const* pkts, uint16_t n, uint64_t now, uint16_t out_port = no_port,
                bool egress_known = true) noexcept;

    // Looks at up to n slots from where the last call stopped and ends the
    // flows whose time has come; also reports active flows. Returns how
    // many records went to the sink.
    uint32_t expire(uint64_t now, uint32_t n) noexcept;

    // Ends every flow (forced end): at shutdown.
    uint32_t drain() noexcept;

    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t slots() const noexcept { return slots_; }
    // Any thread may read the counters.
    uint64_t live() const noexcept { return live_.get(); }
    // The ledger: created() = ended() + lost() + live().
    uint64_t created() const noexcept { return created_.get(); }
    uint64_t ended() const noexcept { return ended_.get(); }  // flows ended, their record handed over
    uint64_t lost() const noexcept { return lost_.get(); }    // flows ended, their record refused
    // Flows ended early to make room for a new one (also in ended / lost).
    uint64_t evicted() const noexcept { return evicted_.get(); }
    // Reports of long flows on the active timeout (they go on): handed
    // over / refused.
    uint64_t active_reports() const noexcept { return reports_.get(); }
    uint64_t active_reports_lost() const noexcept { return reports_lost_.get(); }
    uint64_t table_full() const noexcept { return full_.get(); }  // packets of flows not accounted
    const flow_top& top() const noexcept { return top_; }

    // Slots a full table looks at for a flow to evict.
    static constexpr uint32_t evict_scan = 64;

  private:
    explicit flow_table(flow_sink& sink, const tsc_clock& clock, uint32_t top) noexcept
        : sink_(sink), clock_(clock), top_(top) {}
    bool report(uint32_t pos, flow_end_reason why) noexcept;
    // Reports the flow and removes it.
    bool finish(uint32_t pos, flow_end_reason why) noexcept;
    void remove(uint32_t pos) noexcept;
    // Ends a flow no packet of the burst at now touched; false: none found.
    bool evict(uint64_t now) noexcept;
    void advance_cursor(uint64_t now) noexcept;

    flow_sink& sink_;
    const tsc_clock& clock_;
    rte_hash* hash_ = nullptr;
    flow_entry* entries_ = nullptr;  // by rte_hash position
    uint32_t slots_ = 0;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t cursor_ = 0;
    flow_timeouts timeouts_;
    counter live_;
    counter created_;
    counter ended_;
    counter lost_;
    counter evicted_;
    counter reports_;
    counter reports_lost_;
    counter full_;
    flow_top top_;
    std::array<flow_key, max_burst> keys_;
    std::array<const void*, max_burst> key_ptrs_;
    std::array<int32_t, max_burst> positions_;
};

}  // namespace dpdk_app
