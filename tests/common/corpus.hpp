// Frame builders and the malformed-packet corpus, shared by the unit tests
// (parse_packet on mbufs) and the integration tests (the real binary on
// net_pcap). Plain bytes only: no DPDK here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/drop_reason.hpp"

namespace dpdk_app::corpus {

using bytes = std::vector<uint8_t>;

inline constexpr uint16_t ether_ipv4 = 0x0800;
inline constexpr uint16_t ether_arp = 0x0806;
inline constexpr uint16_t ether_ipv6 = 0x86dd;
inline constexpr uint16_t ether_vlan = 0x8100;
inline constexpr uint16_t ether_qinq = 0x88a8;

inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint8_t proto_icmpv6 = 58;

// A VLAN tag: TPID and TCI.
struct vlan_tag {
    uint16_t tpid;
    uint16_t tci;
};

// Ethernet header (dst 02:00:00:00:00:02, src 02:00:00:00:00:01), the tags,
// then ethertype.
bytes ethernet(uint16_t ethertype, const std::vector<vlan_tag>& tags = {});

struct ipv4_header {
    uint8_t version = 4;
    uint8_t ihl = 0;                // 0: 5 + options.size() / 4
    std::optional<uint16_t> total;  // default: header + payload
    uint16_t frag = 0;              // flags (DF 0x4000, MF 0x2000) and offset in 8 bytes
    uint8_t ttl = 64;
    uint8_t proto = proto_udp;
    std::array<uint8_t, 4> src{192, 0, 2, 1};
    std::array<uint8_t, 4> dst{198, 51, 100, 2};
    bytes options;  // a multiple of 4 bytes
    bool bad_checksum = false;
    uint8_t tos = 0;  // DSCP << 2 | ECN
};
// The IPv4 header (checksum filled in, or wrong on purpose) followed by payload.
bytes ipv4(const ipv4_header& h, const bytes& payload);

struct ipv6_header {
    uint8_t version = 6;
    uint8_t next = proto_udp;
    uint8_t hop_limit = 64;
    std::optional<uint16_t> payload_length;  // default: payload.size()
    std::array<uint8_t, 16> src{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    std::array<uint8_t, 16> dst{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    uint8_t traffic_class = 0;  // DSCP << 2 | ECN
};
bytes ipv6(const ipv6_header& h, const bytes& payload);

// An IPv6 options-style extension header (hop-by-hop 0, routing 43,
// destination options 60): (units + 1) * 8 bytes.
bytes ipv6_ext(uint8_t next, uint8_t units = 0);
// Authentication header: (units + 2) * 4 bytes.
bytes ipv6_ah(uint8_t next, uint8_t units = 1);
// Fragment header: offset in 8-byte units, M flag.
bytes ipv6_frag(uint8_t next, uint16_t offset, bool more);

// TCP header of data_offset * 4 bytes (at least 20 written), then payload
// bytes. data_offset below 5 is written as is into a 20-byte header.
bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t data_offset = 5,
          std::size_t payload = 0);
// UDP header (length = 8 + payload unless given) and payload bytes.
bytes udp(uint16_t sport, uint16_t dport, std::size_t payload = 0,
          std::optional<uint16_t> length = std::nullopt);
// ICMP / ICMPv6 header (8 bytes) and payload bytes.
bytes icmp(uint8_t type, uint8_t code, std::size_t payload = 0);
// Ethernet/IPv4 ARP request, 28 bytes.
bytes arp();

bytes cat(bytes a, const bytes& b);
bytes pad_to(bytes f, std::size_t n);       // Ethernet padding with zeros
bytes truncated(bytes f, std::size_t n);    // the first n bytes
bytes filler(std::size_t n, uint8_t seed);  // deterministic payload bytes

struct corpus_case {
    std::string name;
    bytes frame;
    std::optional<drop_reason> expect;  // nothing: the frame is well-formed and goes on
};

// At least 30 frames, each either malformed in exactly one way or a
// well-formed edge case.
std::vector<corpus_case> malformed_corpus();

}  // namespace dpdk_app::corpus
