// Packet builders of the responder. Replies and ICMP errors are written into
// the mbuf of the packet they answer (no allocation on the data path); ARP
// requests and neighbour solicitations are written into a fresh mbuf from
// the control pool. Every builder leaves a complete Ethernet frame with
// correct checksums and sets mbuf->port to the egress port.
//
// Preconditions common to the in-place builders: m was parsed (pm is its
// metadata), it is untagged (pm.vlan_count == 0), and its Ethernet, network
// and ICMP headers lie in the first segment.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "packet/checksum.hpp"
#include "packet/meta.hpp"
#include "packet/rewrite.hpp"
#include "pipeline/drop_reason.hpp"

namespace dpdk_app {

inline constexpr uint16_t icmp4_error_max = 576;   // RFC 1812 4.3.2.3: the error's IP length
inline constexpr uint16_t icmp6_error_max = 1280;  // RFC 4443 2.4 (c)

// True when the first `bytes` bytes of m are in its first segment.
inline bool headers_contiguous(const rte_mbuf* m, uint32_t bytes) noexcept {
    return rte_pktmbuf_data_len(m) >= bytes;
}


// ---- ARP (RFC 826) -------------------------------------------------------

// Checks an Ethernet/IPv4 ARP packet; returns the reason to drop it or
// nothing. The sender's MAC must equal the Ethernet source.
std::optional<drop_reason> arp_check(const rte_mbuf* m, const packet_meta& pm) noexcept;
// The ARP header of a checked packet.
const rte_arp_hdr* arp_header(const rte_mbuf* m, const packet_meta& pm) noexcept;
// Turns a request for `our_ip` (network order) into the reply from our_mac.
void arp_reply_in_place(rte_mbuf* m, const packet_meta& pm, const rte_ether_addr& our_mac) noexcept;
// Writes an ARP request for target_ip from (our_mac, our_ip) into an empty
// mbuf: broadcast, or unicast to *dst (a re-check of a known neighbour).
// target_ip == our_ip makes it a gratuitous ARP. Returns false if m has no room.
bool arp_request_build(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip,
                       uint32_t target_ip, const rte_ether_addr* dst) noexcept;

// ---- ICMP / ICMPv6 echo ---------------------------------------------------

// True when the ICMP (IPv4) or ICMPv6 checksum of m is right.
bool icmp_checksum_ok(const rte_mbuf* m, const packet_meta& pm) noexcept;
// The IPv4 and ICMP headers of an echo request become the reply's:
// addresses swapped (which leaves the header sum as it was), TTL 64, type 0,
// both checksums updated per RFC 1624. The same identifier, sequence and
// payload stay. ip / icmp: the headers, in one segment.
inline void icmp4_echo_rewrite(uint8_t* ip, uint8_t* icmp) noexcept {
    constexpr uint8_t reply_ttl = 64;
    uint64_t addresses;
    std::memcpy(&addresses, ip + 12, 8);
    addresses = addresses >> 32 | addresses << 32;
    std::memcpy(ip + 12, &addresses, 8);
    // The word {TTL, protocol} as loaded from memory has the TTL in its low
    // byte; the protocol cancels out of the update, so the TTL alone is
    // passed as the old and new word.
    uint16_t cksum;
    std::memcpy(&cksum, ip + 10, 2);
    cksum = checksum_update16(cksum, ip[8], reply_ttl);
    ip[8] = reply_ttl;
    std::memcpy(ip + 10, &cksum, 2);
    // ICMP: type 8 -> 0 in the high byte of the first word (network order).
    // RFC 1624's update gives 0x0000 when the new message sums to zero;
    // for a message of zeros (identifier 0, sequence 0, no payload) only
    // 0xFFFF is right (a receiver sums the checksum to 0, not 0xFFFF), and
    // 0xFFFF is right for any other sum of zero too.
    std::memcpy(&cksum, icmp + 2, 2);
    cksum = checksum_update16(cksum, rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8), 0);
    cksum = cksum == 0 ? 0xffff : cksum;
    icmp[0] = RTE_IP_ICMP_ECHO_REPLY;
    std::memcpy(icmp + 2, &cksum, 2);
}

