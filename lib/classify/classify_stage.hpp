// The classify stage: the firewall between parse and route | bridge. Each
// burst's IPv4 and IPv6 packets are classified in bulk against the
// generation's acl_table (rte_acl, first match wins); a packet no terminal
// rule matches gets the default policy. Dropped packets are counted as
// acl_deny (a drop rule) or acl_default (the default policy); every rule's
// hits (packets, bytes) are counted per lane. A reject rule's packets stay
// in the burst marked punt_kind::prohibited: the route stage leaves them
// alone and the responder answers them. Packets that are not IP
// (ARP, other ethertypes) are not the firewall's: they pass.
#pragma once

#include <array>
#include <cstdint>

#include "classify/acl.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class classify_stage final : public stage {
  public:
    explicit classify_stage(unsigned lane) noexcept : lane_(lane) {}
    std::string_view name() const noexcept override { return "classify"; }
    // A reject rule marks its packets punt_kind::prohibited for the responder.
    stage_marks marks() const noexcept override { return {.punts = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;

  private:
    unsigned lane_;
    // Scratch for one burst (no allocation on the fast path).
    std::array<acl_key4, max_burst> keys4_;
    std::array<acl_key6, max_burst> keys6_;
    std::array<const uint8_t*, max_burst> data4_;
    std::array<const uint8_t*, max_burst> data6_;
    std::array<uint16_t, max_burst> index4_;  // burst position of each IPv4 key
    std::array<uint16_t, max_burst> index6_;
    std::array<uint32_t, max_burst * RTE_ACL_MAX_CATEGORIES> results4_;
    std::array<uint32_t, max_burst * RTE_ACL_MAX_CATEGORIES> results6_;
    std::array<int32_t, max_burst> verdict_;  // terminal rule index, -1 default, -2 not IP
};

}  // namespace dpdk_app
