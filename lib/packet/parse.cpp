#include "packet/parse.hpp"

#include <cstddef>
#include <cstring>

#include <rte_byteorder.h>

#include "packet/checksum.hpp"
#include "packet/parse_fast.hpp"

namespace dpdk_app {

namespace {

using namespace parse_detail;

constexpr uint16_t ether_type_arp = 0x0806;
constexpr uint16_t ether_type_vlan = 0x8100;  // 802.1Q
constexpr uint16_t ether_type_qinq = 0x88a8;  // 802.1ad
constexpr uint16_t ether_type_ipv6 = 0x86dd;

constexpr uint32_t vlan_tag_len = 4;
constexpr uint32_t arp_len = 28;  // Ethernet / IPv4 ARP
constexpr uint32_t ipv4_max_len = 60;
constexpr uint32_t ipv6_hdr_len = 40;

constexpr uint8_t proto_hop_by_hop = 0;
constexpr uint8_t proto_routing = 43;
constexpr uint8_t proto_fragment = 44;
constexpr uint8_t proto_ah = 51;
constexpr uint8_t proto_icmpv6 = 58;
constexpr uint8_t proto_no_next = 59;
constexpr uint8_t proto_dst_opts = 60;

// len bytes at off: a pointer into the mbuf when they lie in the first
// segment, else a copy in buf. The caller checked off + len <= pkt_len, so
// nullptr means a broken chain (segment lengths short of pkt_len).
inline const uint8_t* bytes_at(const rte_mbuf* m, uint32_t off, uint32_t len,
                               uint8_t* buf) noexcept {
    return static_cast<const uint8_t*>(rte_pktmbuf_read(m, off, len, buf));
}

// L4 header at off, l4_bytes long (IP padding excluded). partial: a first
// fragment, whose L4 bytes are not the whole segment/datagram, so the TCP
// data offset and the UDP length cannot be checked against them.
std::optional<packet_defect> parse_l4(const rte_mbuf* m, uint32_t off, uint32_t l4_bytes,
                                    uint8_t icmp_proto, bool partial, packet_meta& meta) noexcept {
    alignas(8) uint8_t buf[tcp_min_len];
    const uint8_t proto = meta.l4_proto;
    if (proto == proto_tcp) {
        if (l4_bytes < tcp_min_len) {
            return packet_defect::tcp_truncated;
        }
        const uint8_t* tcp = bytes_at(m, off, tcp_min_len, buf);
        if (tcp == nullptr) {
            return packet_defect::tcp_truncated;
        }
        const uint32_t data_offset = tcp[12] >> 4;
        if (data_offset < 5 || (!partial && data_offset * 4 > l4_bytes)) {
            return packet_defect::tcp_bad_data_offset;
        }
        meta.src_port = load_be16(tcp);
        meta.dst_port = load_be16(tcp + 2);
        meta.tcp_flags = tcp[13];
        meta.flags |= meta_l4_valid;
    } else if (proto == proto_udp) {
        if (l4_bytes < udp_hdr_len) {
            return packet_defect::udp_truncated;
        }
        const uint8_t* udp = bytes_at(m, off, udp_hdr_len, buf);
        if (udp == nullptr) {
            return packet_defect::udp_truncated;
        }
        const uint32_t len = load_be16(udp + 4);
        if (len < udp_hdr_len || (!partial && len > l4_bytes)) {
            return packet_defect::udp_bad_length;
        }
        meta.src_port = load_be16(udp);
        meta.dst_port = load_be16(udp + 2);
        meta.flags |= meta_l4_valid;
    } else if (proto == icmp_proto) {
        if (l4_bytes < icmp_min_len) {
            return packet_defect::icmp_truncated;
        }
        const uint8_t* icmp = bytes_at(m, off, icmp_min_len, buf);
        if (icmp == nullptr) {
            return packet_defect::icmp_truncated;
        }
        meta.icmp_type = icmp[0];
        meta.icmp_code = icmp[1];
        meta.flags |= meta_l4_valid;
    }
    return std::nullopt;
}

// RFC 1812 5.2.2 and RFC 791; l3_bytes: the frame's bytes from the IPv4 header on.
std::optional<packet_defect> parse_ipv4(const rte_mbuf* m, uint32_t off, uint32_t l3_bytes,
                                      packet_meta& meta) noexcept {
    alignas(8) uint8_t buf[ipv4_max_len];
    if (l3_bytes < ipv4_min_len) {
        return packet_defect::ipv4_truncated;
    }
    const uint8_t* ip = bytes_at(m, off, ipv4_min_len, buf);
    if (ip == nullptr) {
        return packet_defect::ipv4_truncated;
    }
    if ((ip[0] >> 4) != 4) {
        return packet_defect::ipv4_bad_version;
    }
    const uint32_t ihl = ip[0] & 0x0f;
    if (ihl < 5) {
        return packet_defect::ipv4_bad_ihl;
    }
    const uint32_t hdr_len = ihl * 4;
    if (hdr_len > l3_bytes) {
        return packet_defect::ipv4_ihl_past_frame;
    }
    const uint32_t total = load_be16(ip + 2);
    if (total < hdr_len || total > l3_bytes) {
        return packet_defect::ipv4_bad_total_length;
    }
    if (hdr_len > ipv4_min_len) {
        ip = bytes_at(m, off, hdr_len, buf);
        if (ip == nullptr) {
            return packet_defect::ipv4_ihl_past_frame;
        }
        meta.flags |= meta_ip_options;
    }
    switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
        case RTE_MBUF_F_RX_IP_CKSUM_BAD:
            return packet_defect::ipv4_bad_checksum;
        case RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN:
            if (!ones_complement_ok(ip, hdr_len)) {  // RFC 1071: sums to 0xFFFF
                return packet_defect::ipv4_bad_checksum;
            }
            break;
        default:  // GOOD, or NONE: the PMD verified the header's integrity
            break;
    }
    meta.l3 = l3_kind::ipv4;
    meta.l3_len = static_cast<uint16_t>(hdr_len);
    meta.l3_total = static_cast<uint16_t>(total);
    meta.ttl = ip[8];
    meta.l4_proto = ip[9];
    std::memcpy(meta.src_addr, ip + 12, 4);
    std::memcpy(meta.dst_addr, ip + 16, 4);

