// The parse stage: every packet passes it. It validates L2/L3/L4 the way a
// router must (RFC 1812 5.2.2, RFC 8200), drops what is malformed under a
// named reason, and writes packet_meta once for the later stages.
#pragma once

#include "packet/meta.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

// Parses b.pkts[from..count): drops what is malformed, writes packet_meta of
// the rest, which stay in order after b.pkts[from - 1] (b.count shrinks).
void parse_burst(burst& b, uint16_t from, stage_context& ctx) noexcept;

class parse_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "parse"; }
    void process(burst& b, stage_context& ctx) noexcept override;
};

}  // namespace dpdk_app
