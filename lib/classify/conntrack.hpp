// Connection tracking: one table per lane (both directions of a connection
// reach the same lane: symmetric RSS, see docs/architecture.md), written by
// that lane's classify stage alone, outlives reloads. A connection is keyed
// by its normalised 5-tuple (the lower address / port first, so that both
// directions find one entry; ICMP echo by its identifier), on rte_hash with
// bulk lookups, one table per address family.
//
// A burst is handled in two steps around the rule lookup:
//   probe()  builds each packet's key and looks the burst up in bulk;
//   state()  says the packet's state (new, established, related, invalid,
//            untracked) from its connection as it is now;
//   commit() applies an accepted packet to its connection: creates it (a
//            full table: false, the caller drops conntrack_full), advances
//            the TCP state, refreshes the timeout.
// Only accepted packets change the table: a packet the rules drop leaves no
// trace. expire() removes timed-out connections a few slots at a time
// (amortised over bursts, never a scan of the whole table); a lookup never
// trusts a timed-out entry.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <rte_hash.h>
#include <rte_mbuf.h>

#include "config/config.hpp"
#include "packet/meta.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

// Timeouts in TSC cycles and the policy the generation carries (reloadable).
struct conntrack_policy {
    uint64_t tcp_syn = 0;
    uint64_t tcp_established = 0;
    uint64_t tcp_fin = 0;
    uint64_t tcp_closed = 0;
    uint64_t udp = 0;
    uint64_t udp_stream = 0;
    uint64_t icmp = 0;
    uint64_t other = 0;
    bool drop_invalid = true;

    static conntrack_policy from(const conntrack_config& c, uint64_t tsc_hz) noexcept;
};

enum class tcp_state : uint8_t { none, syn_sent, syn_recv, established, fin_wait, closing, closed };

struct ct_entry {
    uint64_t expires;  // TSC; meaningful while in use
    uint8_t flags;     // ct_flag_*
    tcp_state tcp;
    uint8_t proto;
    uint8_t pad[5];
};
static_assert(sizeof(ct_entry) == 16);

inline constexpr uint8_t ct_flag_used = 1u << 0;
inline constexpr uint8_t ct_flag_orig_lo = 1u << 1;     // the originator is the key's lo side
inline constexpr uint8_t ct_flag_seen_reply = 1u << 2;  // both directions seen
inline constexpr uint8_t ct_flag_fin_orig = 1u << 3;
inline constexpr uint8_t ct_flag_fin_reply = 1u << 4;

struct alignas(8) ct_key4 {
    uint32_t addr_lo;
    uint32_t addr_hi;
    uint16_t port_lo;
    uint16_t port_hi;
    uint8_t proto;
    uint8_t pad[3];
};
static_assert(sizeof(ct_key4) == 16);

struct alignas(8) ct_key6 {
    uint8_t addr_lo[16];
    uint8_t addr_hi[16];
    uint16_t port_lo;
    uint16_t port_hi;
    uint8_t proto;
    uint8_t pad[11];
};
static_assert(sizeof(ct_key6) == 48);

// What probe() found out about one packet.
enum class ct_kind : uint8_t {
    untracked,  // not looked up (fragments, ICMP that is neither echo nor error, NDP)
    invalid,    // invalid without a lookup (TCP flags no connection has)
    track,      // a packet of a connection (its own key)
    error,      // an ICMP error: the key is that of the packet it quotes
};

struct ct_probe {
    ct_kind kind;
    bool v6;
    bool src_is_lo;     // the packet travels from the key's lo side
    uint8_t tcp_flags;  // TCP: the segment's flags
    uint8_t icmp_echo;  // ICMP echo: 1 request, 2 reply; 0 otherwise
    uint8_t slot;       // index of the key in the family's scratch
    uint8_t proto;
    int32_t pos;        // rte_hash position; negative: not found
};

class connection_table {
  public:
    ~connection_table();
    connection_table(const connection_table&) = delete;
    connection_table& operator=(const connection_table&) = delete;

    // capacity: connections per family. nullptr with error on failure.
    static std::unique_ptr<connection_table> create(unsigned lane, uint32_t capacity,
                                                    std::string& error);

    // Starts a burst: forgets what the last one inserted or removed.
    void begin_burst() noexcept {
        inserted_ = false;
        removed_ = false;
        swept_ = false;
    }
    // Probes n IPv4 (or IPv6) packets of a burst (at most max_burst of each
    // family per burst): builds their keys and looks them up in bulk.
    void probe(rte_mbuf* const* pkts, uint16_t n, bool v6, ct_probe* out) noexcept;
    // The packet's state now: one ct_* bit.
    uint8_t state(ct_probe& p, uint64_t now) noexcept;
    // Applies an accepted packet whose state() is state. false: a new
    // connection found the table full (and expiring further did not help).
    bool commit(ct_probe& p, uint8_t state, const conntrack_policy& policy, uint64_t now,
                stage_context& ctx) noexcept;
    // Looks at up to n slots of each family from where the last call
    // stopped; removes the timed-out connections. Returns how many.
    uint32_t expire(uint64_t now, uint32_t n, stage_context& ctx) noexcept;

    // Bumped whenever the state() of some packet may have changed: a
    // connection created, reopened or advanced (its flags or TCP state), or
    // removed. Equal before and after a run of commits: every state() read
    // before it still holds.
    uint32_t changes() const noexcept { return changes_; }

    uint32_t capacity() const noexcept { return capacity_; }
    // Connections in the tables (timed out but not yet removed included).
    uint32_t size() const noexcept;

  private:
    template <class Key>
    struct family {
        rte_hash* hash = nullptr;
        ct_entry* entries = nullptr;  // by rte_hash position
        uint32_t cursor = 0;          // next slot expire() looks at
        uint32_t used = 0;            // connections in the table (expire() skips an empty one)
        std::array<Key, max_burst> keys;
        std::array<const void*, max_burst> key_ptrs;
        std::array<int32_t, max_burst> positions;
    };

    connection_table() = default;
    ct_entry* live(const ct_probe& p, uint64_t now) noexcept;
    int32_t insert(ct_probe& p, uint64_t now, stage_context& ctx) noexcept;
    template <class Key>
    uint32_t expire_family(family<Key>& f, uint64_t now, uint32_t n, stage_context& ctx) noexcept;

    // Slots a full table looks at for timed-out connections (once a burst).
    static constexpr uint32_t full_sweep = 256;

    uint32_t capacity_ = 0;
    bool inserted_ = false;  // this burst created a connection
    bool removed_ = false;   // this burst removed connections: positions may be stale
    bool swept_ = false;     // this burst swept a full table
    uint32_t changes_ = 0;
    family<ct_key4> v4_;
    family<ct_key6> v6_;
};

}  // namespace dpdk_app
