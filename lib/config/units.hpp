// Units of the policers' rates and bursts, written so that they cannot be
// misread: a number with its unit, "10Mbit", "1.5Gbit", "64kbyte", "100kpps",
// "1500byte", "10packets", "50ms". A number without a unit, an unknown unit,
// zero, a negative value or one too large is an error whose message lists the
// accepted forms (docs/configuration.md, "Policers").
//
// Exact integer arithmetic: the number is read as a decimal fraction and
// scaled by its unit without floating point. A bit rate becomes bytes per
// second rounded to the nearest byte ("12345bit" = 1543 bytes/s); every
// other quantity must come out a whole number of its base unit (byte,
// packet, nanosecond): "1.5kbyte" is 1500 bytes, "1.5byte" is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpdk_app {

// What a rate or a burst counts.
enum class traffic_unit : uint8_t { bytes, packets };

// The largest rate (per second) or burst in bytes or packets: 2^40
// (8.8 Tbit/s as a rate, 1 TiB as a burst).
inline constexpr uint64_t max_traffic_amount = uint64_t{1} << 40;

// A rate: decimal units bit kbit Mbit Gbit (bits per second), byte kbyte
// Mbyte Gbyte (bytes per second), pps kpps Mpps (packets per second).
struct traffic_rate {
    uint64_t per_second = 0;  // bytes or packets per second, 1..max_traffic_amount
    traffic_unit unit = traffic_unit::bytes;
    bool operator==(const traffic_rate&) const = default;
};

// A burst (a bucket or queue size): bytes (byte kbyte Mbyte Gbyte),
// packets (packet, packets) or the time it takes at a rate (us ms s).
enum class burst_kind : uint8_t { bytes, packets, time };

struct traffic_burst {
    uint64_t amount = 0;  // bytes, packets, or nanoseconds (time)
    burst_kind kind = burst_kind::bytes;
    bool operator==(const traffic_burst&) const = default;
};

// The accepted forms, as the error messages list them.
inline constexpr std::string_view rate_forms =
    "a number with a unit: bit, kbit, Mbit, Gbit (bits/s), byte, kbyte, Mbyte, Gbyte "
    "(bytes/s) or pps, kpps, Mpps (packets/s), e.g. \"100Mbit\", \"1.5Gbit\", \"10kpps\"";
inline constexpr std::string_view burst_forms =
    "a number with a unit: byte, kbyte, Mbyte, Gbyte, packet(s), or a time at the rate: "
    "us, ms, s, e.g. \"1500byte\", \"64kbyte\", \"10packets\", \"50ms\"";

// "100Mbit" -> 12500000 bytes/s. nullopt with error (which names the
// accepted forms) for anything else.
std::optional<traffic_rate> parse_rate(std::string_view text, std::string& error);
// "64kbyte" -> 64000 bytes, "10packets" -> 10 packets, "50ms" -> 50000000 ns.
std::optional<traffic_burst> parse_burst(std::string_view text, std::string& error);

// The burst in the unit of rate: bytes or packets as written (an error when
// that is not the rate's unit), a time as what rate sends in it, rounded
// down (an error when that is less than one unit or more than
// max_traffic_amount).
std::optional<uint64_t> burst_at_rate(const traffic_burst& burst, const traffic_rate& rate,
                                      std::string& error);

}  // namespace dpdk_app
