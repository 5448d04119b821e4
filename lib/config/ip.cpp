#include "config/ip.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace dpdk_app {

std::optional<ip_address> parse_ip_address(std::string_view text) {
    const std::string s(text);
    ip_address a;
    if (s.find(':') != std::string::npos) {
        a.v6 = true;
        if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) {
            return std::nullopt;
        }
        return a;
    }
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

ip_prefix masked(const ip_address& a, uint8_t length) {
    ip_prefix p{a, length};
    const unsigned total = a.v6 ? 128 : 32;
    for (unsigned bit = length; bit < total; ++bit) {
        p.address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    return p;
}

bool ip_prefix::contains(const ip_address& a) const noexcept {
    return a.v6 == address.v6 && masked(a, length).address == address;
}

std::optional<ip_prefix> parse_ip_prefix(std::string_view text, bool allow_host_bits,
                                         std::string& error) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        error = "expected an address/length prefix such as 192.0.2.0/24 or 2001:db8::/32, got '" +
                std::string(text) + "'";
        return std::nullopt;
    }
    auto addr = parse_ip_address(text.substr(0, slash));
    if (!addr) {
        error = "'" + std::string(text.substr(0, slash)) + "' is not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    const std::string_view len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    const unsigned max = addr->v6 ? 128 : 32;
    if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty() ||
        len > max) {
        error = "prefix length must be 0.." + std::to_string(max) + ", got '" +
                std::string(len_text) + "'";
        return std::nullopt;
    }
    ip_prefix p = masked(*addr, static_cast<uint8_t>(len));
    if (allow_host_bits) {
        p.address = *addr;
    } else if (!(p.address == *addr)) {
        error =
            "'" + std::string(text) + "' has host bits set (did you mean " + to_string(p) + "?)";
        return std::nullopt;
    }
    return p;
}

std::string to_string(const ip_address& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
    return buf;
}

std::string to_string(const ip_prefix& p) {
    return to_string(p.address) + "/" + std::to_string(p.length);
}

}  // namespace dpdk_app
