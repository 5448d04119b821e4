#include "frames.hpp"

#include <algorithm>

namespace dpdk_app::fuzz {

namespace {

constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_icmpv6 = 58;

uint16_t get16(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

void put16(std::span<uint8_t> b, std::size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

// Offset of the checksum field in an L4 header, or 0: not one we know.
std::size_t checksum_offset(uint8_t proto) {
    switch (proto) {
        case proto_icmp:
        case proto_icmpv6:
            return 2;
        case proto_tcp:
            return 16;
        case proto_udp:
            return 6;
        default:
            return 0;
    }
}

// The pseudo-header sum (RFC 768, 793, 8200 8.1) of an L4 segment of len
// bytes between the addresses at src (4 or 16 bytes each, dst right after).
uint32_t pseudo_sum(std::span<const uint8_t> frame, std::size_t src, std::size_t addr_len,
                    uint8_t proto, std::size_t len) {
    uint32_t sum = ones_sum(frame.subspan(src, 2 * addr_len));
    sum += proto;
    sum += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
    return sum;
}

// The L4 checksum of the segment at l4 of len bytes, as it should be
// written (0 stays 0 for UDP: "no checksum" is written 0xffff).
uint16_t l4_checksum(std::span<const uint8_t> frame, std::size_t l4, std::size_t len, uint8_t proto,
                     uint32_t pseudo) {
    const uint32_t start = proto == proto_icmp ? 0 : pseudo;
    const uint16_t sum = static_cast<uint16_t>(~ones_sum(frame.subspan(l4, len), start));
    return proto == proto_udp && sum == 0 ? 0xffff : sum;
}

}  // namespace

uint16_t ones_sum(std::span<const uint8_t> bytes, uint32_t sum) {
    uint64_t s = sum;
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        s += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    }
    if (i < bytes.size()) {
        s += static_cast<uint32_t>(bytes[i] << 8);
    }
    while ((s >> 16) != 0) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<uint16_t>(s);
}

l3_view find_l3(std::span<const uint8_t> frame) {
    l3_view v;
    std::size_t at = 12;
    for (unsigned tags = 0; tags <= 2; ++tags) {
        if (frame.size() < at + 2) {
            return v;
        }
        const uint16_t type = get16(frame, at);
        if ((type == 0x8100 || type == 0x88a8) && tags < 2) {
            at += 4;
            continue;
        }
        if (type == 0x0800 || type == 0x86dd) {
            v.l2_len = at + 2;
            v.version = type == 0x0800 ? 4 : 6;
        }
        return v;
    }
    return v;
}

void fix_frame(std::vector<uint8_t>& frame, bool lengths) {
    const l3_view v = find_l3(frame);
    const std::span<uint8_t> f(frame);
    const std::size_t l3 = v.l2_len;
    if (v.version == 4) {
        if (frame.size() < l3 + 20) {
            return;
        }
        const std::size_t ihl = (f[l3] & 0x0fu) * 4u;
        if (lengths) {
            put16(f, l3 + 2,
                  static_cast<uint16_t>(std::min<std::size_t>(frame.size() - l3, 65535)));
        }
        if (ihl < 20 || frame.size() < l3 + ihl) {
            return;
        }
        put16(f, l3 + 10, 0);
        put16(f, l3 + 10, static_cast<uint16_t>(~ones_sum(f.subspan(l3, ihl))));
        const std::size_t total = get16(f, l3 + 2);
        const bool fragment = (get16(f, l3 + 6) & 0x3fff) != 0;
        const uint8_t proto = f[l3 + 9];
        const std::size_t at = checksum_offset(proto);
        if (fragment || at == 0 || proto == proto_icmpv6 || total < ihl ||
            frame.size() < l3 + total) {
            return;
        }
        const std::size_t len = total - ihl;
        const std::size_t l4 = l3 + ihl;
        if (len < at + 2) {
            return;
        }
        put16(f, l4 + at, 0);
        put16(f, l4 + at, l4_checksum(f, l4, len, proto, pseudo_sum(f, l3 + 12, 4, proto, len)));
    } else if (v.version == 6) {
        if (frame.size() < l3 + 40) {
            return;
        }
        if (lengths) {
            put16(f, l3 + 4,
                  static_cast<uint16_t>(std::min<std::size_t>(frame.size() - l3 - 40, 65535)));
        }
        const std::size_t len = get16(f, l3 + 4);
        const uint8_t proto = f[l3 + 6];
        const std::size_t at = checksum_offset(proto);
        const std::size_t l4 = l3 + 40;
        if (at == 0 || proto == proto_icmp || frame.size() < l4 + len || len < at + 2) {
            return;
        }
        put16(f, l4 + at, 0);
        put16(f, l4 + at, l4_checksum(f, l4, len, proto, pseudo_sum(f, l3 + 8, 16, proto, len)));
    }
}

std::optional<std::string> checksum_error(std::span<const uint8_t> frame, unsigned version,
                                          std::size_t l2_len, std::size_t l3_len,
                                          std::size_t l3_total, uint8_t l4_proto, bool fragment,
                                          bool ip_header) {
    if (frame.size() < l2_len + l3_total || l3_total < l3_len) {
        return "the IP packet runs past the frame";
    }
    if (version == 4 && ip_header && ones_sum(frame.subspan(l2_len, l3_len)) != 0xffff) {
        return "IPv4 header checksum";
    }
    const std::size_t at = checksum_offset(l4_proto);
    if (fragment || at == 0) {
        return std::nullopt;
    }
    const std::size_t l4 = l2_len + l3_len;
    const std::size_t len = l3_total - l3_len;
    if (len < at + 2) {
        return "L4 header shorter than its checksum field";
    }
    if (version == 4 && l4_proto == proto_udp && get16(frame, l4 + at) == 0) {
        return std::nullopt;  // an IPv4 UDP datagram without a checksum
    }
    const uint32_t pseudo = version == 4 ? pseudo_sum(frame, l2_len + 12, 4, l4_proto, len)
                                         : pseudo_sum(frame, l2_len + 8, 16, l4_proto, len);
    const uint32_t start = version == 4 && l4_proto == proto_icmp ? 0 : pseudo;
    if (ones_sum(frame.subspan(l4, len), start) != 0xffff) {
        return "L4 checksum (protocol " + std::to_string(l4_proto) + ")";
    }
    return std::nullopt;
}

}  // namespace dpdk_app::fuzz
