// Token buckets for generated ICMP errors, on TSC time: a global bucket and
// per-source buckets (sources hashed into a fixed array, so two sources may
// share one; a flood from many sources is still held by the global bucket).
// One limiter per lane, used by one lcore: no atomics, no locks.
#pragma once

#include <array>
#include <algorithm>
#include <cstdint>

namespace dpdk_app {

class token_bucket {
  public:
    token_bucket() = default;
    // rate tokens per second, up to burst saved; rate 0 = never a token.
    token_bucket(uint32_t rate, uint32_t burst, uint64_t hz) noexcept
        : rate_(rate),
          burst_(burst),
          hz_(hz),
          tokens_scaled_(rate == 0 ? 0 : uint64_t{burst} * hz) {}

    // Adds what accrued since the last call (the bucket starts full).
    void refill(uint64_t now) noexcept {
        if (!started_) {
            started_ = true;
            last_ = now;
            return;
        }
        if (now <= last_) {
            return;
        }
        // Tokens are kept scaled by hz: one token = hz units, one cycle adds
        // rate units. Saturate at burst.
        const uint64_t cap = uint64_t{burst_} * hz_;
        const uint64_t elapsed = now - last_;
        last_ = now;
        if (rate_ == 0) {
            return;
        }
        if (elapsed >= cap / rate_ + 1) {
            tokens_scaled_ = cap;
        } else {
            tokens_scaled_ = std::min(cap, tokens_scaled_ + elapsed * rate_);
        }
    }
    bool has_token() const noexcept { return tokens_scaled_ >= hz_; }
    void take() noexcept { tokens_scaled_ -= hz_; }

  private:
    uint32_t rate_ = 0;
    uint32_t burst_ = 0;
    uint64_t hz_ = 1;
    uint64_t tokens_scaled_ = 0;
    uint64_t last_ = 0;
    bool started_ = false;
};

struct error_limits {
    uint32_t rate = 1000;  // errors per second, every source together
    uint32_t burst = 100;
    uint32_t rate_per_source = 100;
    uint32_t burst_per_source = 20;
};

class error_limiter {
  public:
    static constexpr std::size_t source_buckets = 256;

    error_limiter() = default;
    error_limiter(const error_limits& l, uint64_t hz) noexcept : global_(l.rate, l.burst, hz) {
        for (auto& b : per_source_) {
            b = token_bucket(l.rate_per_source, l.burst_per_source, hz);
        }
    }

    // True when an error to a source with this hash may be sent now; takes
    // a token from both buckets only then.
    bool allow(uint32_t source_hash, uint64_t now) noexcept {
        token_bucket& s = per_source_[source_hash % source_buckets];
        global_.refill(now);
        s.refill(now);
        if (!global_.has_token() || !s.has_token()) {
            return false;
        }
        global_.take();
        s.take();
        return true;
    }

  private:
    token_bucket global_;
    std::array<token_bucket, source_buckets> per_source_;
};

}  // namespace dpdk_app
