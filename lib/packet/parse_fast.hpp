// The checks of the untagged-IPv4 fast path, shared by parse_packet (which
// writes packet_meta from them) and router mode's fused parse+route stage
// (which forwards from them, writing the metadata only when a stage after it
// reads it). Header-only so that each caller's inlined copy keeps only what
// it uses.
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_mbuf.h>

#include "packet/byteorder.hpp"
#include "packet/checksum.hpp"
#include "packet/meta.hpp"

namespace dpdk_app::parse_detail {

inline constexpr uint16_t ether_type_ipv4 = 0x0800;
inline constexpr uint32_t eth_hdr_len = 14;
inline constexpr uint32_t ipv4_min_len = 20;
inline constexpr uint32_t tcp_min_len = 20;
inline constexpr uint32_t udp_hdr_len = 8;
inline constexpr uint32_t icmp_min_len = 8;
inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint16_t ipv4_df = 0x4000;
inline constexpr uint16_t ipv4_mf = 0x2000;
inline constexpr uint16_t ipv4_offset_mask = 0x1fff;

inline uint16_t load_be16(const uint8_t* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return swap_be16(v);
}

inline uint32_t load32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint64_t load64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// What ipv4_fast_check read from a packet it accepts.
struct ipv4_fast_fields {
    const uint8_t* ip;   // the IPv4 header, in the first segment
    uint32_t total;      // IPv4 total length
    uint16_t frag;       // flags + fragment offset, host order (DF at most)
    uint8_t proto;
    bool l4_valid;       // TCP / UDP / ICMP header checked and present
    uint32_t ports;      // TCP / UDP: source port | destination port << 16 (host order)
    uint8_t tcp_flags;
    uint8_t icmp_type;
    uint8_t icmp_code;
};

// The common case of parse_packet_generic: an untagged IPv4 packet with a
// 20-byte header, not a fragment, checksum right (the PMD's flags when it
// set them, else in software), whose TCP / UDP / ICMP header (if any) is
// valid and lies in the first segment. True only then, with f filled in;
// false: the general parser must decide (it may still accept the packet).
inline bool ipv4_fast_check(const rte_mbuf* m, ipv4_fast_fields& f) noexcept {
    const uint32_t seg_len = rte_pktmbuf_data_len(m);
    if (seg_len < eth_hdr_len + ipv4_min_len) {
        return false;
    }
    const uint8_t* const eth = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint8_t* const ip = eth + eth_hdr_len;
    // EtherType 0x0800 and version/IHL 0x45, as loaded from memory.
    if ((load32(eth + 12) & 0x00ffffff) != 0x00450008) {
        return false;
    }
    const uint32_t total = load_be16(ip + 2);
    uint16_t frag_be;  // tested as loaded: the mask swapped at compile time
    std::memcpy(&frag_be, ip + 6, sizeof frag_be);
    if (total < ipv4_min_len || total > rte_pktmbuf_pkt_len(m) - eth_hdr_len ||
        (frag_be & swap_be16(ipv4_mf | ipv4_offset_mask)) != 0) {
        return false;
    }
    const uint64_t cksum_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
        return false;
    }
    if (cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN) {
        // Right when the sum folds to 0xFFFF: a nonzero multiple of 0xFFFF
        // (see ones_complement_ok), one multiply instead of the fold. Never
        // 0 here: the header's first byte is 0x45, and an end-around sum of
        // words that are not all zero is not zero.
        const uint64_t sum =
            add_end_around(add_end_around(load64(ip), load64(ip + 8)), load32(ip + 16));
        if (sum % 0xffff != 0) {
            return false;
        }
    }
    const uint8_t proto = ip[9];
    const uint32_t l4_bytes = total - ipv4_min_len;
    const uint8_t* const l4 = ip + ipv4_min_len;
    f.ip = ip;
    f.total = total;
    f.frag = swap_be16(frag_be);
    f.proto = proto;
    f.l4_valid = false;
    f.ports = 0;
    f.tcp_flags = 0;
    f.icmp_type = 0;
    f.icmp_code = 0;
    // The L4 checks below imply l4_bytes >= the header's minimum (a header
    // no shorter than the minimum and no longer than l4_bytes); l4_bytes
    // wraps to a huge value only when total < 20, rejected above.
    if (proto == proto_tcp) {
        if (seg_len < eth_hdr_len + ipv4_min_len + tcp_min_len) {
            return false;
        }
        const uint32_t data_offset = l4[12] >> 4;
        if (data_offset < 5 || data_offset * 4 > l4_bytes) {
            return false;
        }
        f.ports = load_be16(l4) | uint32_t{load_be16(l4 + 2)} << 16;
        f.tcp_flags = l4[13];
        f.l4_valid = true;
    } else if (proto == proto_udp) {
        if (seg_len < eth_hdr_len + ipv4_min_len + udp_hdr_len) {
            return false;
        }
        const uint32_t len = load_be16(l4 + 4);
        if (len < udp_hdr_len || len > l4_bytes) {
            return false;
        }
        f.ports = load_be16(l4) | uint32_t{load_be16(l4 + 2)} << 16;
        f.l4_valid = true;
    } else if (proto == proto_icmp) {
        if (l4_bytes < icmp_min_len || seg_len < eth_hdr_len + ipv4_min_len + icmp_min_len) {
            return false;
        }
        f.icmp_type = l4[0];
        f.icmp_code = l4[1];
        f.l4_valid = true;
    }
    return true;
}