    const uint16_t frag = load_be16(ip + 6);
    const uint16_t frag_offset = frag & ipv4_offset_mask;
    const bool more_fragments = (frag & ipv4_mf) != 0;
    if ((frag & ipv4_df) != 0) {
        meta.flags |= meta_ipv4_df;
    }
    if (more_fragments || frag_offset != 0) {
        meta.flags |= meta_fragment;
    }
    const uint8_t proto = meta.l4_proto;
    if (frag_offset != 0) {
        // RFC 1858: offset 1 (8 bytes) can only serve to overwrite TCP flags.
        if (frag_offset == 1 && proto == proto_tcp) {
            return packet_defect::ipv4_tiny_fragment;
        }
        meta.flags |= meta_nonfirst_fragment;
        return std::nullopt;
    }
    const uint32_t l4_bytes = total - hdr_len;
    if (more_fragments) {
        const uint32_t need = proto == proto_tcp                          ? tcp_min_len
                              : proto == proto_udp || proto == proto_icmp ? udp_hdr_len
                                                                          : 0;
        if (l4_bytes < need) {
            return packet_defect::ipv4_tiny_fragment;
        }
    }
    return parse_l4(m, off + hdr_len, l4_bytes, proto_icmp, more_fragments, meta);
}

// RFC 8200: the fixed header, then a bounded walk of the extension headers.
std::optional<packet_defect> parse_ipv6(const rte_mbuf* m, uint32_t off, uint32_t l3_bytes,
                                      packet_meta& meta) noexcept {
    alignas(8) uint8_t buf[ipv6_hdr_len];
    if (l3_bytes < ipv6_hdr_len) {
        return packet_defect::ipv6_truncated;
    }
    const uint8_t* ip = bytes_at(m, off, ipv6_hdr_len, buf);
    if (ip == nullptr) {
        return packet_defect::ipv6_truncated;
    }
    if ((ip[0] >> 4) != 6) {
        return packet_defect::ipv6_bad_version;
    }
    // Padding excluded. A frame past 64 KiB cannot be described in the 16-bit
    // meta lengths; Ethernet has none (jumbograms, RFC 2675, are not supported).
    const uint32_t end = ipv6_hdr_len + load_be16(ip + 4);
    if (end > l3_bytes || end > UINT16_MAX) {
        return packet_defect::ipv6_bad_payload_length;
    }
    meta.l3 = l3_kind::ipv6;
    meta.l3_total = static_cast<uint16_t>(end);
    meta.ttl = ip[7];
    std::memcpy(meta.src_addr, ip + 8, 16);
    std::memcpy(meta.dst_addr, ip + 24, 16);

    uint8_t next = ip[6];
    uint32_t pos = ipv6_hdr_len;
    unsigned count = 0;
    bool partial = false;  // a first fragment of a fragmented packet
    for (;;) {
        if (next == proto_hop_by_hop) {
            if (count != 0) {
                return packet_defect::ipv6_hop_by_hop_misplaced;
            }
        } else if (next != proto_routing && next != proto_fragment && next != proto_dst_opts &&
                   next != proto_ah) {
            break;
        }
        if (count == ipv6_max_ext_headers) {
            return packet_defect::ipv6_ext_chain_too_long;
        }
        const uint32_t fixed = next == proto_fragment ? 8 : 2;
        if (end - pos < fixed) {
            return packet_defect::ipv6_ext_truncated;
        }
        const uint8_t* ext = bytes_at(m, off + pos, fixed, buf);
        if (ext == nullptr) {
            return packet_defect::ipv6_ext_truncated;
        }
        const uint32_t len = next == proto_fragment ? 8
                             : next == proto_ah     ? (ext[1] + 2u) * 4
                                                    : (ext[1] + 1u) * 8;
        if (len > end - pos) {
            return packet_defect::ipv6_ext_truncated;
        }
        ++count;
        pos += len;
        const uint8_t this_header = next;
        next = ext[0];
        if (this_header == proto_fragment) {
            meta.flags |= meta_fragment;
            const uint16_t frag = load_be16(ext + 2);
            if ((frag >> 3) != 0) {
                // What follows is fragment data, not headers.
                meta.flags |= meta_nonfirst_fragment;
                break;
            }
            partial = (frag & 1) != 0;
        }
    }
    meta.l3_len = static_cast<uint16_t>(pos);
    meta.l4_proto = next;
    if (count != 0) {
        meta.flags |= meta_ipv6_ext;
    }
    if ((meta.flags & meta_nonfirst_fragment) != 0 || next == proto_no_next) {
        return std::nullopt;
    }
    return parse_l4(m, off + pos, end - pos, proto_icmpv6, partial, meta);
}

// Writes meta for a packet ipv4_fast_check accepts and returns true; false:
// not handled here, meta untouched.
inline bool parse_ipv4_fast(const rte_mbuf* m, packet_meta& meta) noexcept {
    ipv4_fast_fields f;
    if (!ipv4_fast_check(m, f)) {
        return false;
    }
    write_ipv4_fast_meta(m, f, meta);
    return true;
}

}  // namespace

