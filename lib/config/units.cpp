#include "config/units.hpp"

#include <algorithm>
#include <array>

namespace dpdk_app {

namespace {

__extension__ typedef unsigned __int128 wide;

constexpr uint64_t kilo = 1000;
constexpr uint64_t mega = kilo * kilo;
constexpr uint64_t giga = kilo * mega;

// A unit: what it counts (a rate: 0 bits, else a traffic_unit + 1; a
// burst: its burst_kind), its size in base units, and the most base units
// a quantity may have.
struct unit_name {
    std::string_view name;
    uint8_t kind;
    uint64_t scale;
    std::string_view base;  // the base unit, plural
    uint64_t limit;
};

constexpr uint8_t bits = 0;
constexpr uint8_t rate_bytes = 1 + static_cast<uint8_t>(traffic_unit::bytes);
constexpr uint8_t rate_packets = 1 + static_cast<uint8_t>(traffic_unit::packets);
constexpr uint64_t bit_limit = 8 * max_traffic_amount + 3;  // rounds to max_traffic_amount bytes

constexpr std::array<unit_name, 11> rate_units = {{
    {"bit", bits, 1, "bits per second", bit_limit},
    {"kbit", bits, kilo, "bits per second", bit_limit},
    {"Mbit", bits, mega, "bits per second", bit_limit},
    {"Gbit", bits, giga, "bits per second", bit_limit},
    {"byte", rate_bytes, 1, "bytes per second", max_traffic_amount},
    {"kbyte", rate_bytes, kilo, "bytes per second", max_traffic_amount},
    {"Mbyte", rate_bytes, mega, "bytes per second", max_traffic_amount},
    {"Gbyte", rate_bytes, giga, "bytes per second", max_traffic_amount},
    {"pps", rate_packets, 1, "packets per second", max_traffic_amount},
    {"kpps", rate_packets, kilo, "packets per second", max_traffic_amount},
    {"Mpps", rate_packets, mega, "packets per second", max_traffic_amount},
}};

constexpr auto burst_bytes = static_cast<uint8_t>(burst_kind::bytes);
constexpr auto burst_packets = static_cast<uint8_t>(burst_kind::packets);
constexpr auto burst_time = static_cast<uint8_t>(burst_kind::time);

constexpr std::array<unit_name, 9> burst_units = {{
    {"byte", burst_bytes, 1, "bytes", max_traffic_amount},
    {"kbyte", burst_bytes, kilo, "bytes", max_traffic_amount},
    {"Mbyte", burst_bytes, mega, "bytes", max_traffic_amount},
    {"Gbyte", burst_bytes, giga, "bytes", max_traffic_amount},
    {"packet", burst_packets, 1, "packets", max_traffic_amount},
    {"packets", burst_packets, 1, "packets", max_traffic_amount},
    {"us", burst_time, kilo, "nanoseconds", 3600 * giga},
    {"ms", burst_time, mega, "nanoseconds", 3600 * giga},
    {"s", burst_time, giga, "nanoseconds", 3600 * giga},
}};

// A decimal number as digits / 10^decimals, and the unit after it.
struct quantity {
    uint64_t digits = 0;
    uint64_t divisor = 1;  // 10^decimals
    std::string_view unit;
};

std::string_view trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// "1.5Gbit" -> {15, 10, "Gbit"}; why when it is not a number with a unit.
std::optional<quantity> split_quantity(std::string_view text, std::string& why) {
    text = trimmed(text);
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        why = text[0] == '-' ? "must be positive" : "write it without a sign";
        return std::nullopt;
    }
    quantity q;
    std::size_t i = 0;
    bool any_digit = false;
    bool point = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.' && !point) {
            point = true;
            continue;
        }
        if (c < '0' || c > '9') {
            break;
        }
        any_digit = true;
        if (q.digits > (UINT64_MAX - 9) / 10 || (point && q.divisor > UINT64_MAX / 10)) {
            why = "too many digits";
            return std::nullopt;
        }
        q.digits = q.digits * 10 + static_cast<uint64_t>(c - '0');
        if (point) {
            q.divisor *= 10;
        }
    }
    if (!any_digit) {
        why = "does not start with a number";
        return std::nullopt;
    }
    q.unit = trimmed(text.substr(i));
    if (q.unit.empty()) {
        why = "has no unit";
        return std::nullopt;
    }
    return q;
}

