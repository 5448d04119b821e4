// The police stage: between classify and route | bridge. Every packet
// passes the policer of its input port (a [[port]]'s police key), then the
// policer of the firewall rule that accepted it (packet_meta::police_mark,
// written by the classify stage). Per policer: the packet's length (its
// length mode; 1 for a packet-rate policer), its pre-colour (the DSCP's,
// colour-aware policers only), the meter's colour at the burst's TSC, then
// the colour's action: transmit, drop (policer_drop) or remark (the DSCP
// set, the IPv4 header checksum updated). Counted per lane, policer and
// colour in the generation's policer_table.
//
// Bucket state is the lane's own, outside the generation: one meter_state
// per slot for aggregate policers (the table's profiles are at the lane's
// share of the rates), and per per-source policer a bounded rte_hash from
// the masked source address to a bucket, made at start for the per-source
// policers of the starting configuration (a reload cannot add one: a
// restart-only change). A bucket is made on a source's first packet (full,
// at that packet's time); buckets idle for idle_timeout are removed a few
// slots after each burst, and when the table is full a sweep looks further
// once per burst; a packet whose source finds no bucket is dropped as
// policer_table_full (fail closed: a full table means more sources than
// planned, the case a per-source limit is there for).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_hash.h>

#include "config/config.hpp"
#include "police/meter.hpp"
#include "police/police_table.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

// The key of the packet's source under per-source policer e.
inline void source_key_of(const packet_meta& pm, const policer_entry& e, source_key& k) noexcept {
    if (pm.l3 == l3_kind::ipv4) {
        uint32_t a;
        std::memcpy(&a, pm.src_addr, sizeof(a));
        a &= e.mask_v4;
        std::memset(k.addr, 0, 10);
        k.addr[10] = 0xff;
        k.addr[11] = 0xff;
        std::memcpy(k.addr + 12, &a, sizeof(a));
    } else if (pm.l3 == l3_kind::ipv6) {
        uint64_t a[2];
        std::memcpy(a, pm.src_addr, sizeof(a));
        a[0] &= e.mask_v6[0];
        a[1] &= e.mask_v6[1];
        std::memcpy(k.addr, a, sizeof(a));
    } else {
        std::memset(k.addr, 0xff, sizeof(k.addr));
    }
}

// One source's bucket: its meter, the time of its last packet and what the
// source sent through it (the top talkers are read off these). One cache
// line.
struct source_bucket {
    meter_state state;
    uint64_t last;     // TSC of its last packet
    uint64_t packets;  // metered since the bucket was made; 0: the slot holds no source
    uint64_t bytes;    // frame bytes of those packets
    uint64_t dropped;  // of those, dropped by the policer's colour action
};
static_assert(sizeof(source_bucket) == 64);

// One per-source policer's buckets on one lane.
//
// Per burst: begin_burst(), then gather() the key of every packet the
// policer will meter (in packet order), lookup() (one rte_hash bulk lookup
// of them all), then take() each gathered key in packet order as its packet
// is metered. take() is exactly find() of that key at that moment: a key
// the bulk lookup found takes its bucket at once; a key it did not find
// (a new source, or one made by an earlier packet of the burst) goes
// through find(), and once a bucket was removed in the burst (the full
// table's sweep) every later key does, as the lookup's positions may name
// freed slots.
//
// The walk (expire) looks at a few slots after each burst: it removes the
// buckets idle for idle_timeout and collects the policer's top talkers
// (most dropped packets, then most bytes); each completed pass over every
// slot makes its list the published one (take_pass).
class source_buckets {
  public:
    ~source_buckets();
    source_buckets(const source_buckets&) = delete;
    source_buckets& operator=(const source_buckets&) = delete;

    // For policer p (its name, max_keys and prefixes). nullptr with error
    // when the table cannot be made.
    static std::unique_ptr<source_buckets> create(const policer_config& p, unsigned lane,
                                                  std::string& error);

    // The bucket of a packet of key at now, made under profile on its
    // source's first packet; nullptr when the table is full (after one
    // sweep for idle buckets per burst: begin_burst). Counts the packet in
    // the bucket (packets, last), and made and evicted buckets in hits.
    source_bucket* find(const source_key& key, const meter_profile& profile, uint64_t now,
                        uint64_t idle, policer_hits& hits) noexcept;

    void begin_burst() noexcept {
        swept_ = false;
        evicted_in_burst_ = false;
        gathered_ = 0;
    }
    // Adds the key of pm's source under e to the burst's keys; returns its
    // index for take(). At most max_gathered per burst.
    uint32_t gather(const packet_meta& pm, const policer_entry& e) noexcept {
        source_key_of(pm, e, keys_[gathered_]);
        return gathered_++;
    }
    uint32_t gather(const source_key& key) noexcept {
        keys_[gathered_] = key;
        return gathered_++;
    }
    // Looks the gathered keys up (rte_hash_lookup_bulk) and prefetches the
    // buckets found.
    void lookup() noexcept;
    // find() of the gathered key i, now.
    source_bucket* take(uint32_t i, const meter_profile& profile, uint64_t now, uint64_t idle,
                        policer_hits& hits) noexcept {
        if (!evicted_in_burst_ && positions_[i] >= 0) {
            source_bucket& b = buckets_[positions_[i]];
            b.last = now;
            ++b.packets;
            return &b;
        }
        return find(keys_[i], profile, now, idle, hits);
    }
    uint32_t gathered() const noexcept { return gathered_; }

