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
template <meter_kind K>
struct meter_bucket;

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
    template <meter_kind K>
    friend meter_color meter_check_as(typename meter_bucket<K>::type& m, const meter_profile& p,
                                      uint64_t now, uint32_t len, meter_color pre) noexcept;
    friend meter_color rte_meter_check(meter_state& s, const meter_profile& p, uint64_t now,
                                       uint32_t len, meter_color pre) noexcept;

    meter_profile() = default;

    // rte_meter's check functions take non-const profiles, and do not write them.
    union profiles {
        rte_meter_srtcm_profile srtcm;
        rte_meter_trtcm_profile trtcm;
        rte_meter_trtcm_rfc4115_profile rfc4115;
    };
    mutable profiles rte_{};
    // meter_detail::reciprocal of the committed and the second period.
    std::array<uint64_t, 2> reciprocal_{};
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

namespace meter_detail {

__extension__ typedef unsigned __int128 wide;

// floor(n / d) for d >= 1 with r = reciprocal(d): a multiply and one
// correction instead of a division (which costs tens of cycles and, for a
// busy meter, sits on the dependency chain from one packet to the next).
inline uint64_t reciprocal(uint64_t d) noexcept {
    return d <= 1 ? ~uint64_t{0} : static_cast<uint64_t>((wide{1} << 64) / d);
}
inline uint64_t divide(uint64_t n, uint64_t d, uint64_t r) noexcept {
    // q is floor(n / d) or one less: r > 2^64 / d - 1.
    uint64_t q = static_cast<uint64_t>((static_cast<wide>(n) * r) >> 64);
    if (n - q * d >= d) {
        ++q;
    }
    return q;
}
// Whole refill periods in diff cycles (none, without a multiply, when the
// bucket was refilled less than a period ago: every packet of a burst but
// the first).
inline uint64_t periods(uint64_t diff, uint64_t period, uint64_t r) noexcept {
    return diff < period ? 0 : divide(diff, period, r);
}

}  // namespace meter_detail

// One kind's bucket state (a member of meter_state) and its check: what
// meter_check does without the dispatch on the kind, for a loop over one
// meter that keeps its state in locals.
template <meter_kind K>
struct meter_bucket;
template <>
struct meter_bucket<meter_kind::srtcm> {
    using type = rte_meter_srtcm;
    static type& of(meter_state& s) noexcept { return s.srtcm; }
};
template <>
struct meter_bucket<meter_kind::trtcm> {
    using type = rte_meter_trtcm;
    static type& of(meter_state& s) noexcept { return s.trtcm; }
};
template <>
struct meter_bucket<meter_kind::rfc4115> {
    using type = rte_meter_trtcm_rfc4115;
    static type& of(meter_state& s) noexcept { return s.rfc4115; }
};

template <meter_kind K>
meter_color meter_check_as(typename meter_bucket<K>::type& m, const meter_profile& p, uint64_t now,
                           uint32_t len, meter_color pre) noexcept {
    using meter_detail::periods;
    if constexpr (K == meter_kind::srtcm) {
        const rte_meter_srtcm_profile& q = p.rte_.srtcm;
        const uint64_t n = periods(now - m.time, q.cir_period, p.reciprocal_[0]);
        m.time += n * q.cir_period;
        uint64_t tc = m.tc + n * q.cir_bytes_per_period;
        uint64_t te = m.te;
        if (tc > q.cbs) {
            te += tc - q.cbs;
            if (te > q.ebs) {
                te = q.ebs;
            }
            tc = q.cbs;
        }
        if (pre == meter_color::green && tc >= len) {
            m.tc = tc - len;
            m.te = te;
            return meter_color::green;
        }
        if (pre != meter_color::red && te >= len) {
            m.tc = tc;
            m.te = te - len;
            return meter_color::yellow;
        }
        m.tc = tc;
        m.te = te;
        return meter_color::red;
    } else if constexpr (K == meter_kind::trtcm) {
        const rte_meter_trtcm_profile& q = p.rte_.trtcm;
        const uint64_t nc = periods(now - m.time_tc, q.cir_period, p.reciprocal_[0]);
        const uint64_t np = periods(now - m.time_tp, q.pir_period, p.reciprocal_[1]);
        m.time_tc += nc * q.cir_period;
        m.time_tp += np * q.pir_period;
        uint64_t tc = m.tc + nc * q.cir_bytes_per_period;
        if (tc > q.cbs) {
            tc = q.cbs;
        }
        uint64_t tp = m.tp + np * q.pir_bytes_per_period;
        if (tp > q.pbs) {
            tp = q.pbs;
        }
        if (pre == meter_color::red || tp < len) {
            m.tc = tc;
            m.tp = tp;
            return meter_color::red;
        }
        if (pre == meter_color::yellow || tc < len) {
            m.tc = tc;
            m.tp = tp - len;
            return meter_color::yellow;
        }
        m.tc = tc - len;
        m.tp = tp - len;
        return meter_color::green;
    } else {
        const rte_meter_trtcm_rfc4115_profile& q = p.rte_.rfc4115;
        const uint64_t nc = periods(now - m.time_tc, q.cir_period, p.reciprocal_[0]);
        const uint64_t ne = periods(now - m.time_te, q.eir_period, p.reciprocal_[1]);
        m.time_tc += nc * q.cir_period;
        m.time_te += ne * q.eir_period;
        uint64_t tc = m.tc + nc * q.cir_bytes_per_period;
        if (tc > q.cbs) {
            tc = q.cbs;
        }
        uint64_t te = m.te + ne * q.eir_bytes_per_period;
        if (te > q.ebs) {
            te = q.ebs;
        }
        if (pre == meter_color::green && tc >= len) {
            m.tc = tc - len;
            m.te = te;
            return meter_color::green;
        }
        if (pre != meter_color::red && te >= len) {
            m.tc = tc;
            m.te = te - len;
            return meter_color::yellow;
        }
        m.tc = tc;
        m.te = te;
        return meter_color::red;
    }
}

// The colour of a packet of len units at now, pre-coloured pre: green for a
// colour-blind meter (the RFCs' colour-blind marking is the colour-aware one
// with every packet green). now must not be earlier than the now of the
// state's reset or previous check. A state keeps working under a new
// profile of the same kind (a reload): its tokens are capped to the new
// bursts at its next check. The arithmetic is rte_meter's colour-aware
// checks' (rte_meter.h, DPDK 22.11), the same results to the token, with
// its divisions done by multiplying with the profile's reciprocals.
inline meter_color meter_check(meter_state& s, const meter_profile& p, uint64_t now, uint32_t len,
                               meter_color pre = meter_color::green) noexcept {
    switch (p.kind()) {
        case meter_kind::srtcm:
            return meter_check_as<meter_kind::srtcm>(s.srtcm, p, now, len, pre);
        case meter_kind::trtcm:
            return meter_check_as<meter_kind::trtcm>(s.trtcm, p, now, len, pre);
        case meter_kind::rfc4115:
            break;
    }
    return meter_check_as<meter_kind::rfc4115>(s.rfc4115, p, now, len, pre);
}

// rte_meter's own colour-aware check of s under p (what meter_check
// computes without divisions), for tests and benchmarks.
meter_color rte_meter_check(meter_state& s, const meter_profile& p, uint64_t now, uint32_t len,
                            meter_color pre = meter_color::green) noexcept;

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
