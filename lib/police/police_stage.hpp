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
#include <memory>
#include <string>
#include <vector>

#include <rte_hash.h>

#include "config/config.hpp"
#include "police/meter.hpp"
#include "police/police_table.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

// A per-source bucket's key: the family (4, 6; 0 for a frame that is not
// IP: those share one bucket) and the source address masked to the
// policer's prefix.
struct source_key {
    uint8_t family;
    uint8_t pad[3];
    uint8_t addr[16];
};
static_assert(sizeof(source_key) == 20);

source_key source_key_of(const packet_meta& pm, uint8_t prefix_v4, uint8_t prefix_v6) noexcept;

// One per-source policer's buckets on one lane.
class source_buckets {
  public:
    ~source_buckets();
    source_buckets(const source_buckets&) = delete;
    source_buckets& operator=(const source_buckets&) = delete;

    // For policer p (its name, max_keys and prefixes). nullptr with error
    // when the table cannot be made.
    static std::unique_ptr<source_buckets> create(const policer_config& p, unsigned lane,
                                                  std::string& error);

    // The bucket of key, made at now under profile on its first packet;
    // nullptr when the table is full (after one sweep for idle buckets per
    // burst: begin_burst). Counts made and evicted buckets in hits.
    meter_state* find(const source_key& key, const meter_profile& profile, uint64_t now,
                      uint64_t idle, policer_hits& hits) noexcept;
    // Looks at up to n slots from where the last call stopped and removes
    // the buckets idle for idle cycles. Returns how many.
    uint32_t expire(uint64_t now, uint64_t idle, uint32_t n, policer_hits& hits) noexcept;
    void begin_burst() noexcept { swept_ = false; }
    // Forgets every bucket (its policer became another one).
    void clear() noexcept;

    const std::string& name() const noexcept { return name_; }
    uint32_t size() const noexcept { return used_; }
    uint32_t capacity() const noexcept { return max_keys_; }

    // Slots a full table looks at for idle buckets (once a burst).
    static constexpr uint32_t full_sweep = 256;

  private:
    struct bucket {
        meter_state state;
        uint64_t last;  // TSC of its last packet
        uint64_t used;  // 1 while it holds a source
    };
    source_buckets() = default;

    std::string name_;
    rte_hash* hash_ = nullptr;
    bucket* buckets_ = nullptr;  // by rte_hash position
    uint32_t slots_ = 0;
    uint32_t max_keys_ = 0;
    uint32_t used_ = 0;
    uint32_t cursor_ = 0;
    bool swept_ = false;
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
    static constexpr uint32_t expire_per_burst = 8;

  private:
    explicit police_stage(unsigned lane);
    // The first burst of a new table: resets the slots whose policer is
    // new, finds the per-source tables by name.
    void adopt(const policer_table& t, uint64_t now) noexcept;
    // Meters m with e; false when it was dropped.
    bool police(const policer_entry& e, policer_hits& hits, rte_mbuf* m, packet_meta& pm,
                uint64_t now, stage_context& ctx) noexcept;

    unsigned lane_;
    uint64_t serial_ = 0;  // of the table adopted last
    std::unique_ptr<meter_state[]> states_;  // by slot
    std::unique_ptr<uint64_t[]> epochs_;     // by slot: the epoch its state belongs to
    std::unique_ptr<int32_t[]> keyed_;       // by slot: index into sources_, or -1
    std::vector<std::unique_ptr<source_buckets>> sources_;
    std::vector<uint32_t> source_marks_;  // of sources_ in the adopted table (slot + 1), 0: none
};

}  // namespace dpdk_app
