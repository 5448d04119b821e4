#include "police/meter.hpp"

#include <algorithm>
#include <numeric>

namespace dpdk_app {

namespace {

__extension__ typedef unsigned __int128 wide;

// The refill of a bucket of `bucket` units at rate: lumps of at most 1/64
// of the bucket, but never fewer than the 100 cycles' worth rte_meter uses
// (its precision is then the floor of ours), nor more than 2^20.
bucket_refill refill_of(uint64_t rate, uint64_t bucket, uint64_t tsc_hz) noexcept {
    const uint64_t floor = (rate * 100 + tsc_hz - 1) / tsc_hz;
    return refill_for(rate, tsc_hz,
                      std::clamp<uint64_t>(std::max(bucket / 64, floor), 1, uint64_t{1} << 20));
}

// |period / tokens - hz / rate| * tokens * rate, to compare approximations.
wide distance(const bucket_refill& r, uint64_t rate, uint64_t hz) noexcept {
    const wide a = static_cast<wide>(r.period) * rate;
    const wide b = static_cast<wide>(hz) * r.tokens;
    return a > b ? a - b : b - a;
}

}  // namespace

bucket_refill refill_for(uint64_t rate, uint64_t tsc_hz, uint64_t max_tokens) noexcept {
    if (rate == 0) {
        return {tsc_hz, 0};
    }
    max_tokens = std::max<uint64_t>(max_tokens, 1);
    const uint64_t g = std::gcd(rate, tsc_hz);
    if (rate / g <= max_tokens) {
        return {tsc_hz / g, rate / g};
    }
    // Continued fraction of tsc_hz / rate: convergents p1 / q1 while q1 <=
    // max_tokens, then the best of the last one and the semiconvergent.
    uint64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    uint64_t n = tsc_hz, d = rate;
    while (d != 0) {
        const uint64_t a = n / d;
        const uint64_t q2 = q0 + a * q1;
        if (q2 > max_tokens) {
            break;
        }
        const uint64_t p2 = p0 + a * p1;
        p0 = p1;
        q0 = q1;
        p1 = p2;
        q1 = q2;
        const uint64_t r = n - a * d;
        n = d;
        d = r;
    }
    const uint64_t k = (max_tokens - q0) / q1;
    const bucket_refill semi{p0 + k * p1, q0 + k * q1};
    const bucket_refill last{p1, q1};
    // Closer: distance / tokens smaller.
    const bool semi_closer = semi.period != 0 && distance(semi, rate, tsc_hz) * last.tokens <
                                                     distance(last, rate, tsc_hz) * semi.tokens;
    bucket_refill best = semi_closer ? semi : last;
    if (best.period == 0) {
        best = {1, (rate + tsc_hz - 1) / tsc_hz};
    }
    return best;
}

std::optional<meter_profile> meter_profile::build(const meter_params& params, uint64_t tsc_hz,
                                                  std::string& error) {
    const bool trtcm = params.kind == meter_kind::trtcm;
    const bool rfc4115 = params.kind == meter_kind::rfc4115;
    std::string why;
    if (tsc_hz == 0) {
        why = "no TSC frequency";
    } else if (params.cir == 0 || params.cbs == 0) {
        why = "cir and cbs must be more than zero";
    } else if (trtcm && (params.pir < params.cir || params.pbs == 0)) {
        why = "a trTCM needs pir >= cir and pbs > 0";
    } else if (rfc4115 && params.eir != 0 && params.ebs == 0) {
        why = "an RFC 4115 meter with an eir needs ebs > 0";
    } else if (std::max({params.cir, params.pir, params.eir, params.cbs, params.ebs, params.pbs}) >
               max_traffic_amount) {
        why = "a rate or burst is more than 2^40";
    }
    if (!why.empty()) {
        error = std::move(why);
        return std::nullopt;
    }
    meter_profile p;
    p.params_ = params;
    const meter_params& m = params;
    switch (params.kind) {
        case meter_kind::srtcm: {
            const bucket_refill c =
                refill_of(m.cir, m.ebs == 0 ? m.cbs : std::min(m.cbs, m.ebs), tsc_hz);
            p.rte_.srtcm = {m.cbs, m.ebs, c.period, c.tokens};
            break;
        }
        case meter_kind::trtcm: {
            const bucket_refill c = refill_of(m.cir, m.cbs, tsc_hz);
            const bucket_refill pk = refill_of(m.pir, m.pbs, tsc_hz);
            p.rte_.trtcm = {m.cbs, m.pbs, c.period, c.tokens, pk.period, pk.tokens};
            break;
        }
        case meter_kind::rfc4115: {
            const bucket_refill c = refill_of(m.cir, m.cbs, tsc_hz);
            const bucket_refill e = refill_of(m.eir, m.ebs, tsc_hz);
            p.rte_.rfc4115 = {m.cbs, m.ebs, c.period, c.tokens, e.period, e.tokens};
            break;
        }
    }
    p.reciprocal_ = {
        meter_detail::reciprocal(p.committed_refill().period),
        meter_detail::reciprocal(params.kind == meter_kind::srtcm ? 1 : p.second_refill().period)};
    return p;
}

meter_color rte_meter_check(meter_state& s, const meter_profile& p, uint64_t now, uint32_t len,
                            meter_color pre) noexcept {
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

bucket_refill meter_profile::committed_refill() const noexcept {
    switch (params_.kind) {
        case meter_kind::srtcm:
            return {rte_.srtcm.cir_period, rte_.srtcm.cir_bytes_per_period};
        case meter_kind::trtcm:
            return {rte_.trtcm.cir_period, rte_.trtcm.cir_bytes_per_period};
        case meter_kind::rfc4115:
            break;
    }
    return {rte_.rfc4115.cir_period, rte_.rfc4115.cir_bytes_per_period};
}

bucket_refill meter_profile::second_refill() const noexcept {
    switch (params_.kind) {
        case meter_kind::srtcm:
            return committed_refill();
        case meter_kind::trtcm:
            return {rte_.trtcm.pir_period, rte_.trtcm.pir_bytes_per_period};
        case meter_kind::rfc4115:
            break;
    }
    return {rte_.rfc4115.eir_period, rte_.rfc4115.eir_bytes_per_period};
}

void meter_reset(meter_state& s, const meter_profile& p, uint64_t now) noexcept {
    const meter_params& m = p.params_;
    switch (m.kind) {
        case meter_kind::srtcm:
            s.srtcm = {now, m.cbs, m.ebs};
            return;
        case meter_kind::trtcm:
            s.trtcm = {now, now, m.cbs, m.pbs};
            return;
        case meter_kind::rfc4115:
            s.rfc4115 = {now, now, m.cbs, m.ebs};
            return;
    }
}

meter_params meter_params_of(const policer_config& policer) noexcept {
    meter_params m;
    m.kind = policer.kind == policer_kind::trtcm     ? meter_kind::trtcm
             : policer.kind == policer_kind::rfc4115 ? meter_kind::rfc4115
                                                     : meter_kind::srtcm;
    m.cir = policer.cir;
    m.cbs = policer.cbs;
    m.ebs = policer.ebs;
    m.pir = policer.pir;
    m.pbs = policer.pbs;
    m.eir = policer.eir;
    return m;
}

}  // namespace dpdk_app
