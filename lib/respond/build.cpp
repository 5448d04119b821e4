#include "respond/build.hpp"

#include <algorithm>
#include <cstring>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "packet/checksum.hpp"

namespace dpdk_app {

namespace {

constexpr uint8_t icmp6_echo_request = 128;
constexpr uint8_t icmp6_echo_reply = 129;
constexpr uint8_t ndp_option_source_lla = 1;
constexpr uint8_t ndp_option_target_lla = 2;
constexpr uint8_t ip_default_ttl = 64;
constexpr uint16_t arp_frame_min = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;  // 60

struct __attribute__((packed)) icmp6_hdr {  // at any offset, as DPDK's headers
    uint8_t type;
    uint8_t code;
    rte_be16_t cksum;
    rte_be32_t rest;
};

// The 16-bit ones' complement sum of len bytes at offset, not inverted.
uint16_t raw_sum(const rte_mbuf* m, uint32_t offset, uint32_t len) noexcept {
    if (offset + len <= rte_pktmbuf_data_len(m)) {
        return ones_complement_sum(rte_pktmbuf_mtod_offset(m, const uint8_t*, offset), len);
    }
    // Segment by segment. Not rte_raw_cksum_mbuf: in DPDK 22.11 it drops
    // carries when a segment starts at an odd byte of the range. A part that
    // starts at an odd byte has its bytes in the other lanes: swap its sum.
    const rte_mbuf* seg = m;
    while (seg != nullptr && offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    uint32_t sum = 0;
    uint32_t done = 0;
    for (; seg != nullptr && done < len; seg = seg->next, offset = 0) {
        const uint32_t n = std::min<uint32_t>(seg->data_len - offset, len - done);
        uint16_t part =
            ones_complement_sum(rte_pktmbuf_mtod_offset(seg, const uint8_t*, offset), n);
        if ((done & 1) != 0) {
            part = rte_bswap16(part);
        }
        sum += part;
        done += n;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// ICMPv6 checksum of a packet whose IPv6 header and ICMPv6 message are in
// place (checksum field zero): pseudo-header + message.
uint16_t icmp6_checksum(const rte_mbuf* m, uint32_t ip_offset, uint32_t l4_offset,
                        uint32_t l4_len) noexcept {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, ip_offset);
    uint32_t sum = rte_raw_cksum(ip->src_addr, 32);
    sum += rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));  // 32-bit length < 65536
    sum += rte_cpu_to_be_16(IPPROTO_ICMPV6);
    sum += raw_sum(m, l4_offset, l4_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

uint16_t icmp4_checksum(const rte_mbuf* m, uint32_t l4_offset, uint32_t l4_len) noexcept {
    return static_cast<uint16_t>(~raw_sum(m, l4_offset, l4_len));
}

bool multicast6(const uint8_t* a) noexcept { return a[0] == 0xff; }

bool unspecified6(const uint8_t* a) noexcept {
    static constexpr uint8_t zero[16] = {};
    return std::memcmp(a, zero, 16) == 0;
}

void set_ipv4_header(rte_ipv4_hdr* ip, uint16_t total, uint8_t proto, uint32_t src,
                     uint32_t dst) noexcept {
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0xc0;  // internetwork control (RFC 1812 4.3.2.5)
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = ip_default_ttl;
    ip->next_proto_id = proto;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
}

void set_ipv6_header(rte_ipv6_hdr* ip, uint16_t payload, uint8_t hop_limit, const uint8_t* src,
                     const uint8_t* dst) noexcept {
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(payload);
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = hop_limit;
    std::memmove(ip->src_addr, src, 16);
    std::memmove(ip->dst_addr, dst, 16);
}

// Sets the frame's length to exactly len bytes, all in the first segment:
// the segments after it are freed (the caller writes the whole frame there).
// False, m unchanged, when the first segment's buffer has no room.
bool set_length(rte_mbuf* m, uint16_t len) noexcept {
    if (rte_pktmbuf_headroom(m) + len > m->buf_len) {
        return false;
    }
    if (m->next != nullptr) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
        m->nb_segs = 1;
    }
    m->data_len = len;
    m->pkt_len = len;
    return true;
}

}  // namespace

// ---- ARP ------------------------------------------------------------------

const rte_arp_hdr* arp_header(const rte_mbuf* m, const packet_meta& pm) noexcept {
    return rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, pm.l2_len);
}

std::optional<drop_reason> arp_check(const rte_mbuf* m, const packet_meta& pm) noexcept {
    const rte_arp_hdr* a = arp_header(m, pm);
    if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) || a->arp_hlen != 6) {
        return drop_reason::arp_bad_hardware;
    }
    if (a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || a->arp_plen != 4) {
        return drop_reason::arp_bad_protocol;
    }
    const uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
    if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) {
        return drop_reason::arp_bad_opcode;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (!rte_is_same_ether_addr(&eth->src_addr, &a->arp_data.arp_sha)) {
        return drop_reason::arp_sender_mismatch;
    }
    return std::nullopt;
}

