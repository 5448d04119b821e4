#include "police/police_stage.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

namespace dpdk_app {

namespace {

std::atomic<uint64_t> hash_serial{0};

void mask_prefix(uint8_t* addr, unsigned bytes, unsigned prefix) noexcept {
    for (unsigned i = 0; i < bytes; ++i) {
        const unsigned keep = std::min(8u, prefix > 8 * i ? prefix - 8 * i : 0u);
        addr[i] = static_cast<uint8_t>(addr[i] & static_cast<uint8_t>(0xff00u >> keep));
    }
}

}  // namespace

source_key source_key_of(const packet_meta& pm, uint8_t prefix_v4, uint8_t prefix_v6) noexcept {
    source_key k{};
    if (pm.l3 == l3_kind::ipv4) {
        k.family = 4;
        std::memcpy(k.addr, pm.src_addr, 4);
        mask_prefix(k.addr, 4, prefix_v4);
    } else if (pm.l3 == l3_kind::ipv6) {
        k.family = 6;
        std::memcpy(k.addr, pm.src_addr, 16);
        mask_prefix(k.addr, 16, prefix_v6);
    }
    return k;
}

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
    t->buckets_ = static_cast<bucket*>(
        rte_zmalloc("policer", std::size_t{t->slots_} * sizeof(bucket), RTE_CACHE_LINE_SIZE));
    if (t->buckets_ == nullptr) {
        error = "policer '" + p.name + "': cannot allocate " +
                std::to_string(std::size_t{t->slots_} * sizeof(bucket)) + " bytes of buckets";
        return nullptr;
    }
    return t;
}

meter_state* source_buckets::find(const source_key& key, const meter_profile& profile,
                                  uint64_t now, uint64_t idle, policer_hits& hits) noexcept {
    int32_t pos = rte_hash_lookup(hash_, &key);
    if (pos >= 0) {
        bucket& b = buckets_[pos];
        b.last = now;
        return &b.state;
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
    bucket& b = buckets_[pos];
    meter_reset(b.state, profile, now);
    b.last = now;
    b.used = 1;
    return &b.state;
}

uint32_t source_buckets::expire(uint64_t now, uint64_t idle, uint32_t n,
                                policer_hits& hits) noexcept {
    if (used_ == 0) {
        return 0;
    }
    uint32_t removed = 0;
    n = std::min(n, slots_);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t pos = cursor_;
        cursor_ = pos + 1 == slots_ ? 0 : pos + 1;
        bucket& b = buckets_[pos];
        if (b.used == 0 || now - b.last < idle) {
            continue;
        }
        void* stored = nullptr;
        if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) == 0) {
            source_key key;
            std::memcpy(&key, stored, sizeof(key));
            rte_hash_del_key(hash_, &key);
        }
        b.used = 0;
        ++removed;
    }
    if (removed > 0) {
        used_ -= std::min(used_, removed);
        hits.sources_evicted.add(removed);
    }
    return removed;
}

void source_buckets::clear() noexcept {
    rte_hash_reset(hash_);
    std::memset(static_cast<void*>(buckets_), 0, std::size_t{slots_} * sizeof(bucket));
    used_ = 0;
    cursor_ = 0;
}

police_stage::police_stage(unsigned lane)
    : lane_(lane),
      states_(new meter_state[max_policers]()),
      epochs_(new uint64_t[max_policers]()),
      keyed_(new int32_t[max_policers]) {
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
            if (sources_[k]->name() == e.name) {
                keyed_[e.slot] = static_cast<int32_t>(k);
                source_marks_[k] = e.slot + 1;
                if (fresh) {
                    sources_[k]->clear();
                }
                break;
            }
        }
    }
    serial_ = t.serial();
}

bool police_stage::police(const policer_entry& e, policer_hits& hits, rte_mbuf* m,
                          packet_meta& pm, uint64_t now, stage_context& ctx) noexcept {
    const uint32_t frame = rte_pktmbuf_pkt_len(m);
    const bool ip = pm.l3 == l3_kind::ipv4 || pm.l3 == l3_kind::ipv6;
    const uint32_t len =
        e.unit == traffic_unit::packets ? 1 : metered_length(e.length, frame, pm.l2_len);
    const meter_color pre =
        e.color_aware && ip ? dscp_color(dscp_of(m, pm)) : meter_color::green;
    meter_state* state = &states_[e.slot];
    if (e.scope == policer_scope::per_source) {
        const int32_t k = keyed_[e.slot];
        state = k >= 0 ? sources_[static_cast<std::size_t>(k)]->find(
                             source_key_of(pm, e.prefix_v4, e.prefix_v6), e.profile, now,
                             e.idle_cycles, hits)
                       : nullptr;
        if (state == nullptr) {
            hits.table_full.inc();
            ctx.drop(m, drop_reason::policer_table_full);
            return false;
        }
    }
    const meter_color color = meter_check(*state, e.profile, now, len, pre);
    const auto c = static_cast<std::size_t>(color);
    hits.packets[c].inc();
    hits.bytes[c].add(frame);
    const color_action& a = e.actions[c];
    if (a.what == color_action::verb::drop) {
        hits.dropped.inc();
        ctx.drop(m, drop_reason::policer_drop);
        return false;
    }
    if (a.what == color_action::verb::remark && ip && set_dscp(m, pm, a.dscp)) {
        hits.remarked.inc();
    }
    return true;
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
    for (auto& s : sources_) {
        s->begin_burst();
    }
    policer_hits* hits = t->hits(lane_ < t->lanes() ? lane_ : 0);
    uint16_t kept = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        packet_meta& pm = *meta_of(m);
        if (const policer_entry* e = t->at_slot(t->port_mark(pm.in_port) - 1);
            e != nullptr && !police(*e, hits[e->slot], m, pm, now, ctx)) {
            continue;
        }
        if (const policer_entry* e = t->at_slot(pm.police_mark - 1);
            e != nullptr && !police(*e, hits[e->slot], m, pm, now, ctx)) {
            continue;
        }
        b.pkts[kept++] = m;
    }
    if (kept != b.count) {
        b.count = kept;
        b.port_runs = {};
    }
    for (std::size_t k = 0; k < sources_.size(); ++k) {
        if (const policer_entry* e = t->at_slot(source_marks_[k] - 1); e != nullptr) {
            sources_[k]->expire(now, e->idle_cycles, expire_per_burst, hits[e->slot]);
        }
    }
}

}  // namespace dpdk_app
