// Router mode's forwarding stage: bulk LPM lookups (rte_lpm / rte_lpm6),
// RFC 1812 checks, TTL / hop-limit decrement with incremental checksum, MAC
// rewrite from the neighbour table. What a router must answer rather than
// forward (ARP, TTL expiry, no route, unresolved neighbour, too big, for us)
// stays in the burst marked with packet_meta::punt for the respond stage.
#pragma once

#include "pipeline/stage.hpp"
#include "route/fib.hpp"

namespace dpdk_app {

// The route stage's work on b.pkts[from..count) (parsed): what is forwarded
// or punted stays in order after b.pkts[from - 1], the rest is dropped.
void route_burst(const fib* f, burst& b, uint16_t from, stage_context& ctx) noexcept;

// Reads the generation's fib (ctx.table<fib>()).
class route_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "route"; }
    stage_marks marks() const noexcept override { return {.punts = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;
};

// Router mode's parse and route stages fused into one, built when both run
// on one lcore with the respond stage after them (the default placement).
// The packets at the head of a burst that are plain untagged IPv4 to a
// gateway are validated (the parse fast path's checks, ipv4_fast_check),
// looked up in bulk and rewritten in place straight from their headers,
// without writing packet_meta unless asked (write_meta: a stage after it,
// the flow stage, reads it for forwarded packets).
// From the first packet that needs anything else, the rest of the burst
// goes through parse_burst and route_burst, as with the stages apart. Drops,
// punts and output frames are the same either way (tested).
class parse_route_stage final : public stage {
  public:
    explicit parse_route_stage(bool write_meta = false) noexcept : write_meta_(write_meta) {}
    std::string_view name() const noexcept override { return "parse+route"; }
    stage_marks marks() const noexcept override { return {.punts = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;

  private:
    bool write_meta_;
};

}  // namespace dpdk_app