void arp_reply_in_place(rte_mbuf* m, const packet_meta& pm,
                        const rte_ether_addr& our_mac) noexcept {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* a = rte_pktmbuf_mtod_offset(m, rte_arp_hdr*, pm.l2_len);
    const uint32_t asked = a->arp_data.arp_tip;
    a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    a->arp_data.arp_tha = a->arp_data.arp_sha;
    a->arp_data.arp_tip = a->arp_data.arp_sip;
    a->arp_data.arp_sha = our_mac;
    a->arp_data.arp_sip = asked;
    eth->dst_addr = eth->src_addr;
    eth->src_addr = our_mac;
    const uint32_t frame = pm.l2_len + static_cast<uint32_t>(sizeof(rte_arp_hdr));
    truncate_packet(m, frame < arp_frame_min ? arp_frame_min : frame);
    m->port = pm.in_port;
}

bool arp_request_build(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip,
                       uint32_t target_ip, const rte_ether_addr* dst) noexcept {
    if (!set_length(m, arp_frame_min)) {
        return false;
    }
    std::memset(rte_pktmbuf_mtod(m, void*), 0, arp_frame_min);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    if (dst != nullptr) {
        eth->dst_addr = *dst;
    } else {
        std::memset(eth->dst_addr.addr_bytes, 0xff, 6);
    }
    eth->src_addr = our_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* a = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    a->arp_hlen = 6;
    a->arp_plen = 4;
    a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    a->arp_data.arp_sha = our_mac;
    a->arp_data.arp_sip = our_ip;
    a->arp_data.arp_tip = target_ip;  // target MAC stays zero
    return true;
}

// ---- echo -----------------------------------------------------------------

bool icmp_checksum_ok(const rte_mbuf* m, const packet_meta& pm) noexcept {
    const uint32_t l4_offset = pm.l2_len + pm.l3_len;
    const uint32_t l4_len = pm.l3_total - pm.l3_len;
    if (pm.l3 == l3_kind::ipv4) {
        return icmp4_checksum(m, l4_offset, l4_len) == 0;
    }
    return icmp6_checksum(m, pm.l2_len, l4_offset, l4_len) == 0;
}

void icmp6_echo_reply_in_place(rte_mbuf* m, const packet_meta& pm,
                               const rte_ether_addr& our_mac) noexcept {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, pm.l2_len);
    auto* icmp = rte_pktmbuf_mtod_offset(m, icmp6_hdr*, pm.l2_len + pm.l3_len);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = our_mac;
    uint8_t tmp[16];
    std::memcpy(tmp, ip->src_addr, 16);
    std::memcpy(ip->src_addr, ip->dst_addr, 16);
    std::memcpy(ip->dst_addr, tmp, 16);  // the pseudo-header sum is unchanged
    ip->hop_limits = ip_default_ttl;
    icmp->type = icmp6_echo_reply;
    icmp->cksum = checksum_update16(icmp->cksum, rte_cpu_to_be_16(icmp6_echo_request << 8),
                                    rte_cpu_to_be_16(icmp6_echo_reply << 8));
    truncate_packet(m, static_cast<uint32_t>(pm.l2_len) + pm.l3_total);
    m->port = pm.in_port;
}