std::optional<packet_defect> parse_packet(const rte_mbuf* m, packet_meta& meta) noexcept {
    if (parse_ipv4_fast(m, meta)) {
        return std::nullopt;
    }
    return parse_packet_generic(m, meta);
}

std::optional<packet_defect> parse_packet_generic(const rte_mbuf* m, packet_meta& meta) noexcept {
    meta = packet_meta{};
    meta.in_port = m->port;
    const uint32_t frame_len = rte_pktmbuf_pkt_len(m);
    alignas(8) uint8_t buf[eth_hdr_len];
    if (frame_len < eth_hdr_len) {
        return packet_defect::eth_truncated;
    }
    const uint8_t* eth = bytes_at(m, 0, eth_hdr_len, buf);
    if (eth == nullptr) {
        return packet_defect::eth_truncated;
    }
    uint16_t type = load_be16(eth + 12);
    uint32_t off = eth_hdr_len;
    while (type == ether_type_vlan || type == ether_type_qinq) {
        if (meta.vlan_count == 2) {
            return packet_defect::vlan_too_deep;
        }
        if (frame_len - off < vlan_tag_len) {
            return packet_defect::eth_truncated;
        }
        const uint8_t* tag = bytes_at(m, off, vlan_tag_len, buf);
        if (tag == nullptr) {
            return packet_defect::eth_truncated;
        }
        const uint16_t vid = load_be16(tag) & 0x0fff;
        if (meta.vlan_count == 0) {
            meta.vlan_outer = vid;
        } else {
            meta.vlan_inner = vid;
        }
        ++meta.vlan_count;
        type = load_be16(tag + 2);
        off += vlan_tag_len;
    }
    meta.l2_len = static_cast<uint16_t>(off);
    meta.ethertype = type;
    const uint32_t l3_bytes = frame_len - off;
    switch (type) {
        case ether_type_ipv4:
            return parse_ipv4(m, off, l3_bytes, meta);
        case ether_type_ipv6:
            return parse_ipv6(m, off, l3_bytes, meta);
        case ether_type_arp:
            if (l3_bytes < arp_len) {
                return packet_defect::arp_truncated;
            }
            meta.l3 = l3_kind::arp;
            meta.l3_len = arp_len;
            meta.l3_total = arp_len;
            return std::nullopt;
        default:
            return std::nullopt;  // a bridge forwards what it does not know
    }
}

}  // namespace dpdk_app
