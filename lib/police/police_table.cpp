#include "police/police_table.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace dpdk_app {

namespace {

std::atomic<uint64_t> table_serial{1};

// Each lane meters with its share: lanes buckets at rate / lanes fill at
// the configured rate in all (at least 1 unit per second and per burst).
meter_params lane_share(meter_params m, unsigned lanes) noexcept {
    for (uint64_t* v : {&m.cir, &m.cbs, &m.ebs, &m.pir, &m.pbs, &m.eir}) {
        if (*v != 0) {
            *v = std::max<uint64_t>(*v / lanes, 1);
        }
    }
    return m;
}

// The mask of a prefix of the first `prefix` bits of `bytes` bytes, as it
// lies in memory (network order), into out.
void prefix_mask(unsigned prefix, unsigned bytes, uint8_t* out) noexcept {
    for (unsigned i = 0; i < bytes; ++i) {
        const unsigned keep = std::min(8u, prefix > 8 * i ? prefix - 8 * i : 0u);
        out[i] = static_cast<uint8_t>(0xff00u >> keep);
    }
}

bool keeps_state(const policer_entry& before, const policer_config& now) noexcept {
    return before.kind == now.kind && before.unit == now.unit;
}

}  // namespace

std::unique_ptr<policer_table> policer_table::build(const app_config& config,
                                                    const std::vector<port_plan>& ports,
                                                    unsigned lanes, uint64_t tsc_hz,
                                                    uint64_t number,
                                                    const policer_table* previous,
                                                    std::vector<std::string>& errors) {
    std::unique_ptr<policer_table> t(new policer_table());
    t->lanes_ = std::max(lanes, 1u);
    t->serial_ = table_serial.fetch_add(1);
    const std::size_t n = config.policers.size();
    if (n > max_policers) {
        errors.push_back("policers: at most " + std::to_string(max_policers));
        return nullptr;
    }
    // Slots of the policers that keep their state, then the free ones.
    std::vector<bool> taken(max_policers, false);
    std::vector<const policer_entry*> kept(n, nullptr);
    for (std::size_t i = 0; i < n && previous != nullptr; ++i) {
        const auto it = previous->slot_of_.find(config.policers[i].name);
        if (it != previous->slot_of_.end()) {
            const policer_entry* before = previous->at_slot(it->second);
            if (keeps_state(*before, config.policers[i])) {
                kept[i] = before;
                taken[before->slot] = true;
            }
        }
    }
    uint32_t next_free = 0;
    t->policers_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const policer_config& c = config.policers[i];
        std::string why;
        auto profile = meter_profile::build(lane_share(meter_params_of(c), t->lanes_), tsc_hz, why);
        if (!profile) {
            errors.push_back("policer '" + c.name + "': " + why);
            continue;
        }
        uint32_t slot = 0;
        uint64_t epoch = number;
        if (kept[i] != nullptr) {
            slot = kept[i]->slot;
            epoch = kept[i]->epoch;
        } else {
            while (taken[next_free]) {
                ++next_free;
            }
            slot = next_free;
            taken[slot] = true;
        }
        t->policers_.push_back(policer_entry{
            .name = c.name,
            .kind = c.kind,
            .unit = c.unit,
            .scope = c.scope,
            .profile = *profile,
            .length = c.length,
            .color_aware = c.color_aware,
            .actions = {c.green, c.yellow, c.red},
            .slot = slot,
            .epoch = epoch,
            .prefix_v4 = c.prefix_v4,
            .prefix_v6 = c.prefix_v6,
            .mask_v4 = 0,
            .mask_v6 = {},
            .max_keys = c.max_keys,
            .idle_cycles = uint64_t{c.idle_timeout} * tsc_hz,
            .top_sources = c.scope == policer_scope::per_source ? c.top_sources : 0,
            .board = c.scope == policer_scope::per_source
                         ? static_cast<int32_t>(t->boards_per_lane_++)
                         : -1,
        });
    }
    if (!errors.empty()) {
        return nullptr;
    }
    for (auto& p : t->policers_) {
        uint8_t m4[4];
        uint8_t m6[16];
        prefix_mask(p.prefix_v4, 4, m4);
        prefix_mask(p.prefix_v6, 16, m6);
        std::memcpy(&p.mask_v4, m4, sizeof(m4));
        std::memcpy(p.mask_v6.data(), m6, sizeof(m6));
    }
    uint32_t slots = 0;
    for (const auto& p : t->policers_) {
        slots = std::max(slots, p.slot + 1);
    }
    t->by_slot_.assign(slots, nullptr);
    for (const auto& p : t->policers_) {
        t->by_slot_[p.slot] = &p;
        t->slot_of_.emplace(p.name, p.slot);
    }
    for (const auto& plan : ports) {
        const auto it = std::find_if(config.ports.begin(), config.ports.end(),
                                     [&](const port_config& p) { return p.name == plan.name; });
        if (it != config.ports.end() && it->police && plan.port_id < max_ports) {
            t->port_marks_[plan.port_id] = t->mark_of(*it->police);
        }
    }
    // Rows of whole cache lines (policer_hits is two).
    t->slots_ = std::max<std::size_t>(slots, 1);
    t->hits_.reset(new (std::align_val_t{RTE_CACHE_LINE_SIZE}) policer_hits[t->lanes_ * t->slots_]());
    if (t->boards_per_lane_ > 0) {
        t->boards_.reset(new talker_board[t->lanes_ * t->boards_per_lane_]);
    }
    return t;
}