// ---- NDP ------------------------------------------------------------------

std::optional<drop_reason> ndp_check(const rte_mbuf* m, const packet_meta& pm,
                                     ndp_message& out) noexcept {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, pm.l2_len);
    const uint32_t l4_offset = pm.l2_len + pm.l3_len;
    const uint32_t l4_len = pm.l3_total - pm.l3_len;
    const auto* icmp = rte_pktmbuf_mtod_offset(m, const icmp6_hdr*, l4_offset);
    // RFC 4861 7.1.1 / 7.1.2: hop limit 255, code 0, at least 24 bytes, no
    // extension headers in our walk (they would change l3_len only).
    if (ip->hop_limits != 255 || icmp->code != 0 || l4_len < 24 ||
        !headers_contiguous(m, l4_offset + l4_len)) {
        return drop_reason::ndp_invalid;
    }
    const uint8_t* body = reinterpret_cast<const uint8_t*>(icmp);
    out.type = icmp->type;
    out.target = body + 8;
    out.link_address = nullptr;
    const uint8_t flags = body[4];
    out.solicited = (flags & 0x40) != 0;
    out.override_flag = (flags & 0x20) != 0;
    if (multicast6(out.target)) {
        return drop_reason::ndp_invalid;
    }
    const bool from_unspecified = unspecified6(ip->src_addr);
    if (out.type == static_cast<uint8_t>(ndp_type::solicitation) && from_unspecified &&
        !multicast6(ip->dst_addr)) {
        return drop_reason::ndp_invalid;  // DAD probes go to the solicited-node group
    }
    if (out.type == static_cast<uint8_t>(ndp_type::advertisement) && out.solicited &&
        multicast6(ip->dst_addr)) {
        return drop_reason::ndp_invalid;  // 7.1.2: solicited NA to multicast
    }
    for (uint32_t at = 24; at < l4_len;) {
        if (at + 2 > l4_len || body[at + 1] == 0 || at + body[at + 1] * 8u > l4_len) {
            return drop_reason::ndp_invalid;  // option length 0 or past the message
        }
        const uint8_t kind = body[at];
        if ((kind == ndp_option_source_lla || kind == ndp_option_target_lla) &&
            body[at + 1] == 1) {
            if (from_unspecified && kind == ndp_option_source_lla) {
                return drop_reason::ndp_invalid;  // 7.1.1: DAD carries no source address
            }
            out.link_address = body + at + 2;
        }
        at += body[at + 1] * 8u;
    }
    return std::nullopt;
}

