// Internet checksum helpers (RFC 1071 / RFC 1624).
#pragma once

#include <cstdint>

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
