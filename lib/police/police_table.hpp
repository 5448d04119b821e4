// The policers of a generation: every [[policer]] compiled off the fast
// path into a profile (rates and bursts divided by the lane count: each lane
// meters with buckets of its own), its colour actions, its attachments
// (the input ports it meters) and per-lane counters.
//
// Slots. Each policer has a slot, an index into the police stage's bucket
// state (which lives outside the generation, one per lane, and survives
// reloads). A policer that keeps its name, kind and unit in the next
// generation keeps its slot and its epoch (the generation that first gave
// it the slot); any other gets a free slot and a new epoch, and the stage
// resets a slot whose epoch changed the first time it sees the generation.
// So the remap on a reload is one pass over the policers, allocation-free,
// and a packet marked with a slot by the classify stage of one generation
// is metered by the same policer in the next, even across a ring.
//
// The firewall marks an accepted packet with its rule's policer
// (packet_meta::police_mark = slot + 1); a port policer is found by the
// packet's input port.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "config/config.hpp"
#include "io/port.hpp"
#include "io/port_id.hpp"
#include "packet/checksum.hpp"
#include "packet/meta.hpp"
#include "pipeline/counters.hpp"
#include "police/meter.hpp"

namespace dpdk_app {

// Policers in one configuration, at most (each lane's stage sizes its
// bucket state for this many slots at start).
inline constexpr uint32_t max_policers = 4096;

// Top talkers a per-source policer lists, at most (policer.top_sources).
inline constexpr uint32_t max_top_sources = 64;

// A per-source bucket's key: 16 bytes (rte_hash compares them with one
// vector compare), the source address masked to the policer's prefix, an
// IPv4 source as its IPv4-mapped IPv6 address (::ffff:a.b.c.d; an IPv6
// source in ::ffff:0:0/96 shares its bucket), and every frame that is not
// IP the one key ff..ff (no IP source is ff00::/8 multicast).
struct source_key {
    uint8_t addr[16];
};
static_assert(sizeof(source_key) == 16);

// What a key is: IPv4, IPv6 or not IP.
enum class source_family : uint8_t { ipv4, ipv6, not_ip };
inline source_family family_of(const source_key& k) noexcept {
    static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(k.addr, mapped, sizeof(mapped)) == 0) {
        return source_family::ipv4;
    }
    const bool all_ones =
        std::all_of(std::begin(k.addr), std::end(k.addr), [](uint8_t b) { return b == 0xff; });
    return all_ones ? source_family::not_ip : source_family::ipv6;
}

// What one source sent through one per-source policer on one lane since
// its bucket was made: packets and frame bytes metered, and how many of
// those packets the colour actions dropped.
struct source_talker {
    source_key key;
    uint64_t packets;
    uint64_t bytes;
    uint64_t dropped;
};
static_assert(sizeof(source_talker) == 40);

// The top talkers first: more dropped packets, then more bytes.
inline bool talks_more(const source_talker& a, const source_talker& b) noexcept {
    return a.dropped != b.dropped ? a.dropped > b.dropped : a.bytes > b.bytes;
}

