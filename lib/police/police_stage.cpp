#include "police/police_stage.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

namespace dpdk_app {

namespace {

std::atomic<uint64_t> hash_serial{0};

}  // namespace

source_buckets::~source_buckets() {
    rte_hash_free(hash_);
    rte_free(buckets_);
}

std::unique_ptr<source_buckets> source_buckets::create(const policer_config& p, unsigned lane,
                                                       std::string& error) {
    std::unique_ptr<source_buckets> t(new source_buckets());
    t->name_ = p.name;
    t->max_keys_ = p.max_keys;
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof(name), "pol_%u_%llu", lane,
                  static_cast<unsigned long long>(hash_serial.fetch_add(1)));
    rte_hash_parameters params{};
    params.name = name;
    // rte_hash takes at least one bucket's worth; the count of sources is
    // held to max_keys by find(), and the extendable table holds every one
    // of them whatever the collisions.
    params.entries = std::max<uint32_t>(p.max_keys, 8);
    params.key_len = sizeof(source_key);
    params.hash_func = rte_hash_crc;
    params.socket_id = static_cast<int>(rte_socket_id());
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    t->hash_ = rte_hash_create(&params);
    if (t->hash_ == nullptr) {
        error = "policer '" + p.name + "': cannot create the bucket table of " +
                std::to_string(p.max_keys) + " sources: " + rte_strerror(rte_errno);
        return nullptr;
    }
    t->slots_ = static_cast<uint32_t>(rte_hash_max_key_id(t->hash_)) + 1;
    t->buckets_ = static_cast<source_bucket*>(rte_zmalloc(
        "policer", std::size_t{t->slots_} * sizeof(source_bucket), RTE_CACHE_LINE_SIZE));
    if (t->buckets_ == nullptr) {
        error = "policer '" + p.name + "': cannot allocate " +
                std::to_string(std::size_t{t->slots_} * sizeof(source_bucket)) +
                " bytes of buckets";
        return nullptr;
    }
    t->set_top(p.top_sources);
    return t;
}

source_bucket* source_buckets::find(const source_key& key, const meter_profile& profile,
                                    uint64_t now, uint64_t idle, policer_hits& hits) noexcept {
    int32_t pos = rte_hash_lookup(hash_, &key);
    if (pos >= 0) {
        source_bucket& b = buckets_[pos];
        b.last = now;
        ++b.packets;
        return &b;
    }
    if (used_ >= max_keys_ && !swept_) {
        swept_ = true;
        expire(now, idle, full_sweep, hits);
    }
    if (used_ >= max_keys_) {
        return nullptr;
    }
    pos = rte_hash_add_key(hash_, &key);
    if (pos < 0) {
        return nullptr;
    }
    ++used_;
    hits.sources_created.inc();
    source_bucket& b = buckets_[pos];
    meter_reset(b.state, profile, now);
    b.last = now;
    b.packets = 1;
    b.bytes = 0;
    b.dropped = 0;
    return &b;
}

void source_buckets::lookup() noexcept {
    std::array<const void*, RTE_HASH_LOOKUP_BULK_MAX> ptrs;
    for (uint32_t first = 0; first < gathered_; first += RTE_HASH_LOOKUP_BULK_MAX) {
        const uint32_t n = std::min<uint32_t>(gathered_ - first, RTE_HASH_LOOKUP_BULK_MAX);
        for (uint32_t i = 0; i < n; ++i) {
            ptrs[i] = &keys_[first + i];
        }
        rte_hash_lookup_bulk(hash_, ptrs.data(), n, &positions_[first]);
        for (uint32_t i = 0; i < n; ++i) {
            if (positions_[first + i] >= 0) {
                rte_prefetch0(&buckets_[positions_[first + i]]);
            }
        }
    }
}

void source_buckets::offer(uint32_t pos, const source_bucket& b) noexcept {
    source_talker t;
    t.packets = b.packets;
    t.bytes = b.bytes;
    t.dropped = b.dropped;
    if (pass_count_ == top_n_ && !talks_more(t, pass_top_[pass_count_ - 1])) {
        return;
    }
    void* stored = nullptr;
    if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) != 0) {
        return;
    }
    std::memcpy(&t.key, stored, sizeof(t.key));
    uint32_t at = std::min(pass_count_, top_n_ - 1);
    pass_count_ = std::min(pass_count_ + 1, top_n_);
    while (at > 0 && talks_more(t, pass_top_[at - 1])) {
        pass_top_[at] = pass_top_[at - 1];
        --at;
    }
    pass_top_[at] = t;
}

