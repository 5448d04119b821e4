// Token-bucket meters: srTCM (RFC 2697), trTCM (RFC 2698) and the two-rate
// marker of RFC 4115, colour-blind and colour-aware, on DPDK's rte_meter.
//
// A meter_profile (what the configuration says, validated, immutable,
// shared by any number of meters) is kept apart from a meter_state (one
// meter's buckets: 32 bytes, mutable, owned by one lcore). The check takes
// the time as a parameter, a TSC value from the caller's clock, so tests
// drive it with a simulated one.
//
// Units: rates are units per second, bursts units, and a packet's length is
// in units as the caller passes it: bytes for a byte policer (the length of
// the policer's length_mode, see metered_length), 1 per packet for a packet
// rate policer (its rates pps, its bursts packets).
//
// Precision: rte_meter refills a bucket with `tokens` units every `period`
// TSC cycles. rte_meter's own profile functions pick a period of at least
// 100 cycles rounded down, which can be up to 1 % fast (10 Gbit/s at a
// 2.6 GHz TSC polices at 10.09 Gbit/s); meter_profile picks the fraction
// tokens / period closest to rate / tsc_hz (refill_for), with lumps no
// larger than 1/64 of the bucket (or the 100 cycles' worth rte_meter would
// use, when that is more): never less precise than rte_meter, and in
// practice exact to a few parts per million or better.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <rte_meter.h>

#include "config/config.hpp"

namespace dpdk_app {

enum class meter_color : uint8_t {
    green = RTE_COLOR_GREEN,
    yellow = RTE_COLOR_YELLOW,
    red = RTE_COLOR_RED,
};

enum class meter_kind : uint8_t { srtcm, trtcm, rfc4115 };

// A meter's rates (units per second) and bursts (units).
struct meter_params {
    meter_kind kind = meter_kind::srtcm;
    uint64_t cir = 0;  // committed rate, > 0
    uint64_t cbs = 0;  // committed burst, > 0
    uint64_t ebs = 0;  // excess burst: srtcm (0 = no yellow), rfc4115
    uint64_t pir = 0;  // peak rate: trtcm, >= cir
    uint64_t pbs = 0;  // peak burst: trtcm, > 0
    uint64_t eir = 0;  // excess rate: rfc4115 (0 = no yellow)
};

// A bucket's refill: `tokens` units every `period` TSC cycles.
struct bucket_refill {
    uint64_t period = 0;  // cycles, >= 1
    uint64_t tokens = 0;  // units
    // The rate this refill gives at tsc_hz, units per second.
    double rate(uint64_t tsc_hz) const noexcept {
        return static_cast<double>(tokens) * static_cast<double>(tsc_hz) /
               static_cast<double>(period);
    }
};

// The refill closest to rate units/s at tsc_hz with tokens <= max_tokens
// (the best rational approximation of tsc_hz / rate with a denominator of
// at most max_tokens). rate 0: no tokens, ever.
bucket_refill refill_for(uint64_t rate, uint64_t tsc_hz, uint64_t max_tokens) noexcept;

union meter_state;

class meter_profile {
  public:
    // Validates params (nullopt and error saying why) and computes the
    // refills for a TSC of tsc_hz cycles per second.
    static std::optional<meter_profile> build(const meter_params& params, uint64_t tsc_hz,
                                              std::string& error);

    meter_kind kind() const noexcept { return params_.kind; }
    const meter_params& params() const noexcept { return params_; }
    // The refill of the committed bucket (srtcm: also what overflows into
    // the excess bucket), and of the peak (trtcm) / excess (rfc4115) bucket.
    bucket_refill committed_refill() const noexcept;
    bucket_refill second_refill() const noexcept;

  private:
    friend void meter_reset(meter_state& s, const meter_profile& p, uint64_t now) noexcept;
    friend meter_color meter_check(meter_state& s, const meter_profile& p, uint64_t now,
                                   uint32_t len, meter_color pre) noexcept;

    meter_profile() = default;

    // rte_meter's check functions take non-const profiles, and do not write them.
    union profiles {
        rte_meter_srtcm_profile srtcm;
        rte_meter_trtcm_profile trtcm;
        rte_meter_trtcm_rfc4115_profile rfc4115;
    };
    mutable profiles rte_{};
    meter_params params_;
};

// One meter's buckets and the time of their last refill.
union meter_state {
    rte_meter_srtcm srtcm;
    rte_meter_trtcm trtcm;
    rte_meter_trtcm_rfc4115 rfc4115;
};
static_assert(sizeof(meter_state) == 32);

// Full buckets, refilled from now on (a TSC value of the caller's clock).
void meter_reset(meter_state& s, const meter_profile& p, uint64_t now) noexcept;

// The colour of a packet of len units at now, pre-coloured pre: green for a
// colour-blind meter (the RFCs' colour-blind marking is the colour-aware one
// with every packet green). now must not be earlier than the now of the
// state's reset or previous check. A state keeps working under a new
// profile of the same kind (a reload): its tokens are capped to the new
// bursts at its next check.
inline meter_color meter_check(meter_state& s, const meter_profile& p, uint64_t now, uint32_t len,
                               meter_color pre = meter_color::green) noexcept {
    const auto in = static_cast<rte_color>(pre);
    switch (p.params_.kind) {
        case meter_kind::srtcm:
            return static_cast<meter_color>(
                rte_meter_srtcm_color_aware_check(&s.srtcm, &p.rte_.srtcm, now, len, in));
        case meter_kind::trtcm:
            return static_cast<meter_color>(
                rte_meter_trtcm_color_aware_check(&s.trtcm, &p.rte_.trtcm, now, len, in));
        case meter_kind::rfc4115:
            break;
    }
    return static_cast<meter_color>(
        rte_meter_trtcm_rfc4115_color_aware_check(&s.rfc4115, &p.rte_.rfc4115, now, len, in));
}

// ---- from the configuration ------------------------------------------------------------

// The meter of a [[policer]] whose kind is not shaper.
meter_params meter_params_of(const policer_config& policer) noexcept;

// The pre-colour of a packet with this DSCP for a colour-aware policer:
// AF x1 (af11, af21, af31, af41) green, AF x2 yellow, AF x3 red (RFC 2597's
// drop precedences low / medium / high); every other DSCP green.
inline meter_color dscp_color(uint8_t dscp) noexcept {
    const unsigned af_class = dscp >> 3;          // AF x: DSCP 8 x + 2 y
    const unsigned precedence = (dscp & 7) >> 1;  // y
    if (af_class < 1 || af_class > 4 || (dscp & 1) != 0 || precedence < 2) {
        return meter_color::green;
    }
    return precedence == 2 ? meter_color::yellow : meter_color::red;
}

// The length a byte policer counts for a frame of frame_len bytes (as
// received: Ethernet header on, FCS off) whose IP header starts at
// l3_offset: l1 = max(frame_len, 60) + 24 (the padding to the 64-byte
// minimum, preamble 7, SFD 1, FCS 4, inter-frame gap 12), l2 = frame_len,
// l3 = frame_len - l3_offset.
inline uint32_t metered_length(length_mode mode, uint32_t frame_len, uint32_t l3_offset) noexcept {
    switch (mode) {
        case length_mode::l1:
            return (frame_len < 60 ? 60 : frame_len) + 24;
        case length_mode::l3:
            return frame_len - l3_offset;
        case length_mode::l2:
            break;
    }
    return frame_len;
}

}  // namespace dpdk_app
