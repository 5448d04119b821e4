// The responder: answers for the appliance's own addresses and builds the
// ICMP errors a router owes, in the mbuf of the packet it answers.
//  - bridge mode: picks out frames addressed to the appliance (ARP and NDP
//    for its addresses, IPv4 / IPv6 to them); everything else passes on;
//  - router mode: handles what the route stage marked (packet_meta::punt).
// In both modes a packet a classifier marked punt_kind::prohibited (a
// firewall reject rule) is answered with ICMP administratively prohibited
// (type 3 code 13 / ICMPv6 type 1 code 1) and counted as `rejected`.
// ARP / NDP senders are passed to the control thread to learn (router mode);
// packets waiting for a neighbour go to the control thread to be held.
// Errors are rate-limited per lane (global and per-source token buckets).
#pragma once

#include "config/config.hpp"
#include "forward/bridge.hpp"
#include "packet/meta.hpp"
#include "pipeline/stage.hpp"
#include "respond/rate_limit.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"
#include "route/route_stage.hpp"

namespace dpdk_app {

struct responder_settings {
    bool router = false;
    error_limits limits;
};

// The settings the respond stage reads from a configuration: the mode and
// [responder]'s error rate limits.
responder_settings responder_settings_from(const app_config& config) noexcept;

// Reads the generation's fib (ctx.table<fib>()): the ports and the
// appliance's own addresses; without one it passes every packet on.
class respond_stage final : public stage {
  public:
    respond_stage(slow_path* sp, unsigned lane, const responder_settings& settings,
                  uint64_t tsc_hz) noexcept;
    std::string_view name() const noexcept override { return "respond"; }
    stage_marks marks() const noexcept override { return {.generates = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;
    // process() for a burst whose first `from` packets are echo replies the
    // caller already made in place and flagged generated (not counted yet):
    // they stay in front and are counted with this call's own replies; the
    // rest is handled as process() would. The burst must go back out of
    // its arrival port when from > 0.
    void process_from(burst& b, uint16_t from, stage_context& ctx) noexcept;

  private:
    // Each returns true when m stays in the burst (a reply to send, or a
    // packet that is not for the responder).
    bool handle_arp(rte_mbuf* m, const packet_meta& pm, const fib& f, stage_context& ctx) noexcept;
    bool handle_local(rte_mbuf* m, const packet_meta& pm, const fib& f,
                      stage_context& ctx) noexcept;
    bool handle_icmp6(rte_mbuf* m, const packet_meta& pm, const fib& f,
                      stage_context& ctx) noexcept;
    // A firewall reject of a TCP segment: the RST that refuses it, under
    // the error rules and rate limits. Returns whether m is now the RST.
    bool send_reset(rte_mbuf* m, const packet_meta& pm, const fib& f,
                    stage_context& ctx) noexcept;
    bool send_error(rte_mbuf* m, const packet_meta& pm, const fib& f, stage_context& ctx,
                    drop_reason why, event what, uint8_t type4, uint8_t code4, uint8_t type6,
                    uint8_t code6, uint32_t rest, bool too_big) noexcept;
    void learn(const uint8_t* address, bool v6, const uint8_t* mac, uint16_t port, bool targeted,
               stage_context& ctx) noexcept;
    punt_kind classify_bridge(const rte_mbuf* m, const packet_meta& pm, const fib& f) const noexcept;

    slow_path* slow_;
    unsigned lane_;
    bool router_;
    error_limiter limiter_;
};

// Bridge mode's parse, bridge and respond stages fused into one
// ("parse+bridge+respond"), built when the three run on one lcore (the
// default placement; pipeline.fuse = false keeps them apart). When the
// burst goes back out of the port it came from (a one-armed appliance) and
// the appliance has IPv4 addresses, the echo requests for them at the head
// of the burst are answered straight from their headers (the parse fast
// path's checks, ipv4_fast_check, then the responder's own), without
// writing packet_meta; from the first other packet the rest goes through
// parse, bridge and respond as with the stages apart. Frames, egress and
// counters are the same either way (tested).
class parse_bridge_respond_stage final : public stage {
  public:
    parse_bridge_respond_stage(const std::vector<port_plan>& ports, slow_path* sp, unsigned lane,
                               const responder_settings& settings, uint64_t tsc_hz) noexcept
        : bridge_(ports), respond_(sp, lane, settings, tsc_hz) {}
    std::string_view name() const noexcept override { return "parse+bridge+respond"; }
    stage_marks marks() const noexcept override { return {.generates = true}; }
    void process(burst& b, stage_context& ctx) noexcept override;

  private:
    bridge_stage bridge_;
    respond_stage respond_;
};

// Router mode's parse, route and respond stages as one (the default
// placement puts them on one lcore): parse_route_stage, then the responder
// only for a burst with punts (without punts the router's respond stage has
// nothing to do), saving a stage call and its accounting per burst.
class parse_route_respond_stage final : public stage {
  public:
    // write_meta: see parse_route_stage.
    parse_route_respond_stage(slow_path* sp, unsigned lane, const responder_settings& settings,
                              uint64_t tsc_hz, bool write_meta = false) noexcept
        : route_(write_meta), respond_(sp, lane, settings, tsc_hz) {}
    std::string_view name() const noexcept override { return "parse+route+respond"; }
    stage_marks marks() const noexcept override { return {.punts = true, .generates = true}; }
    void process(burst& b, stage_context& ctx) noexcept override {
        route_.process(b, ctx);
        if (b.has_punts) {
            respond_.process(b, ctx);
        }
    }

  private:
    parse_route_stage route_;
    respond_stage respond_;
};

}  // namespace dpdk_app