uint32_t source_buckets::expire(uint64_t now, uint64_t idle, uint32_t n,
                                policer_hits& hits) noexcept {
    if (used_ == 0 && top_n_ == 0) {
        return 0;
    }
    uint32_t removed = 0;
    n = std::min(n, slots_);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t pos = cursor_;
        source_bucket& b = buckets_[pos];
        if (b.packets != 0 && now - b.last < idle) {
            if (top_n_ > 0) {
                offer(pos, b);
            }
        } else if (b.packets != 0) {
            void* stored = nullptr;
            if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) == 0) {
                source_key key;
                std::memcpy(&key, stored, sizeof(key));
                rte_hash_del_key(hash_, &key);
            }
            b.packets = 0;
            ++removed;
        }
        cursor_ = pos + 1 == slots_ ? 0 : pos + 1;
        if (cursor_ == 0 && top_n_ > 0) {
            std::copy_n(pass_top_.begin(), pass_count_, top_.begin());
            top_count_ = pass_count_;
            pass_count_ = 0;
            pass_done_ = true;
            published_ = true;
        }
    }
    if (removed > 0) {
        used_ -= std::min(used_, removed);
        hits.sources_evicted.add(removed);
        evicted_in_burst_ = true;
    }
    return removed;
}

uint32_t source_buckets::walk_length(uint64_t now, uint64_t period) noexcept {
    const uint64_t since = std::min(now - last_walk_, period);
    last_walk_ = now;
    if (period == 0) {
        return expire_per_burst;
    }
    const auto share = static_cast<uint64_t>(
        static_cast<double>(slots_) * static_cast<double>(since) / static_cast<double>(period));
    return static_cast<uint32_t>(std::clamp<uint64_t>(share, expire_per_burst, max_walk));
}

void source_buckets::clear() noexcept {
    rte_hash_reset(hash_);
    std::memset(static_cast<void*>(buckets_), 0, std::size_t{slots_} * sizeof(source_bucket));
    used_ = 0;
    cursor_ = 0;
    pass_count_ = 0;
    top_count_ = 0;
    pass_done_ = false;
    published_ = false;
}

void source_buckets::set_top(uint32_t n) noexcept {
    top_n_ = std::min(n, max_top_sources);
    pass_count_ = std::min(pass_count_, top_n_);
    top_count_ = std::min(top_count_, top_n_);
}

police_stage::police_stage(unsigned lane)
    : lane_(lane),
      states_(new meter_state[max_policers]()),
      epochs_(new uint64_t[max_policers]()),
      keyed_(new int32_t[max_policers]),
      tsc_hz_(rte_get_tsc_hz()) {
    std::fill(keyed_.get(), keyed_.get() + max_policers, -1);
}

std::unique_ptr<police_stage> police_stage::create(unsigned lane, const app_config& config,
                                                   std::string& error) {
    std::unique_ptr<police_stage> s(new police_stage(lane));
    for (const auto& p : config.policers) {
        if (p.scope != policer_scope::per_source) {
            continue;
        }
        auto t = source_buckets::create(p, lane, error);
        if (t == nullptr) {
            error = "lane " + std::to_string(lane) + ": " + error +
                    " (policer.max_keys; more memory: EAL -m / hugepages)";
            return nullptr;
        }
        s->sources_.push_back(std::move(t));
    }
    s->source_marks_.assign(s->sources_.size(), 0);
    return s;
}

const source_buckets* police_stage::sources(const std::string& policer) const noexcept {
    for (const auto& t : sources_) {
        if (t->name() == policer) {
            return t.get();
        }
    }
    return nullptr;
}

void police_stage::adopt(const policer_table& t, uint64_t now) noexcept {
    std::fill(source_marks_.begin(), source_marks_.end(), 0);
    keyed_any_ = false;
    const unsigned lane = lane_ < t.lanes() ? lane_ : 0;
    for (const policer_entry& e : t.policers()) {
        const bool fresh = epochs_[e.slot] != e.epoch;
        if (fresh) {
            meter_reset(states_[e.slot], e.profile, now);
            epochs_[e.slot] = e.epoch;
        }
        keyed_[e.slot] = -1;
        if (e.scope != policer_scope::per_source) {
            continue;
        }
        for (std::size_t k = 0; k < sources_.size(); ++k) {
            source_buckets& s = *sources_[k];
            if (s.name() != e.name) {
                continue;
            }
            keyed_[e.slot] = static_cast<int32_t>(k);
            source_marks_[k] = e.slot + 1;
            keyed_any_ = true;
            if (fresh) {
                s.clear();
            }
            s.set_top(e.top_sources);
            // The new table's board starts with what this lane last published.
            if (s.published() && e.board >= 0) {
                t.board(lane, e.board).publish(s.top(), s.top_count());
            }
            break;
        }
    }
    serial_ = t.serial();
}

