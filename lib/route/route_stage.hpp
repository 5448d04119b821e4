// Router mode's forwarding stage: bulk LPM lookups (rte_lpm / rte_lpm6),
// RFC 1812 checks, TTL / hop-limit decrement with incremental checksum, MAC
// rewrite from the neighbour table. What a router must answer rather than
// forward (ARP, TTL expiry, no route, unresolved neighbour, too big, for us)
// stays in the burst marked with packet_meta::punt for the respond stage.
#pragma once

#include "pipeline/stage.hpp"
#include "route/fib.hpp"

namespace dpdk_app {

class route_stage final : public stage {
  public:
    explicit route_stage(const fib_store& store) noexcept : store_(store) {}
    std::string_view name() const noexcept override { return "route"; }
    void process(burst& b, stage_context& ctx) noexcept override;

  private:
    const fib_store& store_;
};

}  // namespace dpdk_app