    // Looks at up to n slots from where the last call stopped: removes the
    // buckets idle for idle cycles, offers the others to the pass's top
    // talkers. Returns how many it removed.
    uint32_t expire(uint64_t now, uint64_t idle, uint32_t n, policer_hits& hits) noexcept;
    // Slots to look at after a burst at now: expire_per_burst, or more when
    // bursts are far apart, so that a pass over every slot takes about
    // `period` cycles or less (at most max_walk).
    uint32_t walk_length(uint64_t now, uint64_t period) noexcept;
    // Forgets every bucket and talker (its policer became another one).
    void clear() noexcept;

    // Top talkers listed (0: none are collected).
    void set_top(uint32_t n) noexcept;
    // True once after each completed pass: its talkers are the list now.
    bool take_pass() noexcept {
        const bool done = pass_done_;
        pass_done_ = false;
        return done;
    }
    // The list of the last completed pass, best first (top_count() of
    // them); published() is false before the first pass completes.
    const source_talker* top() const noexcept { return top_.data(); }
    uint32_t top_count() const noexcept { return top_count_; }
    bool published() const noexcept { return published_; }

    const std::string& name() const noexcept { return name_; }
    uint32_t size() const noexcept { return used_; }
    uint32_t capacity() const noexcept { return max_keys_; }
    uint32_t slots() const noexcept { return slots_; }

    // Slots a full table looks at for idle buckets (once a burst).
    static constexpr uint32_t full_sweep = 256;
    // Slots looked at after every burst, at least, and at most.
    static constexpr uint32_t expire_per_burst = 8;
    static constexpr uint32_t max_walk = 1024;
    // Keys gathered per burst, at most: a port's and a rule's policer per packet.
    static constexpr uint32_t max_gathered = 2 * max_burst;

  private:
    source_buckets() = default;
    void offer(uint32_t pos, const source_bucket& b) noexcept;

    std::string name_;
    rte_hash* hash_ = nullptr;
    source_bucket* buckets_ = nullptr;  // by rte_hash position
    uint32_t slots_ = 0;
    uint32_t max_keys_ = 0;
    uint32_t used_ = 0;
    uint32_t cursor_ = 0;
    uint64_t last_walk_ = 0;
    bool swept_ = false;
    bool evicted_in_burst_ = false;
    // The burst's keys and their positions (-1: not found).
    uint32_t gathered_ = 0;
    std::array<source_key, max_gathered> keys_;
    std::array<int32_t, max_gathered> positions_;
    // Top talkers: the pass's (collecting) and the last completed pass's.
    uint32_t top_n_ = 0;
    uint32_t pass_count_ = 0;
    uint32_t top_count_ = 0;
    bool pass_done_ = false;
    bool published_ = false;
    std::array<source_talker, max_top_sources> pass_top_;
    std::array<source_talker, max_top_sources> top_;
};

class police_stage final : public stage {
  public:
    // The stage of a lane for config: bucket state for max_policers slots,
    // and bucket tables for its per-source policers. nullptr with error
    // when a table cannot be made.
    static std::unique_ptr<police_stage> create(unsigned lane, const app_config& config,
                                                std::string& error);

    std::string_view name() const noexcept override { return "police"; }
    void process(burst& b, stage_context& ctx) noexcept override;

    // The lane's buckets of a per-source policer by name (nullptr: none), for tests and stats.
    const source_buckets* sources(const std::string& policer) const noexcept;

    // Slots of each per-source table looked at for idle buckets after every burst.
    static constexpr uint32_t expire_per_burst = source_buckets::expire_per_burst;

  private:
    explicit police_stage(unsigned lane);
    // The first burst of a new table: resets the slots whose policer is
    // new, finds the per-source tables by name.
    void adopt(const policer_table& t, uint64_t now) noexcept;
    // Meters m with e (per source: the bucket of the key gathered at
    // index key); false when it was dropped.
    bool police(const policer_entry& e, policer_hits& hits, rte_mbuf* m, packet_meta& pm,
                uint64_t now, stage_context& ctx, uint32_t key) noexcept;
    // A burst from one port whose policer pe is aggregate, of kind K: pe's
    // bucket and counts in locals for the whole burst (no store-to-load
    // chain through memory from one packet to the next), then each
    // packet's rule policer as police() does. Returns the packets kept
    // (moved to the front of b).
    template <meter_kind K>
    uint16_t police_port_burst(const policer_table& t, const policer_entry& pe, burst& b,
                               uint64_t now, stage_context& ctx, policer_hits* hits) noexcept;
    uint16_t police_port(const policer_table& t, const policer_entry& pe, burst& b, uint64_t now,
                         stage_context& ctx, policer_hits* hits) noexcept;
    // Any burst: each packet's port policer, then its rule's (police()).
    uint16_t police_each(const policer_table& t, burst& b, uint64_t now, stage_context& ctx,
                         policer_hits* hits) noexcept;
    // The burst's per-source keys gathered and looked up; per packet the
    // index of its port's and its rule's key (unset for others).
    void gather(const policer_table& t, const burst& b) noexcept;

    unsigned lane_;
    uint64_t serial_ = 0;  // of the table adopted last
    std::unique_ptr<meter_state[]> states_;  // by slot
    std::unique_ptr<uint64_t[]> epochs_;     // by slot: the epoch its state belongs to
    std::unique_ptr<int32_t[]> keyed_;       // by slot: index into sources_, or -1
    std::vector<std::unique_ptr<source_buckets>> sources_;
    std::vector<uint32_t> source_marks_;  // of sources_ in the adopted table (slot + 1), 0: none
    bool keyed_any_ = false;              // a per-source policer is in the adopted table
    uint64_t tsc_hz_ = 0;
    std::array<uint8_t, max_burst> port_key_{};  // gathered index of packet i's port policer key
    std::array<uint8_t, max_burst> rule_key_{};
};

}  // namespace dpdk_app
