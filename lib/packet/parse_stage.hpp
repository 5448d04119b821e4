// The parse stage: every packet passes it. It validates L2/L3/L4 the way a
// router must (RFC 1812 5.2.2, RFC 8200), drops what is malformed under a
// named reason, and writes packet_meta once for the later stages.
#pragma once

#include "packet/meta.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class parse_stage final : public stage {
  public:
    std::string_view name() const noexcept override { return "parse"; }
    void process(burst& b, stage_context& ctx) noexcept override;
};

}  // namespace dpdk_app
