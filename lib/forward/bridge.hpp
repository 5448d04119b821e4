// Bridge mode: a transparent bump in the wire. Each frame leaves through the
// peer of the port it arrived on, unchanged.
#pragma once

#include <array>
#include <vector>

#include "io/port.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class bridge_stage final : public stage {
  public:
    explicit bridge_stage(const std::vector<port_plan>& ports);
    std::string_view name() const noexcept override { return "bridge"; }
    void process(burst& b, stage_context& ctx) noexcept override;
    // Where frames arriving on port go (no_port: nowhere).
    uint16_t peer(uint16_t port) const noexcept { return port < max_ports ? peer_[port] : no_port; }

  private:
    std::array<uint16_t, max_ports> peer_;  // ingress port id -> egress port id
};

}  // namespace dpdk_app