void police_stage::gather(const policer_table& t, const burst& b) noexcept {
    for (uint16_t i = 0; i < b.count; ++i) {
        const packet_meta& pm = *meta_of(b.pkts[i]);
        if (const policer_entry* e = t.at_slot(t.port_mark(pm.in_port) - 1);
            e != nullptr && keyed_[e->slot] >= 0) {
            port_key_[i] = static_cast<uint8_t>(
                sources_[static_cast<std::size_t>(keyed_[e->slot])]->gather(pm, *e));
        }
        if (const policer_entry* e = t.at_slot(pm.police_mark - 1);
            e != nullptr && keyed_[e->slot] >= 0) {
            rule_key_[i] = static_cast<uint8_t>(
                sources_[static_cast<std::size_t>(keyed_[e->slot])]->gather(pm, *e));
        }
    }
    for (auto& s : sources_) {
        if (s->gathered() > 0) {
            s->lookup();
        }
    }
}

// Inlined in process(): a call per packet and policer costs more than the meter.
[[gnu::always_inline]] inline bool police_stage::police(const policer_entry& e, policer_hits& hits,
                                                        rte_mbuf* m, packet_meta& pm, uint64_t now,
                                                        stage_context& ctx, uint32_t key) noexcept {
    const uint32_t frame = rte_pktmbuf_pkt_len(m);
    const bool ip = pm.l3 == l3_kind::ipv4 || pm.l3 == l3_kind::ipv6;
    const uint32_t len =
        e.unit == traffic_unit::packets ? 1 : metered_length(e.length, frame, pm.l2_len);
    const meter_color pre =
        e.color_aware && ip ? dscp_color(dscp_of(m, pm)) : meter_color::green;
    meter_state* state = &states_[e.slot];
    source_bucket* source = nullptr;
    if (e.scope == policer_scope::per_source) {
        const int32_t k = keyed_[e.slot];
        source = k >= 0 ? sources_[static_cast<std::size_t>(k)]->take(key, e.profile, now,
                                                                      e.idle_cycles, hits)
                        : nullptr;
        if (source == nullptr) {
            hits.table_full.inc();
            ctx.drop(m, drop_reason::policer_table_full);
            return false;
        }
        state = &source->state;
        source->bytes += frame;
    }
    const meter_color color = meter_check(*state, e.profile, now, len, pre);
    const auto c = static_cast<std::size_t>(color);
    hits.packets[c].inc();
    hits.bytes[c].add(frame);
    const color_action& a = e.actions[c];
    if (a.what == color_action::verb::drop) {
        hits.dropped.inc();
        if (source != nullptr) {
            ++source->dropped;
        }
        ctx.drop(m, drop_reason::policer_drop);
        return false;
    }
    if (a.what == color_action::verb::remark && ip && set_dscp(m, pm, a.dscp)) {
        hits.remarked.inc();
    }
    return true;
}