// Echo request -> echo reply in place, back to the frame's source from
// our_mac, Ethernet padding cut, mbuf->port = the arrival port. The headers
// lie in the first segment.
inline void icmp4_echo_reply_in_place(rte_mbuf* m, const packet_meta& pm,
                                      const rte_ether_addr& our_mac) noexcept {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = our_mac;
    uint8_t* const ip = rte_pktmbuf_mtod_offset(m, uint8_t*, pm.l2_len);
    icmp4_echo_rewrite(ip, ip + pm.l3_len);
    const uint32_t frame = static_cast<uint32_t>(pm.l2_len) + pm.l3_total;
    if (m->pkt_len > frame) {
        truncate_packet(m, frame);  // Ethernet padding
    }
    m->port = pm.in_port;
}

void icmp6_echo_reply_in_place(rte_mbuf* m, const packet_meta& pm,
                               const rte_ether_addr& our_mac) noexcept;

// ---- NDP (RFC 4861) -------------------------------------------------------

enum class ndp_type : uint8_t { solicitation = 135, advertisement = 136 };

struct ndp_message {
    uint8_t type = 0;
    const uint8_t* target = nullptr;        // 16 bytes, inside the packet
    const uint8_t* link_address = nullptr;  // source / target link-layer option, or null
    bool solicited = false;                 // NA S flag
    bool override_flag = false;             // NA O flag
};
// Checks an NS or NA (hop limit 255, code 0, length, target not multicast,
// options well-formed) and extracts it; returns the reason to drop or nothing.
std::optional<drop_reason> ndp_check(const rte_mbuf* m, const packet_meta& pm,
                                     ndp_message& out) noexcept;
// NS for one of our addresses -> NA in place (to the soliciting host, or to
// all-nodes when the source is :: during duplicate address detection).
void ndp_advertisement_in_place(rte_mbuf* m, const packet_meta& pm, const uint8_t* target,
                                const rte_ether_addr& our_mac, bool router) noexcept;
// Writes an NS for target from our_ip into an empty mbuf: to the target's
// solicited-node multicast group, or unicast to *dst. Returns false if no room.
bool ndp_solicitation_build(rte_mbuf* m, const rte_ether_addr& our_mac, const uint8_t* our_ip,
                            const uint8_t* target, const rte_ether_addr* dst) noexcept;

// ---- ICMP errors (RFC 792, 1812, 4443) -------------------------------------

// Why an error about a packet must not be sent (RFC 1812 4.3.2.7, RFC 4443 2.4 e).
enum class error_rule : uint8_t { send, about_error, multicast, fragment, bad_source };
error_rule may_send_error(const rte_mbuf* m, const packet_meta& pm, bool packet_too_big) noexcept;

// Replaces m with an ICMP error about it: Ethernet back to the frame's source
// on pm.in_port, IP from our_ip to the packet's source, the original IP
// packet quoted up to 576 (IPv4) / 1280 (IPv6) bytes in all. rest is the
// ICMP header's last 32 bits (the next-hop MTU of "fragmentation needed",
// the MTU of "packet too big"), host order.
void icmp4_error_in_place(rte_mbuf* m, const packet_meta& pm, uint8_t type, uint8_t code,
                          uint32_t rest, uint32_t our_ip, const rte_ether_addr& our_mac) noexcept;
void icmp6_error_in_place(rte_mbuf* m, const packet_meta& pm, uint8_t type, uint8_t code,
                          uint32_t rest, const uint8_t* our_ip,
                          const rte_ether_addr& our_mac) noexcept;

// Replaces a TCP segment (pm: its metadata, L4 valid, not a fragment) with
// the RST that refuses it (RFC 9293 3.10.7.1): from the segment's
// destination back to its source, Ethernet back to the frame's source from
// our_mac on pm.in_port. Returns false (m unchanged) when the segment is
// itself a RST or does not fit one buffer.
bool tcp_reset_in_place(rte_mbuf* m, const packet_meta& pm, const rte_ether_addr& our_mac) noexcept;

// True when m has the headroom an error about it needs (its Ethernet header
// is replaced by Ethernet + IP + ICMP headers).
inline bool room_for_error(const rte_mbuf* m, const packet_meta& pm) noexcept {
    return rte_pktmbuf_headroom(m) + pm.l2_len >= 14u + 40u + 8u;
}


}  // namespace dpdk_app
