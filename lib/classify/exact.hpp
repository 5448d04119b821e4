// The firewall's exact-match table ([firewall.exact]): allow / deny lists of
// single addresses and 5-tuples, up to millions of entries, that an ACL
// would be wasteful for. Built off the fast path into a generation, one
// rte_hash table per key kind and address family that has entries, and
// looked up in bulk, before the ACL rules, for every IPv4 / IPv6 packet.
//
// The first hit decides, in this order: flow (the 5-tuple), src with
// protocol and port, src, dst with protocol and port, dst; a later table is
// consulted only for the packets still missing. A packet without ports
// (a TCP / UDP non-first fragment) is looked up only in the tables without
// ports (src, dst); for the other protocols the port is 0, as the entries
// write it, so every table can match them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "config/config.hpp"
#include "pipeline/counters.hpp"

struct rte_hash;

namespace dpdk_app {

enum class exact_verdict : int8_t { miss = -1, accept = 0, drop = 1 };

// rte_hash keys: fixed size (16 / 32 / 48 bytes: rte_hash compares those
// with vector instructions), padding zeroed. Addresses in network order,
// ports in host order, as in packet_meta; a port is 0 for protocols other
// than TCP and UDP.
struct alignas(8) exact_flow4_key {
    uint32_t src;
    uint32_t dst;
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
    uint8_t pad[3];
};
static_assert(sizeof(exact_flow4_key) == 16);

struct alignas(8) exact_flow6_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
    uint8_t pad[11];
};
static_assert(sizeof(exact_flow6_key) == 48);

// A src or dst entry: the address, and with PROTO PORT the protocol and the
// packet's source (src) or destination (dst) port; without them (their
// own tables) proto and port are 0.
struct alignas(8) exact_addr4_key {
    uint32_t addr;
    uint16_t port;
    uint8_t proto;
    uint8_t pad[9];
};
static_assert(sizeof(exact_addr4_key) == 16);

struct alignas(8) exact_addr6_key {
    uint8_t addr[16];
    uint16_t port;
    uint8_t proto;
    uint8_t pad[13];
};
static_assert(sizeof(exact_addr6_key) == 32);

// Hits of one lane, written by that lane only (its own cache line).
struct alignas(RTE_CACHE_LINE_SIZE) exact_hits {
    counter accept_packets;
    counter accept_bytes;  // rte_pktmbuf_pkt_len: the frame's bytes
    counter drop_packets;
    counter drop_bytes;
};

class exact_table {
  public:
    ~exact_table();
    exact_table(const exact_table&) = delete;
    exact_table& operator=(const exact_table&) = delete;

    // Builds the hash tables (each sized to its entries, with extendable
    // buckets: no entry fails to fit); lanes sizes the per-lane counters.
    // A key listed twice with one action is one entry, with two actions an
    // error. nullptr and the reasons appended to errors on failure.
    static std::unique_ptr<exact_table> build(const exact_config& config, unsigned lanes,
                                              std::vector<std::string>& errors);

    // Looks up n <= 64 packets (RTE_HASH_LOOKUP_BULK_MAX), each an IPv4 or
    // IPv6 packet whose packet_meta the parse stage filled (others are
    // written miss): out[i] is pkts[i]'s verdict. Counts the hits (packets,
    // bytes) on lane's counters. No allocation, no lock.
    void lookup(rte_mbuf* const* pkts, uint16_t n, exact_verdict* out,
                unsigned lane) const noexcept;

    // Entries (distinct keys).
    std::size_t size() const noexcept { return size_; }
    // rte_malloc bytes the hash tables took when built.
    std::size_t memory_bytes() const noexcept { return memory_; }
    unsigned lanes() const noexcept { return lanes_; }

    struct totals {
        uint64_t accept_packets = 0;
        uint64_t accept_bytes = 0;
        uint64_t drop_packets = 0;
        uint64_t drop_bytes = 0;
    };
    // Hits summed over the lanes (the control thread).
    totals hits() const noexcept;
    // One lane's row.
    const exact_hits& hits(unsigned lane) const noexcept { return hits_[lane]; }

  private:
    // In lookup order; v4 then v6 of each kind.
    enum table_id : uint8_t {
        flow4,
        flow6,
        src_port4,
        src_port6,
        src4,
        src6,
        dst_port4,
        dst_port6,
        dst4,
        dst6,
        table_count
    };
    static table_id table_of(const exact_entry& e) noexcept;

    exact_table() = default;

    std::array<rte_hash*, table_count> tables_{};
    std::size_t size_ = 0;
    std::size_t memory_ = 0;
    unsigned lanes_ = 1;
    std::unique_ptr<exact_hits[]> hits_;  // one per lane
};

}  // namespace dpdk_app
