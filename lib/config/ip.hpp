// IPv4 / IPv6 addresses and prefixes for configuration and route tables.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpdk_app {

struct ip_address {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 in bytes[0..3]

    uint32_t v4_host() const noexcept {
        return static_cast<uint32_t>(bytes[0]) << 24 | static_cast<uint32_t>(bytes[1]) << 16 |
               static_cast<uint32_t>(bytes[2]) << 8 | bytes[3];
    }
    bool operator==(const ip_address&) const = default;
};

struct ip_prefix {
    ip_address address;  // host bits cleared
    uint8_t length = 0;
    bool operator==(const ip_prefix&) const = default;
    bool contains(const ip_address& a) const noexcept;
};

std::optional<ip_address> parse_ip_address(std::string_view text);
// "a.b.c.d/len" or "x::y/len"; host bits must be zero unless allow_host_bits
// (interface addresses such as 192.0.2.1/24 carry them). error says why.
std::optional<ip_prefix> parse_ip_prefix(std::string_view text, bool allow_host_bits,
                                         std::string& error);
ip_prefix masked(const ip_address& a, uint8_t length);
std::string to_string(const ip_address& a);
std::string to_string(const ip_prefix& p);

}  // namespace dpdk_app