void ndp_advertisement_in_place(rte_mbuf* m, const packet_meta& pm, const uint8_t* target,
                                const rte_ether_addr& our_mac, bool router) noexcept {
    constexpr uint16_t icmp_len = 32;  // header 4 + flags 4 + target 16 + TLLA option 8
    uint8_t target_copy[16];
    std::memcpy(target_copy, target, 16);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, pm.l2_len);
    const bool dad = unspecified6(ip->src_addr);
    uint8_t dst[16];
    if (dad) {
        static constexpr uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                                  0,    0,    0, 0, 0, 0, 0, 1};
        std::memcpy(dst, all_nodes, 16);
        static constexpr rte_ether_addr all_nodes_mac = {{0x33, 0x33, 0, 0, 0, 1}};
        eth->dst_addr = all_nodes_mac;
    } else {
        std::memcpy(dst, ip->src_addr, 16);
        eth->dst_addr = eth->src_addr;
    }
    eth->src_addr = our_mac;
    // Untagged: the IPv6 header follows Ethernet directly; the message is
    // rebuilt right after it (extension headers of the NS are dropped), in
    // the first segment. 86 bytes: room after any headroom of this
    // program's mbufs (mempool.data_room >= 256).
    set_length(m, static_cast<uint16_t>(RTE_ETHER_HDR_LEN + sizeof(rte_ipv6_hdr) + icmp_len));
    set_ipv6_header(ip, icmp_len, 255, target_copy, dst);
    uint8_t* body = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(body, 0, icmp_len);
    body[0] = static_cast<uint8_t>(ndp_type::advertisement);
    body[4] = static_cast<uint8_t>((router ? 0x80 : 0) | (dad ? 0 : 0x40) | 0x20);  // R S O
    std::memcpy(body + 8, target_copy, 16);
    body[24] = ndp_option_target_lla;
    body[25] = 1;
    std::memcpy(body + 26, our_mac.addr_bytes, 6);
    const uint16_t ck = icmp6_checksum(m, RTE_ETHER_HDR_LEN,
                                       RTE_ETHER_HDR_LEN + sizeof(rte_ipv6_hdr), icmp_len);
    std::memcpy(body + 2, &ck, 2);
    m->port = pm.in_port;
}