uint32_t policer_table::mark_of(std::string_view name) const {
    const auto it = slot_of_.find(std::string(name));
    return it != slot_of_.end() ? it->second + 1 : 0;
}

namespace {

void add_lanes(const policer_table& t, uint32_t slot, policer_report& r) {
    for (unsigned lane = 0; lane < t.lanes(); ++lane) {
        const policer_hits& h = t.hits(lane)[slot];
        for (std::size_t c = 0; c < 3; ++c) {
            r.packets[c] += h.packets[c].get();
            r.bytes[c] += h.bytes[c].get();
        }
        r.dropped += h.dropped.get();
        r.remarked += h.remarked.get();
        r.table_full += h.table_full.get();
        r.sources_created += h.sources_created.get();
        r.sources_evicted += h.sources_evicted.get();
    }
}

}  // namespace

std::string source_text(const source_key& key, uint8_t prefix_v4, uint8_t prefix_v6) {
    const source_family f = family_of(key);
    if (f == source_family::not_ip) {
        return "non-IP";
    }
    const bool v4 = f == source_family::ipv4;
    char text[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? key.addr + 12 : key.addr, text, sizeof(text));
    const unsigned prefix = v4 ? prefix_v4 : prefix_v6;
    std::string out = text;
    if (prefix < (v4 ? 32u : 128u)) {
        out += "/" + std::to_string(prefix);
    }
    return out;
}

std::optional<std::vector<policer_report::talker>> top_talkers(const policer_table& t,
                                                               const policer_entry& e) {
    if (e.board < 0) {
        return std::nullopt;
    }
    std::vector<source_talker> all;
    std::vector<source_talker> lane;
    bool published = false;
    for (unsigned l = 0; l < t.lanes(); ++l) {
        if (!t.board(l, e.board).read(lane)) {
            continue;
        }
        published = true;
        for (const source_talker& s : lane) {
            const auto same = std::find_if(all.begin(), all.end(), [&](const source_talker& a) {
                return std::memcmp(&a.key, &s.key, sizeof(source_key)) == 0;
            });
            if (same == all.end()) {
                all.push_back(s);
            } else {
                same->packets += s.packets;
                same->bytes += s.bytes;
                same->dropped += s.dropped;
            }
        }
    }
    if (!published) {
        return std::nullopt;
    }
    std::sort(all.begin(), all.end(), talks_more);
    all.resize(std::min<std::size_t>(all.size(), e.top_sources));
    std::vector<policer_report::talker> out;
    out.reserve(all.size());
    for (const source_talker& s : all) {
        out.push_back(
            {source_text(s.key, e.prefix_v4, e.prefix_v6), s.packets, s.bytes, s.dropped});
    }
    return out;
}

