// The classify stage: the firewall between parse and route | bridge. Each
// burst's IPv4 and IPv6 packets are classified in bulk against the
// generation's acl_table (rte_acl, first match wins); a packet no terminal
// rule matches gets the default policy. Dropped packets are counted as
// acl_deny (a drop rule) or acl_default (the default policy); every rule's
// hits (packets, bytes) are counted per lane. A reject rule's packets stay
// in the burst marked punt_kind::prohibited: the route stage leaves them
// alone and the responder answers them. Packets that are not IP
// (ARP, other ethertypes) are not the firewall's: they pass.
//
// The exact-match table ([firewall.exact], the generation's exact_table),
// when there is one, is consulted first, for every IP packet: an accept
// entry passes the packet past the connection-state check and the rules
// (its connection is still tracked), a drop entry drops it (exact_deny).
//
// With connection tracking, the lane's connection_table (made at start,
// kept across reloads) gives every IP packet its state before the rules
// see it; invalid packets are dropped first (conntrack_invalid) unless
// firewall.conntrack.drop_invalid = false; accepted packets open or advance
// their connection (a full table: conntrack_full). A packet whose state
// alone decides its verdict (acl_table::verdict_by_state: typically
// "established, related: accept" as the first rule) skips rte_acl.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "classify/acl.hpp"
#include "classify/conntrack.hpp"
#include "classify/exact.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class classify_stage final : public stage {
  public:
    // Without connection tracking.
    explicit classify_stage(unsigned lane) noexcept : lane_(lane) {}
    classify_stage(unsigned lane, std::unique_ptr<connection_table> connections) noexcept
        : lane_(lane), connections_(std::move(connections)) {}
    // The stage of a lane for this firewall: with a connection table of
    // firewall.conntrack.capacity when it tracks connections. nullptr with
    // error when the table cannot be made.
    static std::unique_ptr<classify_stage> create(unsigned lane, const firewall_config& firewall,
                                                  std::string& error);

    std::string_view name() const noexcept override { return "classify"; }
    // A reject rule marks its packets punt_kind::prohibited for the responder.
    stage_marks marks() const noexcept override { return {.punts = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;

    // The lane's connections (nullptr without tracking): for tests and stats.
    const connection_table* connections() const noexcept { return connections_.get(); }

    // Slots of each family's table looked at for timed-out connections
    // after every burst.
    static constexpr uint32_t expire_per_burst = 32;

  private:
    unsigned lane_;
    std::unique_ptr<connection_table> connections_;
    // Scratch for one burst (no allocation on the fast path).
    std::array<exact_verdict, max_burst> exact_;
    std::array<acl_key4, max_burst> keys4_;
    std::array<acl_key6, max_burst> keys6_;
    std::array<const uint8_t*, max_burst> data4_;
    std::array<const uint8_t*, max_burst> data6_;
    std::array<rte_mbuf*, max_burst> pkts4_;
    std::array<rte_mbuf*, max_burst> pkts6_;
    std::array<uint8_t, max_burst> family_;  // 0 not IP, 4, 6
    std::array<uint8_t, max_burst> at_;      // index among its family's packets
    // Per family index: the state the packet was classified with, and its
    // index among the packets given to rte_acl (no_acl: not given).
    std::array<uint8_t, max_burst> passed4_;  // passed by an exact-match entry
    std::array<uint8_t, max_burst> passed6_;
    std::array<uint8_t, max_burst> state4_;
    std::array<uint8_t, max_burst> state6_;
    std::array<uint8_t, max_burst> acl4_;
    std::array<uint8_t, max_burst> acl6_;
    std::array<uint32_t, RTE_ACL_MAX_CATEGORIES> again_;  // one packet classified again
    std::array<uint32_t, max_burst * RTE_ACL_MAX_CATEGORIES> results4_;
    std::array<uint32_t, max_burst * RTE_ACL_MAX_CATEGORIES> results6_;
    std::array<ct_probe, max_burst> probes4_;
    std::array<ct_probe, max_burst> probes6_;
};

}  // namespace dpdk_app
