// Flow accounting on a worker lane: a bounded table of the flows its packets
// belong to (rte_hash, bulk lookups per burst), keyed by IP version,
// addresses, protocol, ports (ICMP: type and code), input port and VLAN;
// each flow's packets, octets (IP length), first and last time, TCP flags
// seen, DSCP and output port.
//
// Flows end on an inactive timeout, an active timeout (a long flow is
// reported and goes on counting from zero, as NetFlow / IPFIX exporters
// do), a TCP FIN or RST (after a short linger, so the last ACKs count), or
// at shutdown (drain()). Ended flows come out as flow_records through a
// sink the caller gives; expiry looks at a few slots after every burst,
// never at the whole table on the fast path.
//
// A new flow that finds the table full is not accounted: its packets are
// counted (table_full) until the table makes room through its timeouts. Times are
// TSC values from the caller's clock (tests drive a simulated one); the
// records carry wall-clock milliseconds: tsc_to_ms converts.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <rte_mbuf.h>

#include "flow/export.hpp"
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

class flow_table {
  public:
    ~flow_table();
    flow_table(const flow_table&) = delete;
    flow_table& operator=(const flow_table&) = delete;

    // capacity: flows (>= 1024). nullptr with error on failure.
    static std::unique_ptr<flow_table> create(unsigned lane, uint32_t capacity,
                                              const flow_timeouts& t, std::string& error);

    // Accounts a burst of parsed packets (packet_meta filled; non-IP
    // packets are not flows and are skipped) at TSC now; a packet's egress
    // is its mbuf->port (set by routing / bridging).
    void update(rte_mbuf* const* pkts, uint16_t n, uint64_t now) noexcept;

    // Looks at up to n slots from where the last call stopped and ends the
    // flows whose time has come; also reports active flows. Returns how
    // many records went to sink.
    uint32_t expire(uint64_t now, uint32_t n, const tsc_clock& clock, flow_sink& sink) noexcept;

    // Ends every flow (forced end): at shutdown.
    uint32_t drain(const tsc_clock& clock, flow_sink& sink) noexcept;

    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t live() const noexcept { return used_; }
    // The ledger: created() = ended() + lost() + live().
    uint64_t created() const noexcept { return created_; }
    uint64_t ended() const noexcept { return ended_; }  // flows ended, their record handed over
    uint64_t lost() const noexcept { return lost_; }    // flows ended, their record refused
    // Reports of long flows on the active timeout (they go on): handed
    // over / refused.
    uint64_t active_reports() const noexcept { return reports_; }
    uint64_t active_reports_lost() const noexcept { return reports_lost_; }
    uint64_t table_full() const noexcept { return full_; }  // packets of flows not accounted
    void set_timeouts(const flow_timeouts& t) noexcept { timeouts_ = t; }

  private:
    flow_table() = default;
    bool report(uint32_t pos, flow_end_reason why, const tsc_clock& clock, flow_sink& sink) noexcept;
    // Reports the flow and removes it.
    bool finish(uint32_t pos, flow_end_reason why, const tsc_clock& clock, flow_sink& sink) noexcept;
    void remove(uint32_t pos) noexcept;

    rte_hash* hash_ = nullptr;
    flow_entry* entries_ = nullptr;  // by rte_hash position
    uint32_t slots_ = 0;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t cursor_ = 0;
    flow_timeouts timeouts_;
    uint64_t created_ = 0;
    uint64_t ended_ = 0;
    uint64_t lost_ = 0;
    uint64_t reports_ = 0;
    uint64_t reports_lost_ = 0;
    uint64_t full_ = 0;
    std::array<flow_key, max_burst> keys_;
    std::array<const void*, max_burst> key_ptrs_;
    std::array<int32_t, max_burst> positions_;
};

}  // namespace dpdk_app