bool ndp_solicitation_build(rte_mbuf* m, const rte_ether_addr& our_mac, const uint8_t* our_ip,
                            const uint8_t* target, const rte_ether_addr* dst) noexcept {
    constexpr uint16_t icmp_len = 32;  // header 4 + reserved 4 + target 16 + SLLA option 8
    constexpr uint16_t frame = RTE_ETHER_HDR_LEN + sizeof(rte_ipv6_hdr) + icmp_len;
    if (!set_length(m, frame)) {
        return false;
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    uint8_t ip_dst[16];
    if (dst != nullptr) {
        eth->dst_addr = *dst;
        std::memcpy(ip_dst, target, 16);
    } else {
        // Solicited-node multicast ff02::1:ffXX:XXXX and its MAC 33:33:ff:XX:XX:XX.
        static constexpr uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
        std::memcpy(ip_dst, prefix, 13);
        std::memcpy(ip_dst + 13, target + 13, 3);
        const rte_ether_addr group = {{0x33, 0x33, 0xff, target[13], target[14], target[15]}};
        eth->dst_addr = group;
    }
    eth->src_addr = our_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    set_ipv6_header(ip, icmp_len, 255, our_ip, ip_dst);
    uint8_t* body = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(body, 0, icmp_len);
    body[0] = static_cast<uint8_t>(ndp_type::solicitation);
    std::memcpy(body + 8, target, 16);
    body[24] = ndp_option_source_lla;
    body[25] = 1;
    std::memcpy(body + 26, our_mac.addr_bytes, 6);
    const uint16_t ck = icmp6_checksum(m, RTE_ETHER_HDR_LEN,
                                       RTE_ETHER_HDR_LEN + sizeof(rte_ipv6_hdr), icmp_len);
    std::memcpy(body + 2, &ck, 2);
    return true;
}

// ---- errors ---------------------------------------------------------------

error_rule may_send_error(const rte_mbuf* m, const packet_meta& pm,
                          bool packet_too_big) noexcept {
    if ((pm.flags & meta_nonfirst_fragment) != 0) {
        return error_rule::fragment;
    }
    const bool l4 = (pm.flags & meta_l4_valid) != 0;
    if (pm.l3 == l3_kind::ipv4) {
        if (l4 && pm.l4_proto == IPPROTO_ICMP &&
            (pm.icmp_type == 3 || pm.icmp_type == 4 || pm.icmp_type == 5 ||
             pm.icmp_type == 11 || pm.icmp_type == 12)) {
            return error_rule::about_error;
        }
    } else if (l4 && pm.l4_proto == IPPROTO_ICMPV6 && (pm.icmp_type < 128 || pm.icmp_type == 137)) {
        return error_rule::about_error;  // errors and redirects (RFC 4443 2.4 e.1)
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    const bool l2_group = rte_is_multicast_ether_addr(&eth->dst_addr);
    if (pm.l3 == l3_kind::ipv4) {
        const uint32_t dst = rte_be_to_cpu_32(meta_dst_ipv4(pm));
        const uint32_t src = rte_be_to_cpu_32(meta_src_ipv4(pm));
        if (l2_group || dst >> 28 == 0xe || dst == UINT32_MAX) {
            return error_rule::multicast;
        }
        const uint32_t first = src >> 24;
        if (first == 0 || first == 127 || first >= 224) {
            return error_rule::bad_source;  // not a unique host (RFC 1812 4.3.2.7)
        }
    } else {
        // RFC 4443 2.4 (e.3): packet too big may answer a multicast packet.
        if (!packet_too_big && (l2_group || multicast6(pm.dst_addr))) {
            return error_rule::multicast;
        }
        if (unspecified6(pm.src_addr) || multicast6(pm.src_addr)) {
            return error_rule::bad_source;
        }
    }
    return error_rule::send;
}

namespace {

// The part both error builders share: m is cut to the first `quote` bytes
// of its IP packet, its Ethernet header replaced by a new one (back to the
// frame's source, from our_mac) with `ip_icmp` bytes of room after it for
// the caller's IP and ICMP headers. Returns that new Ethernet header.
rte_ether_hdr* error_frame(rte_mbuf* m, const packet_meta& pm, uint16_t quote, uint16_t ip_icmp,
                           uint16_t ether_type, const rte_ether_addr& our_mac) noexcept {
    const rte_ether_addr back_to = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->src_addr;
    truncate_packet(m, static_cast<uint32_t>(pm.l2_len) + quote);
    rte_pktmbuf_adj(m, pm.l2_len);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(
        rte_pktmbuf_prepend(m, static_cast<uint16_t>(RTE_ETHER_HDR_LEN + ip_icmp)));
    eth->dst_addr = back_to;
    eth->src_addr = our_mac;
    eth->ether_type = rte_cpu_to_be_16(ether_type);
    m->port = pm.in_port;
    return eth;
}

}  // namespace

void icmp4_error_in_place(rte_mbuf* m, const packet_meta& pm, uint8_t type, uint8_t code,
                          uint32_t rest, uint32_t our_ip,
                          const rte_ether_addr& our_mac) noexcept {
    constexpr uint16_t ip_icmp = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr);
    const uint32_t to = meta_src_ipv4(pm);
    const uint16_t quote = std::min<uint16_t>(pm.l3_total, icmp4_error_max - ip_icmp);
    rte_ether_hdr* eth = error_frame(m, pm, quote, ip_icmp, RTE_ETHER_TYPE_IPV4, our_mac);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    set_ipv4_header(ip, static_cast<uint16_t>(ip_icmp + quote), IPPROTO_ICMP, our_ip, to);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    icmp->icmp_cksum = 0;
    const uint32_t rest_be = rte_cpu_to_be_32(rest);
    std::memcpy(&icmp->icmp_ident, &rest_be, 4);
    icmp->icmp_cksum = icmp4_checksum(m, RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr),
                                      sizeof(rte_icmp_hdr) + quote);
}

