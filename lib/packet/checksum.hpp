// Internet checksum helpers (RFC 1071 / RFC 1624).
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ip.h>

namespace dpdk_app {

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit words in network order.
// Never yields 0xFFFF from a correct header (the 0x0000/0xFFFF corner).
// The additions are 16-bit with an end-around carry (add, adc), which gives
// the same value as summing in 32 bits and folding twice.
inline uint16_t add16_end_around(uint16_t a, uint16_t b) noexcept {
    uint16_t r;
    const bool carry = __builtin_add_overflow(a, b, &r);
    return static_cast<uint16_t>(r + (carry ? 1 : 0));
}

inline uint16_t checksum_update16(uint16_t old_cksum, uint16_t old_word,
                                  uint16_t new_word) noexcept {
    const uint16_t sum = add16_end_around(
        add16_end_around(static_cast<uint16_t>(~old_cksum), static_cast<uint16_t>(~old_word)),
        new_word);
    return static_cast<uint16_t>(~sum);
}

// Adds with an end-around carry (ones' complement addition).
inline uint64_t add_end_around(uint64_t a, uint64_t b) noexcept {
    uint64_t r;
    const bool carry = __builtin_add_overflow(a, b, &r);
    return r + (carry ? 1 : 0);
}

// Folds a 64-bit ones' complement sum to 16 bits (two adds with an
// end-around carry): 0 only for a sum of zeros, like rte_raw_cksum.
inline uint16_t fold_ones_complement(uint64_t sum) noexcept {
    uint32_t s32;
    const bool c32 = __builtin_add_overflow(static_cast<uint32_t>(sum),
                                            static_cast<uint32_t>(sum >> 32), &s32);
    s32 += c32 ? 1 : 0;
    uint16_t s16;
    const bool c16 = __builtin_add_overflow(static_cast<uint16_t>(s32),
                                            static_cast<uint16_t>(s32 >> 16), &s16);
    return static_cast<uint16_t>(s16 + (c16 ? 1 : 0));
}

static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "the tails below assume little endian");

// The RFC 1071 sum before folding: 8-byte words added with an end-around
// carry (the carry chain keeps the compiler from vectorising what is mostly
// short headers and messages).
inline uint64_t ones_complement_sum64(const uint8_t* p, uint32_t len) noexcept {
    uint64_t sum = 0;
    if (len >= 8) {
        const uint32_t rem = len & 7;
        const uint8_t* const last = p + len - 8;
        auto word = [&p](unsigned k) {
            uint64_t w;
            std::memcpy(&w, p + 8 * k, 8);
            return w;
        };
        if (len < 64) {
            // Up to 7 words (ICMP echo messages, headers): 4, 2 and 1 words
            // by the bits of the count, no loop (the branches are as
            // predictable as the lengths).
            if ((len & 32) != 0) {
                sum = add_end_around(add_end_around(sum, word(0)), word(1));
                sum = add_end_around(add_end_around(sum, word(2)), word(3));
                p += 32;
            }
            if ((len & 16) != 0) {
                sum = add_end_around(add_end_around(sum, word(0)), word(1));
                p += 16;
            }
            if ((len & 8) != 0) {
                sum = add_end_around(sum, word(0));
            }
        } else {
            for (; len >= 16; p += 16, len -= 16) {
                sum = add_end_around(add_end_around(sum, word(0)), word(1));
            }
            if (len >= 8) {
                sum = add_end_around(sum, word(0));
            }
        }
        if (rem != 0) {
            // The last rem bytes: the 8 bytes that end the buffer (the first
            // 8 - rem of them summed above) shifted down to bytes 0..rem-1,
            // which keeps every byte on its side of a 16-bit word.
            uint64_t w;
            std::memcpy(&w, last, 8);
            sum = add_end_around(sum, w >> (64 - 8 * rem));
        }
        return sum;
    }
    // Shorter than a word: assembled in a register (a partial store then a
    // wide load would stall store forwarding).
    unsigned shift = 0;
    if (len >= 4) {
        uint32_t v;
        std::memcpy(&v, p, 4);
        sum = v;
        shift = 32;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t v;
        std::memcpy(&v, p, 2);
        sum |= static_cast<uint64_t>(v) << shift;
        shift += 16;
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        sum |= static_cast<uint64_t>(*p) << shift;
    }
    return sum;
}

// RFC 1071 sum of a contiguous buffer, not inverted: the same value as
// rte_raw_cksum, which adds 16 bits at a time.
inline uint16_t ones_complement_sum(const uint8_t* p, uint32_t len) noexcept {
    return fold_ones_complement(ones_complement_sum64(p, len));
}

// True when the data (a message with its checksum field) sums to 0xFFFF,
// i.e. its checksum is right: the 64-bit sum is a multiple of 0xFFFF (which
// divides 2^64 - 1, so the end-around carries keep that) and not 0. One
// multiply instead of the fold.
inline bool ones_complement_ok(const uint8_t* p, uint32_t len) noexcept {
    const uint64_t sum = ones_complement_sum64(p, len);
    return sum != 0 && sum % 0xffff == 0;
}

// Decrements the TTL of a valid IPv4 header and updates its checksum
// incrementally. The caller checked ttl > 1. The 16-bit word {ttl, protocol}
// as loaded from memory (little endian: TTL is its low byte) drops by
// exactly 1, so RFC 1624's HC' = ~(~HC + ~m + m') is HC' = ~(~HC + 0xFFFE):
// the same value checksum_update16 gives (unit-tested against it and a full
// recompute), in a third of the instructions.
inline void ipv4_decrement_ttl(rte_ipv4_hdr* ip) noexcept {
    static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "the TTL is the low byte as loaded");
    ip->time_to_live--;
    ip->hdr_checksum =
        static_cast<uint16_t>(~add16_end_around(static_cast<uint16_t>(~ip->hdr_checksum), 0xfffe));
}

}  // namespace dpdk_app