void policer_totals::retire(const policer_table& old, const policer_table* next) {
    std::unordered_map<std::string, policer_report> carried;
    std::unordered_map<std::string, std::vector<policer_report::talker>> carried_top;
    if (next == nullptr) {
        carried_ = std::move(carried);
        carried_top_ = std::move(carried_top);
        return;
    }
    for (const auto& p : old.policers()) {
        if (next->mark_of(p.name) == 0) {
            continue;
        }
        // The lanes keep the buckets of a policer that keeps its epoch.
        const policer_entry* after = next->at_slot(next->mark_of(p.name) - 1);
        if (p.board >= 0 && after != nullptr && after->epoch == p.epoch) {
            if (auto top = top_talkers(old, p)) {
                carried_top.emplace(p.name, std::move(*top));
            } else if (const auto it = carried_top_.find(p.name); it != carried_top_.end()) {
                carried_top.emplace(p.name, it->second);
            }
        }
        policer_report r;
        if (const auto before = carried_.find(p.name); before != carried_.end()) {
            r = before->second;
        }
        add_lanes(old, p.slot, r);
        carried.emplace(p.name, std::move(r));
    }
    carried_ = std::move(carried);
    carried_top_ = std::move(carried_top);
}

std::vector<policer_report> policer_totals::report(const policer_table& current) const {
    std::vector<policer_report> out;
    out.reserve(current.policers().size());
    for (const auto& p : current.policers()) {
        policer_report r;
        if (const auto it = carried_.find(p.name); it != carried_.end()) {
            r = it->second;
        }
        r.name = p.name;
        r.kind = p.kind;
        r.scope = p.scope;
        add_lanes(current, p.slot, r);
        if (auto top = top_talkers(current, p)) {
            r.top_sources = std::move(*top);
        } else if (const auto it = carried_top_.find(p.name); it != carried_top_.end()) {
            r.top_sources = it->second;
        }
        if (p.board >= 0) {
            r.top_sources.resize(std::min<std::size_t>(r.top_sources.size(), p.top_sources));
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string_view name_of(policer_kind k) noexcept {
    switch (k) {
        case policer_kind::srtcm:
            return "srtcm";
        case policer_kind::trtcm:
            return "trtcm";
        case policer_kind::rfc4115:
            return "rfc4115";
        case policer_kind::shaper:
            break;
    }
    return "shaper";
}

std::string_view name_of(policer_scope s) noexcept {
    switch (s) {
        case policer_scope::aggregate:
            return "aggregate";
        case policer_scope::per_source:
            return "per-source";
        case policer_scope::per_flow:
            break;
    }
    return "per-flow";
}

bool policers_attached(const app_config& config) noexcept {
    const bool ports = std::any_of(config.ports.begin(), config.ports.end(),
                                   [](const port_config& p) { return p.police.has_value(); });
    const bool rules = config.firewall &&
                       std::any_of(config.firewall->rules.begin(), config.firewall->rules.end(),
                                   [](const firewall_rule& r) { return r.police.has_value(); });
    return ports || rules;
}

void check_policers(const app_config& config, std::vector<config_error>& errors) {
    for (const auto& p : config.policers) {
        if (p.kind == policer_kind::shaper) {
            errors.push_back({config.source, p.where,
                              "policer '" + p.name +
                                  "': shaper policers are not applied yet (this release applies "
                                  "the srtcm, trtcm and rfc4115 meters); remove it or make it a "
                                  "meter"});
        } else if (p.scope == policer_scope::per_flow) {
            errors.push_back({config.source, p.where,
                              "policer '" + p.name +
                                  "': scope = \"per-flow\" is not applied yet; use "
                                  "\"aggregate\" or \"per-source\""});
        }
    }
    if (config.policers.size() > max_policers) {
        errors.push_back({config.source, config.policers[max_policers].where,
                          "policer: at most " + std::to_string(max_policers) + " [[policer]]s"});
    }
    auto known = [&](const std::string& name) {
        return std::any_of(config.policers.begin(), config.policers.end(),
                           [&](const policer_config& p) { return p.name == name; });
    };
    auto unknown = [](std::string_view key, const std::string& name) {
        return std::string(key) + ": no [[policer]] is named '" + name + "'";
    };
    for (const auto& port : config.ports) {
        if (port.police && !known(*port.police)) {
            errors.push_back(
                {config.source, port.police_where, unknown("port '" + port.name + "': police", *port.police)});
        }
    }
    if (config.firewall) {
        for (const auto& r : config.firewall->rules) {
            if (r.police && !known(*r.police)) {
                errors.push_back({r.source.empty() ? config.source : r.source, r.police_where,
                                  unknown("firewall.rule.police", *r.police)});
            }
        }
    }
    if (policers_attached(config) && !config.validate) {
        errors.push_back({config.source, config.policers.empty() ? source_position{} : config.policers[0].where,
                          "policer: an attached policer needs dataplane.validate = true (the "
                          "police stage reads what the parse stage found)"});
    }
}

}  // namespace dpdk_app
