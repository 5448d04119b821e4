// A leaky-bucket shaper: packets queue (a capacity in packets or bytes) and
// leave at a constant rate; what does not fit is dropped (an overflow).
// There is no timer: the caller holds the packets in a FIFO of its own,
// asks enqueue() whether each may join, and drain(now) says how many of
// the oldest may leave by now. Time is a TSC value of the caller's clock.
//
// Departures: a packet leaves when the link is free — at its arrival if
// the queue was empty, else when the packet before it has been sent at the
// rate (len / rate after that one left). The schedule is kept in TSC cycles
// with a 32-bit binary fraction, so inter-departure times are exact on
// average and each within one cycle of len / rate.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace dpdk_app {

struct shaper_params {
    uint64_t rate = 0;                             // units per second, > 0
    traffic_unit rate_unit = traffic_unit::bytes;  // a byte of the length passed, or a packet
    uint64_t capacity = 0;                         // the queue, in capacity_unit, > 0
    traffic_unit capacity_unit = traffic_unit::packets;
    uint32_t max_packets = 0;  // packets held at most (a byte queue's bound too), > 0
};

class shaper {
  public:
    // Validates params and sizes the queue's schedule (off the fast path).
    static std::unique_ptr<shaper> create(const shaper_params& params, uint64_t tsc_hz,
                                          std::string& error);

    struct admission {
        bool accepted = false;  // false: the queue is full, the packet is the caller's to drop
        uint64_t delay = 0;     // accepted: cycles from now until it may leave (queueing delay)
    };

    // A packet of len bytes arriving at now joins the queue, or overflows.
    admission enqueue(uint64_t now, uint32_t len) noexcept;
    // How many of the queued packets, oldest first, leave by now (at most
    // max); they are no longer counted as queued.
    uint32_t drain(uint64_t now, uint32_t max) noexcept;

    uint32_t queued_packets() const noexcept { return count_; }
    uint64_t queued_bytes() const noexcept { return bytes_; }
    // When the oldest queued packet may leave; UINT64_MAX when none is queued.
    uint64_t next_departure() const noexcept;
    const shaper_params& params() const noexcept { return params_; }

  private:
    struct slot {
        uint64_t departure;  // TSC
        uint32_t len;        // bytes
    };

    shaper() = default;

    shaper_params params_;
    uint64_t cycles_per_unit_ = 0;  // 32.32 fixed point
    uint64_t busy_until_ = 0;       // TSC when the link is free, integer part
    uint64_t busy_fraction_ = 0;    // and its fraction, / 2^32
    uint64_t bytes_ = 0;
    uint32_t count_ = 0;
    uint32_t head_ = 0;
    uint32_t mask_ = 0;
    std::unique_ptr<slot[]> slots_;
};

// The shaper of a [[policer]] of kind shaper: a byte queue holds at most
// capacity / 60 + 1 packets (60: the smallest Ethernet frame without FCS),
// never more than 2^20.
shaper_params shaper_params_of(const policer_config& policer) noexcept;

}  // namespace dpdk_app
