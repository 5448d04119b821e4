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

#include <array>
#include <cstdint>
#include <memory>
#include <new>
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
    uint32_t max_keys;
    uint64_t idle_cycles;  // idle_timeout in TSC cycles
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
};

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