// One lane's top talkers of one per-source policer, as that lane last
// published them (a seqlock: the lane alone writes, publish() never
// waits; any thread reads a consistent copy with read()).
class alignas(RTE_CACHE_LINE_SIZE) talker_board {
  public:
    // Lane: replaces the list with talkers[0..n) (n <= max_top_sources).
    void publish(const source_talker* talkers, uint32_t n) noexcept {
        const uint32_t s = seq_.load(std::memory_order_relaxed);
        seq_.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        count_.store(n, std::memory_order_relaxed);
        for (uint32_t i = 0; i < n; ++i) {
            uint64_t w[words_per_talker];
            std::memcpy(w, &talkers[i], sizeof(w));
            for (std::size_t k = 0; k < words_per_talker; ++k) {
                words_[i * words_per_talker + k].store(w[k], std::memory_order_relaxed);
            }
        }
        seq_.store(s + 2, std::memory_order_release);
    }
    // Any thread: the list (best first) into out; false when it was never
    // published or stayed busy for every try (out then empty).
    bool read(std::vector<source_talker>& out) const {
        for (int attempt = 0; attempt < 64; ++attempt) {
            const uint32_t s = seq_.load(std::memory_order_acquire);
            if (s == 0) {
                break;
            }
            if ((s & 1) != 0) {
                continue;
            }
            const uint32_t n = std::min(count_.load(std::memory_order_relaxed), max_top_sources);
            out.resize(n);
            for (uint32_t i = 0; i < n; ++i) {
                uint64_t w[words_per_talker];
                for (std::size_t k = 0; k < words_per_talker; ++k) {
                    w[k] = words_[i * words_per_talker + k].load(std::memory_order_relaxed);
                }
                std::memcpy(&out[i], w, sizeof(w));
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            if (seq_.load(std::memory_order_relaxed) == s) {
                return true;
            }
        }
        out.clear();
        return false;
    }

  private:
    static constexpr std::size_t words_per_talker = sizeof(source_talker) / sizeof(uint64_t);
    std::atomic<uint32_t> seq_{0};  // odd while the lane writes; 0: never published
    std::atomic<uint32_t> count_{0};
    std::array<std::atomic<uint64_t>, max_top_sources * words_per_talker> words_{};
};

// One policer's counters on one lane (written by that lane's police stage
// alone): two cache lines, so no two lanes or policers share one.
struct alignas(RTE_CACHE_LINE_SIZE) policer_hits {
    std::array<counter, 3> packets;  // by meter_color: green, yellow, red
    std::array<counter, 3> bytes;    // frame bytes (as received, FCS off)
    counter dropped;                 // the colour's action was drop
    counter remarked;                // the colour's action was remark (IP packets)
    counter table_full;              // per-source: no bucket could be made
    counter sources_created;         // per-source: buckets made
    counter sources_evicted;         // per-source: idle buckets removed
};
static_assert(sizeof(policer_hits) == 2 * RTE_CACHE_LINE_SIZE);

struct policer_entry {
    std::string name;
    policer_kind kind;
    traffic_unit unit;
    policer_scope scope;
    meter_profile profile;  // at the lane's share of the rates and bursts
    length_mode length;
    bool color_aware;
    std::array<color_action, 3> actions;  // by meter_color
    uint32_t slot;
    uint64_t epoch;  // the generation that gave this policer its slot
    // per-source
    uint8_t prefix_v4;
    uint8_t prefix_v6;
    uint32_t mask_v4;                 // prefix_v4's mask, as it lies in memory
    std::array<uint64_t, 2> mask_v6;  // prefix_v6's
    uint32_t max_keys;
    uint64_t idle_cycles;  // idle_timeout in TSC cycles
    uint32_t top_sources;  // talkers listed (0: none)
    int32_t board;         // per-source: its talker_board index in the table, else -1
};

class policer_table {
  public:
    policer_table(const policer_table&) = delete;
    policer_table& operator=(const policer_table&) = delete;

    // Compiles config's policers for generation `number`: ports resolves the
    // [[port]]s' police keys to port ids, lanes divides the rates and
    // bursts (and sizes the counters), previous (the generation in use, or
    // nullptr) gives the slots of policers that stay. Returns nullptr and
    // appends the reasons on failure.
    static std::unique_ptr<policer_table> build(const app_config& config,
                                                const std::vector<port_plan>& ports,
                                                unsigned lanes, uint64_t tsc_hz, uint64_t number,
                                                const policer_table* previous,
                                                std::vector<std::string>& errors);

    // Every policer, in the configuration's order.
    const std::vector<policer_entry>& policers() const noexcept { return policers_; }
    // The policer in slot s, or nullptr (a mark of an older generation
    // whose policer is gone).
    const policer_entry* at_slot(uint32_t s) const noexcept {
        return s < by_slot_.size() ? by_slot_[s] : nullptr;
    }
    // The police mark (slot + 1) of the policer of the packets arriving on
    // port, 0 for none.
    uint32_t port_mark(uint16_t port) const noexcept {
        return port < max_ports ? port_marks_[port] : 0;
    }
    // The police mark of the policer named name, 0 for none (control side).
    uint32_t mark_of(std::string_view name) const;
    // Unique per table in the process: the stage notices a new one by it.
    uint64_t serial() const noexcept { return serial_; }
    unsigned lanes() const noexcept { return lanes_; }

    // Per-lane counters, indexed by slot; each lane's row is whole cache
    // lines. The control thread sums them and folds them into its totals
    // once the generation is retired (policer_totals).
    policer_hits* hits(unsigned lane) const noexcept { return &hits_[lane * slots_]; }
    // A per-source policer's top talkers on lane as the lane published them
    // (board: policer_entry::board).
    talker_board& board(unsigned lane, int32_t board) const noexcept {
        return boards_[lane * boards_per_lane_ + static_cast<std::size_t>(board)];
    }

  private:
    policer_table() = default;

