// Frame bytes for the packet targets and their seed writer: lengths and
// checksums fixed up, so that mutated frames still reach the stages behind
// the parser's checks, and checksums verified from first principles (RFC
// 1071 sums over the bytes; nothing of lib/packet but the offsets the
// parser found), so that a frame the responder builds is checked by code
// other than the code that built it. Plain bytes: no DPDK.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dpdk_app::fuzz {

// The one's complement sum of bytes (16-bit big-endian words, an odd last
// byte padded with zero) added to sum, folded to 16 bits; not inverted.
uint16_t ones_sum(std::span<const uint8_t> bytes, uint32_t sum = 0);

// Where a frame's IP header starts and which it is: Ethernet with up to two
// VLAN tags (0x8100, 0x88a8), then IPv4 (0x0800) or IPv6 (0x86dd).
struct l3_view {
    std::size_t l2_len = 0;
    unsigned version = 0;  // 4, 6, or 0: neither (or too short)
};
l3_view find_l3(std::span<const uint8_t> frame);

// Rewrites what a sender computes: with lengths, the IPv4 total length /
// IPv6 payload length from the frame's size; the IPv4 header checksum;
// the ICMP, ICMPv6, TCP or UDP checksum of an unfragmented packet whose L4
// header follows the IP header (IPv6: no extension headers). Leaves what
// it cannot make sense of as it is.
void fix_frame(std::vector<uint8_t>& frame, bool lengths);

// The checksums of a parsed frame, recomputed: the IPv4 header's, and the
// ICMP / ICMPv6 / TCP / UDP checksum over the L4 bytes (UDP over IPv4 may
// carry none). l2_len, l3_len, l3_total, l4_proto: the parser's;
// ip_header = false: the IPv4 header's is not checked. Returns what is
// wrong, or nothing.
std::optional<std::string> checksum_error(std::span<const uint8_t> frame, unsigned version,
                                          std::size_t l2_len, std::size_t l3_len,
                                          std::size_t l3_total, uint8_t l4_proto, bool fragment,
                                          bool ip_header = true);

}  // namespace dpdk_app::fuzz