static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "the metadata words below are little endian");
static_assert(offsetof(packet_meta, in_port) == 0 && offsetof(packet_meta, l3_total) == 6 &&
                  offsetof(packet_meta, flags) == 8 && offsetof(packet_meta, vlan_inner) == 14 &&
                  offsetof(packet_meta, vlan_count) == 16 && offsetof(packet_meta, punt) == 23 &&
                  offsetof(packet_meta, src_port) == 24 && offsetof(packet_meta, punt_arg) == 28 &&
                  offsetof(packet_meta, src_addr) == 32 && offsetof(packet_meta, dst_addr) == 48,
              "the fast path writes packet_meta as eight 8-byte words");

// Writes meta for a packet ipv4_fast_check accepted (f: what it read).
inline void write_ipv4_fast_meta(const rte_mbuf* m, const ipv4_fast_fields& f,
                                 packet_meta& meta) noexcept {
    const uint8_t* const ip = f.ip;
    const uint64_t flags = ((f.frag & ipv4_df) != 0 ? meta_ipv4_df : 0) |
                           (f.l4_valid ? meta_l4_valid : 0);
    // word 2: tcp_flags, icmp_type, icmp_code at bits 32, 40, 48
    const uint64_t l4_bytes_word = uint64_t{f.tcp_flags} << 32 | uint64_t{f.icmp_type} << 40 |
                                   uint64_t{f.icmp_code} << 48;
    const uint64_t ports = f.ports;  // word 3: src_port, dst_port (host order), punt_arg 0
    const uint32_t total = f.total;
    const uint8_t proto = f.proto;
    // Eight 8-byte stores straight from registers (an array built on the
    // stack and copied would be read back wider than it was written).
    auto* const w = reinterpret_cast<uint8_t*>(&meta);
    auto store = [w](unsigned word, uint64_t v) { std::memcpy(w + 8 * word, &v, 8); };
    store(0, uint64_t{m->port} | uint64_t{eth_hdr_len} << 16 | uint64_t{ipv4_min_len} << 32 |
                 uint64_t{total} << 48);
    store(1, flags | uint64_t{ether_type_ipv4} << 16);
    store(2, uint64_t{static_cast<uint8_t>(l3_kind::ipv4)} << 8 | uint64_t{proto} << 16 |
                 uint64_t{ip[8]} << 24 | l4_bytes_word);
    store(3, ports);
    store(4, load32(ip + 12));
    store(5, 0);
    store(6, load32(ip + 16));
    store(7, 0);
}

}  // namespace dpdk_app::parse_detail