template <meter_kind K>
uint16_t police_stage::police_port_burst(const policer_table& t, const policer_entry& pe, burst& b,
                                         uint64_t now, stage_context& ctx,
                                         policer_hits* hits) noexcept {
    using bucket = meter_bucket<K>;
    typename bucket::type state = bucket::of(states_[pe.slot]);
    uint64_t green = 0, yellow = 0, red = 0;
    uint64_t green_bytes = 0, yellow_bytes = 0, red_bytes = 0;
    uint64_t dropped = 0, remarked = 0;
    uint16_t kept = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        packet_meta& pm = *meta_of(m);
        const policer_entry* rule = t.at_slot(pm.police_mark - 1);
        if (pm.in_port != b.in_port || rule == &pe) {
            // Not this burst's port after all, or pe again as the rule's
            // policer: pe's bucket in memory for this packet.
            bucket::of(states_[pe.slot]) = state;
            const policer_entry* port = t.at_slot(t.port_mark(pm.in_port) - 1);
            const bool pass =
                (port == nullptr ||
                 police(*port, hits[port->slot], m, pm, now, ctx, port_key_[i])) &&
                (rule == nullptr || police(*rule, hits[rule->slot], m, pm, now, ctx, rule_key_[i]));
            state = bucket::of(states_[pe.slot]);
            if (pass) {
                b.pkts[kept++] = m;
            }
            continue;
        }
        const uint32_t frame = rte_pktmbuf_pkt_len(m);
        const bool ip = pm.l3 == l3_kind::ipv4 || pm.l3 == l3_kind::ipv6;
        const uint32_t len =
            pe.unit == traffic_unit::packets ? 1 : metered_length(pe.length, frame, pm.l2_len);
        const meter_color pre =
            pe.color_aware && ip ? dscp_color(dscp_of(m, pm)) : meter_color::green;
        const meter_color color = meter_check_as<K>(state, pe.profile, now, len, pre);
        const bool is_green = color == meter_color::green;
        const bool is_yellow = color == meter_color::yellow;
        green += is_green;
        yellow += is_yellow;
        red += !is_green && !is_yellow;
        green_bytes += is_green ? frame : 0;
        yellow_bytes += is_yellow ? frame : 0;
        red_bytes += !is_green && !is_yellow ? frame : 0;
        const color_action& a = pe.actions[static_cast<std::size_t>(color)];
        if (a.what == color_action::verb::drop) {
            ++dropped;
            ctx.drop(m, drop_reason::policer_drop);
            continue;
        }
        if (a.what == color_action::verb::remark && ip && set_dscp(m, pm, a.dscp)) {
            ++remarked;
        }
        if (rule != nullptr && !police(*rule, hits[rule->slot], m, pm, now, ctx, rule_key_[i])) {
            continue;
        }
        b.pkts[kept++] = m;
    }
    bucket::of(states_[pe.slot]) = state;
    policer_hits& h = hits[pe.slot];
    h.packets[0].add(green);
    h.packets[1].add(yellow);
    h.packets[2].add(red);
    h.bytes[0].add(green_bytes);
    h.bytes[1].add(yellow_bytes);
    h.bytes[2].add(red_bytes);
    h.dropped.add(dropped);
    h.remarked.add(remarked);
    return kept;
}

uint16_t police_stage::police_port(const policer_table& t, const policer_entry& pe, burst& b,
                                   uint64_t now, stage_context& ctx, policer_hits* hits) noexcept {
    switch (pe.profile.kind()) {
        case meter_kind::srtcm:
            return police_port_burst<meter_kind::srtcm>(t, pe, b, now, ctx, hits);
        case meter_kind::trtcm:
            return police_port_burst<meter_kind::trtcm>(t, pe, b, now, ctx, hits);
        case meter_kind::rfc4115:
            break;
    }
    return police_port_burst<meter_kind::rfc4115>(t, pe, b, now, ctx, hits);
}

uint16_t police_stage::police_each(const policer_table& t, burst& b, uint64_t now,
                                   stage_context& ctx, policer_hits* hits) noexcept {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        packet_meta& pm = *meta_of(m);
        if (const policer_entry* e = t.at_slot(t.port_mark(pm.in_port) - 1);
            e != nullptr && !police(*e, hits[e->slot], m, pm, now, ctx, port_key_[i])) {
            continue;
        }
        if (const policer_entry* e = t.at_slot(pm.police_mark - 1);
            e != nullptr && !police(*e, hits[e->slot], m, pm, now, ctx, rule_key_[i])) {
            continue;
        }
        b.pkts[kept++] = m;
    }
    return kept;
}

void police_stage::process(burst& b, stage_context& ctx) noexcept {
    const policer_table* t = ctx.table<policer_table>();
    if (t == nullptr || b.count == 0) {
        return;
    }
    const uint64_t now = ctx.now();
    if (t->serial() != serial_) {
        adopt(*t, now);
    }
    const unsigned lane = lane_ < t->lanes() ? lane_ : 0;
    policer_hits* hits = t->hits(lane);
    if (keyed_any_) {
        for (auto& s : sources_) {
            s->begin_burst();
        }
        gather(*t, b);
    }
    const policer_entry* port =
        b.in_port != no_port ? t->at_slot(t->port_mark(b.in_port) - 1) : nullptr;
    const uint16_t kept = port != nullptr && port->scope == policer_scope::aggregate
                              ? police_port(*t, *port, b, now, ctx, hits)
                              : police_each(*t, b, now, ctx, hits);
    if (kept != b.count) {
        b.count = kept;
        b.port_runs = {};
    }
    if (!keyed_any_) {
        return;
    }
    for (std::size_t k = 0; k < sources_.size(); ++k) {
        const policer_entry* e = t->at_slot(source_marks_[k] - 1);
        if (e == nullptr) {
            continue;
        }
        source_buckets& s = *sources_[k];
        s.expire(now, e->idle_cycles, s.walk_length(now, tsc_hz_), hits[e->slot]);
        if (s.take_pass() && e->board >= 0) {
            t->board(lane, e->board).publish(s.top(), s.top_count());
        }
    }
}

}  // namespace dpdk_app