// digits * scale / divisor, when that is a whole number (of base) above 0.
std::optional<uint64_t> scaled(const quantity& q, const unit_name& u, std::string& why) {
    const wide v = static_cast<wide>(q.digits) * u.scale;
    if (v % q.divisor != 0) {
        why = "is not a whole number of " + std::string(u.base);
        return std::nullopt;
    }
    if (v == 0) {
        why = "must be more than zero";
        return std::nullopt;
    }
    if (v / q.divisor > u.limit) {
        why = u.base == "nanoseconds" ? "is too long (at most 3600s)"
                                      : "is too large (at most 2^40 bytes or packets)";
        return std::nullopt;
    }
    return static_cast<uint64_t>(v / q.divisor);
}

void fail(std::string& error, std::string_view text, std::string_view why, std::string_view forms) {
    error =
        "\"" + std::string(text) + "\" " + std::string(why) + ": expected " + std::string(forms);
}

// text in base units of one of units, and which; error (with forms) when not.
template <std::size_t N>
std::optional<std::pair<uint64_t, const unit_name*>> parse_quantity(
    std::string_view text, const std::array<unit_name, N>& units, std::string_view forms,
    std::string& error) {
    std::string why;
    const auto q = split_quantity(text, why);
    const unit_name* unit = nullptr;
    if (q) {
        const auto it = std::find_if(units.begin(), units.end(),
                                     [&](const unit_name& u) { return u.name == q->unit; });
        unit = it == units.end() ? nullptr : &*it;
        if (unit == nullptr) {
            why = "has an unknown unit '" + std::string(q->unit) + "'";
        }
    }
    const auto v = unit != nullptr ? scaled(*q, *unit, why) : std::nullopt;
    if (!v) {
        fail(error, text, why, forms);
        return std::nullopt;
    }
    return std::pair{*v, unit};
}

}  // namespace

std::optional<traffic_rate> parse_rate(std::string_view text, std::string& error) {
    const auto q = parse_quantity(text, rate_units, rate_forms, error);
    if (!q) {
        return std::nullopt;
    }
    if (q->second->kind != bits) {
        return traffic_rate{q->first, static_cast<traffic_unit>(q->second->kind - 1)};
    }
    if (q->first < 4) {
        fail(error, text, "is less than one byte per second", rate_forms);
        return std::nullopt;
    }
    return traffic_rate{(q->first + 4) / 8, traffic_unit::bytes};
}

std::optional<traffic_burst> parse_burst(std::string_view text, std::string& error) {
    const auto q = parse_quantity(text, burst_units, burst_forms, error);
    if (!q) {
        return std::nullopt;
    }
    return traffic_burst{q->first, static_cast<burst_kind>(q->second->kind)};
}

std::optional<uint64_t> burst_at_rate(const traffic_burst& burst, const traffic_rate& rate,
                                      std::string& error) {
    const bool packets = rate.unit == traffic_unit::packets;
    switch (burst.kind) {
        case burst_kind::bytes:
        case burst_kind::packets:
            if ((burst.kind == burst_kind::packets) != packets) {
                error = packets ? "a packet rate (pps) needs a burst in packets or time, not bytes"
                                : "a byte or bit rate needs a burst in bytes or time, not packets";
                return std::nullopt;
            }
            return burst.amount;
        case burst_kind::time:
            break;
    }
    const wide v = static_cast<wide>(burst.amount) * rate.per_second / giga;
    if (v == 0 || v > max_traffic_amount) {
        error = std::string(v == 0 ? "is less than one " : "is more than 2^40 ") +
                (packets ? "packet" : "byte") + " at the rate: write a longer time or a size";
        return std::nullopt;
    }
    return static_cast<uint64_t>(v);
}

}  // namespace dpdk_app
