#include "police/shaper.hpp"

#include <algorithm>
#include <bit>

namespace dpdk_app {

namespace {

__extension__ typedef unsigned __int128 wide;

constexpr uint32_t max_shaper_packets = 1u << 20;

}  // namespace

std::unique_ptr<shaper> shaper::create(const shaper_params& params, uint64_t tsc_hz,
                                       std::string& error) {
    if (tsc_hz == 0 || params.rate == 0 || params.capacity == 0 || params.max_packets == 0) {
        error = "a shaper needs a rate, a queue capacity and a TSC frequency above zero";
        return nullptr;
    }
    if (params.max_packets > max_shaper_packets || params.rate > max_traffic_amount) {
        error = "a shaper holds at most 2^20 packets, at a rate of at most 2^40 per second";
        return nullptr;
    }
    const wide cycles = (static_cast<wide>(tsc_hz) << 32) / params.rate;
    if (cycles == 0 || cycles > UINT64_MAX) {
        error = "the shaper's rate is out of reach of the TSC";
        return nullptr;
    }
    std::unique_ptr<shaper> s(new shaper());
    s->params_ = params;
    s->cycles_per_unit_ = static_cast<uint64_t>(cycles);
    const uint32_t size = std::bit_ceil(params.max_packets);
    s->mask_ = size - 1;
    s->slots_ = std::make_unique<slot[]>(size);
    return s;
}

shaper::admission shaper::enqueue(uint64_t now, uint32_t len) noexcept {
    const bool packets = params_.capacity_unit == traffic_unit::packets;
    if (count_ == params_.max_packets ||
        (packets ? count_ >= params_.capacity : bytes_ + len > params_.capacity)) {
        return {};
    }
    if (busy_until_ < now) {  // the link has been idle: this packet leaves at once
        busy_until_ = now;
        busy_fraction_ = 0;
    }
    const uint64_t departure = busy_until_;
    const uint64_t units = params_.rate_unit == traffic_unit::packets ? 1 : len;
    const wide busy = static_cast<wide>(units) * cycles_per_unit_ + busy_fraction_;
    busy_until_ += static_cast<uint64_t>(busy >> 32);
    busy_fraction_ = static_cast<uint64_t>(busy) & 0xffffffffu;
    slots_[(head_ + count_) & mask_] = {departure, len};
    ++count_;
    bytes_ += len;
    return {true, departure - now};
}

uint32_t shaper::drain(uint64_t now, uint32_t max) noexcept {
    uint32_t n = 0;
    while (n < max && count_ > 0 && slots_[head_].departure <= now) {
        bytes_ -= slots_[head_].len;
        head_ = (head_ + 1) & mask_;
        --count_;
        ++n;
    }
    return n;
}

uint64_t shaper::next_departure() const noexcept {
    return count_ == 0 ? UINT64_MAX : slots_[head_].departure;
}

shaper_params shaper_params_of(const policer_config& policer) noexcept {
    shaper_params s;
    s.rate = policer.rate;
    s.rate_unit = policer.unit;
    s.capacity = policer.queue;
    s.capacity_unit = policer.queue_unit;
    const uint64_t packets =
        policer.queue_unit == traffic_unit::packets ? policer.queue : policer.queue / 60 + 1;
    s.max_packets = static_cast<uint32_t>(std::min<uint64_t>(packets, max_shaper_packets));
    return s;
}

}  // namespace dpdk_app
