// The flow stage: accounts every packet it is handed in its lane's flow
// table (lib/flow/flow_table.hpp) and lets the table end what is due, a few
// slots after every burst and more while the lane is idle. Last before TX
// (flow.packets = "forwarded", the default: what leaves, with its egress
// port), or right after parse ("received": every IP packet that parsed,
// whatever later stages do with it; no egress port).
//
// Packets the appliance generates (replies, ICMP errors) are not counted:
// they belong to no received flow. With flow.sampling = N only one packet
// in N is counted (every Nth, or each with probability 1/N); the records
// carry the sampled counts and the IPFIX options record the interval, so
// that collectors scale them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "flow/exporter.hpp"
#include "flow/flow_table.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class flow_stage final : public stage {
  public:
    // The stage of lane, its table attached to exporter (which drains it
    // at shutdown). nullptr with error when the table cannot be made.
    static std::unique_ptr<flow_stage> create(unsigned lane, const flow_config& config,
                                              flow_exporter& exporter, uint64_t tsc_hz,
                                              std::string& error);

    std::string_view name() const noexcept override { return "flow"; }
    void process(burst& b, stage_context& ctx) noexcept override;
    void idle(uint64_t now) noexcept override;

    const flow_table& table() const noexcept { return *table_; }

    // Slots the table looks at after every burst, and per idle round (at
    // most one per idle_period).
    static constexpr uint32_t expire_per_burst = 16;
    static constexpr uint32_t expire_per_idle = 4096;

  private:
    flow_stage() = default;
    // Whether a packet is counted (1-in-N sampling).
    bool sampled() noexcept;

    std::unique_ptr<flow_table> table_;
    bool egress_known_ = true;
    uint32_t sampling_ = 1;
    bool random_ = false;
    uint32_t skip_ = 0;          // deterministic sampling: packets until the next counted one
    uint64_t idle_period_ = 0;   // TSC cycles between idle expiry rounds
    uint64_t last_idle_ = 0;
    counter sampled_out_;
};

}  // namespace dpdk_app