void icmp6_error_in_place(rte_mbuf* m, const packet_meta& pm, uint8_t type, uint8_t code,
                          uint32_t rest, const uint8_t* our_ip,
                          const rte_ether_addr& our_mac) noexcept {
    constexpr uint16_t ip_icmp = sizeof(rte_ipv6_hdr) + sizeof(icmp6_hdr);
    uint8_t to[16];
    std::memcpy(to, pm.src_addr, 16);  // pm lives in the mbuf: copied before the rewrite
    uint8_t from[16];
    std::memcpy(from, our_ip, 16);
    const uint16_t quote = std::min<uint16_t>(pm.l3_total, icmp6_error_max - ip_icmp);
    rte_ether_hdr* eth = error_frame(m, pm, quote, ip_icmp, RTE_ETHER_TYPE_IPV6, our_mac);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    set_ipv6_header(ip, static_cast<uint16_t>(sizeof(icmp6_hdr) + quote), ip_default_ttl, from,
                    to);
    auto* icmp = reinterpret_cast<icmp6_hdr*>(ip + 1);
    icmp->type = type;
    icmp->code = code;
    icmp->cksum = 0;
    icmp->rest = rte_cpu_to_be_32(rest);
    icmp->cksum = icmp6_checksum(m, RTE_ETHER_HDR_LEN, RTE_ETHER_HDR_LEN + sizeof(rte_ipv6_hdr),
                                 sizeof(icmp6_hdr) + quote);
}

bool tcp_reset_in_place(rte_mbuf* m, const packet_meta& pm, const rte_ether_addr& our_mac) noexcept {
    constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;
    if ((pm.tcp_flags & rst) != 0 || rte_pktmbuf_linearize(m) != 0) {
        return false;
    }
    const bool v6 = pm.l3 == l3_kind::ipv6;
    const uint32_t l4 = static_cast<uint32_t>(pm.l2_len) + pm.l3_len;
    if (rte_pktmbuf_data_len(m) < l4 + sizeof(rte_tcp_hdr)) {
        return false;
    }
    // Everything the reply needs, read before the frame is rewritten.
    const auto* in = rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, l4);
    const rte_ether_addr back_to = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->src_addr;
    const uint16_t sport = in->dst_port;
    const uint16_t dport = in->src_port;
    const uint32_t in_seq = rte_be_to_cpu_32(in->sent_seq);
    const uint32_t in_ack = rte_be_to_cpu_32(in->recv_ack);
    const uint32_t data = pm.l3_total - pm.l3_len - ((in->data_off >> 4) * 4u);
    uint8_t src[16];
    uint8_t dst[16];
    std::memcpy(src, pm.dst_addr, 16);
    std::memcpy(dst, pm.src_addr, 16);
    const uint16_t in_port = pm.in_port;
    const bool had_ack = (pm.tcp_flags & ack) != 0;
    const uint32_t seg_len = data + ((pm.tcp_flags & syn) != 0) + ((pm.tcp_flags & fin) != 0);

    const uint16_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    const uint16_t frame = static_cast<uint16_t>(RTE_ETHER_HDR_LEN + ip_len + sizeof(rte_tcp_hdr));
    m->data_len = frame;  // no longer than the segment it replaces (l2 >= 14, l3 >= ip_len)
    m->pkt_len = frame;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = back_to;
    eth->src_addr = our_mac;
    eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<uint8_t*>(eth + 1) + ip_len);
    tcp->src_port = sport;
    tcp->dst_port = dport;
    // With an ACK the RST takes its number; without, it acknowledges the segment.
    tcp->sent_seq = rte_cpu_to_be_32(had_ack ? in_ack : 0);
    tcp->recv_ack = rte_cpu_to_be_32(had_ack ? 0 : in_seq + seg_len);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = had_ack ? rst : (rst | ack);
    tcp->rx_win = 0;
    tcp->cksum = 0;
    tcp->tcp_urp = 0;
    if (v6) {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
        set_ipv6_header(ip, sizeof(rte_tcp_hdr), ip_default_ttl, src, dst);
        ip->proto = IPPROTO_TCP;
        tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
    } else {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        uint32_t s4;
        uint32_t d4;
        std::memcpy(&s4, src, 4);
        std::memcpy(&d4, dst, 4);
        set_ipv4_header(ip, static_cast<uint16_t>(ip_len + sizeof(rte_tcp_hdr)), IPPROTO_TCP, s4, d4);
        ip->type_of_service = 0;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    }
    m->port = in_port;
    return true;
}

}  // namespace dpdk_app
