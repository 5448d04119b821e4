// Internet checksum helpers (RFC 1071 / RFC 1624).
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ip.h>

namespace dpdk_app {

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit words in network order.
// Never yields 0xFFFF from a correct header (the 0x0000/0xFFFF corner).
inline uint16_t checksum_update16(uint16_t old_cksum, uint16_t old_word,
                                  uint16_t new_word) noexcept {
    uint32_t sum = static_cast<uint16_t>(~old_cksum);
    sum += static_cast<uint16_t>(~old_word);
    sum += new_word;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// RFC 1071 sum of a contiguous buffer, not inverted: the same value as
// rte_raw_cksum, which adds 16 bits at a time. This adds 8-byte words with
// an end-around carry (the carry chain keeps the compiler from vectorising a
// loop that mostly sees short headers and messages) and folds at the end.
inline uint16_t ones_complement_sum(const uint8_t* p, uint32_t len) noexcept {
    uint64_t sum = 0;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        sum += w;
        sum += sum < w ? 1 : 0;
    }
    // The last 0..7 bytes, zero-padded in memory order, assembled in a
    // register (a partial store then a wide load would stall forwarding).
    uint64_t tail = 0;
    unsigned shift = 0;
    if (len >= 4) {
        uint32_t v;
        std::memcpy(&v, p, 4);
        tail = v;
        shift = 32;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t v;
        std::memcpy(&v, p, 2);
        tail |= static_cast<uint64_t>(v) << shift;
        shift += 16;
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        tail |= static_cast<uint64_t>(*p) << shift;
    }
    sum += tail;
    sum += sum < tail ? 1 : 0;
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Decrements the TTL of a valid IPv4 header and updates its checksum
// incrementally. The caller checked ttl > 1.
inline void ipv4_decrement_ttl(rte_ipv4_hdr* ip) noexcept {
    // TTL is the high byte of the 16-bit word {ttl, protocol}.
    const uint16_t old_word =
        rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
    ip->time_to_live--;
    const uint16_t new_word =
        rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
    ip->hdr_checksum = checksum_update16(ip->hdr_checksum, old_word, new_word);
}

}  // namespace dpdk_app