    std::vector<policer_entry> policers_;
    std::vector<const policer_entry*> by_slot_;
    std::array<uint32_t, max_ports> port_marks_{};
    std::unordered_map<std::string, uint32_t> slot_of_;  // by name
    uint64_t serial_ = 0;
    unsigned lanes_ = 1;
    std::size_t slots_ = 0;  // by_slot_.size()
    static_assert(std::is_trivially_destructible_v<policer_hits>, "freed without destructors");
    struct aligned_delete {
        void operator()(policer_hits* p) const noexcept {
            ::operator delete[](p, std::align_val_t{RTE_CACHE_LINE_SIZE});
        }
    };
    std::unique_ptr<policer_hits[], aligned_delete> hits_;
    std::size_t boards_per_lane_ = 0;  // the per-source policers
    std::unique_ptr<talker_board[]> boards_;
};

// One policer's counters as reported: every lane summed, plus what earlier
// generations counted for a policer of the same name.
struct policer_report {
    std::string name;
    policer_kind kind = policer_kind::srtcm;
    policer_scope scope = policer_scope::aggregate;
    std::array<uint64_t, 3> packets{};  // by meter_color
    std::array<uint64_t, 3> bytes{};
    uint64_t dropped = 0;
    uint64_t remarked = 0;
    uint64_t table_full = 0;
    uint64_t sources_created = 0;
    uint64_t sources_evicted = 0;
    // Per-source: the top talkers (at most the policer's top_sources, best
    // first: the most dropped packets, then the most bytes), every lane's
    // list merged, as the lanes last published them.
    struct talker {
        std::string source;  // "192.0.2.7", "198.51.100.0/24", "2001:db8:1::/64", "non-IP"
        uint64_t packets = 0;
        uint64_t bytes = 0;
        uint64_t dropped = 0;
    };
    std::vector<talker> top_sources;
};

// The policers' counters across reloads (control thread): when a
// generation is retired, the counts of its policers whose name the next
// one still has carry over.
class policer_totals {
  public:
    void retire(const policer_table& old, const policer_table* next);
    std::vector<policer_report> report(const policer_table& current) const;

  private:
    std::unordered_map<std::string, policer_report> carried_;  // by name
    // Top talkers of the retired generation, by name: reported until a lane
    // publishes into the new one.
    std::unordered_map<std::string, std::vector<policer_report::talker>> carried_top_;
};

// The top talkers of policer e in table t: every lane's board merged (a
// source on several lanes summed), best first, at most e.top_sources.
// nullopt when no lane published a list yet (or e is not per-source).
std::optional<std::vector<policer_report::talker>> top_talkers(const policer_table& t,
                                                               const policer_entry& e);

// A source key as text: the address, with "/len" when the policer's prefix
// is shorter than the address; "non-IP" for family 0.
std::string source_text(const source_key& key, uint8_t prefix_v4, uint8_t prefix_v6);

// "srtcm", "trtcm", "rfc4115", "shaper"; "aggregate", "per-source", "per-flow".
std::string_view name_of(policer_kind k) noexcept;
std::string_view name_of(policer_scope s) noexcept;

// Whether any policer is attached (a rule's or a port's police key): the
// police stage is in the chain.
bool policers_attached(const app_config& config) noexcept;

// Checks without EAL: every police key names a [[policer]], the policers
// this release applies (no shaper, no per-flow scope), at most
// max_policers, dataplane.validate on.
void check_policers(const app_config& config, std::vector<config_error>& errors);

// The DSCP of an IPv4 / IPv6 packet the parse stage accepted (0 when its
// first two bytes cannot be read).
inline uint8_t dscp_of(const rte_mbuf* m, const packet_meta& pm) noexcept {
    uint8_t buf[2];
    const auto* l3 = static_cast<const uint8_t*>(rte_pktmbuf_read(m, pm.l2_len, 2, buf));
    if (l3 == nullptr) {
        return 0;
    }
    return pm.l3 == l3_kind::ipv4 ? static_cast<uint8_t>(l3[1] >> 2)
                                  : static_cast<uint8_t>((l3[0] & 0x0f) << 2 | l3[1] >> 6);
}

// Sets the DSCP of an IPv4 / IPv6 packet the parse stage accepted, keeping
// the ECN bits; IPv4: the header checksum updated incrementally (RFC 1624).
// false (nothing changed) when the header is not in the first segment.
inline bool set_dscp(rte_mbuf* m, const packet_meta& pm, uint8_t dscp) noexcept {
    const bool v4 = pm.l3 == l3_kind::ipv4;
    if (uint32_t{pm.l2_len} + (v4 ? 12u : 2u) > m->data_len) {
        return false;
    }
    auto* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, pm.l2_len);
    if (v4) {
        uint16_t old_word;
        std::memcpy(&old_word, l3, 2);
        l3[1] = static_cast<uint8_t>(dscp << 2 | (l3[1] & 0x03));
        uint16_t new_word;
        std::memcpy(&new_word, l3, 2);
        uint16_t cksum;
        std::memcpy(&cksum, l3 + 10, 2);
        // Ones' complement sums are byte-order independent: the words as
        // they lie in memory.
        cksum = checksum_update16(cksum, old_word, new_word);
        std::memcpy(l3 + 10, &cksum, 2);
    } else {
        l3[0] = static_cast<uint8_t>((l3[0] & 0xf0) | dscp >> 2);
        l3[1] = static_cast<uint8_t>((l3[1] & 0x3f) | (dscp & 0x03) << 6);
    }
    return true;
}

}  // namespace dpdk_app
