#include "classify/acl.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <set>

#include <rte_byteorder.h>
#include <rte_malloc.h>

namespace dpdk_app {

namespace {

// Field order of both rule layouts (rte_acl: field 0 is one byte; the rest
// in groups of four bytes, one input index per group).
enum field4 : uint8_t { f4_proto, f4_src, f4_dst, f4_sport, f4_dport, f4_misc, f4_in_port, f4_vlan, f4_count };
enum field6 : uint8_t {
    f6_proto,
    f6_src,  // four fields of 32 bits
    f6_dst = f6_src + 4,
    f6_sport = f6_dst + 4,
    f6_dport,
    f6_misc,
    f6_in_port,
    f6_vlan,
    f6_count
};

RTE_ACL_RULE_DEF(acl_rule4, f4_count);
RTE_ACL_RULE_DEF(acl_rule6, f6_count);

// misc: tcp_flags, dscp, frag and the connection state, read as one 32-bit
// bitmask.
constexpr uint32_t misc_of(uint8_t tcp_flags, uint8_t dscp, uint8_t frag, uint8_t state) noexcept {
    return static_cast<uint32_t>(tcp_flags) << 24 | static_cast<uint32_t>(dscp) << 16 |
           static_cast<uint32_t>(frag) << 8 | state;
}

rte_acl_config config4() {
    rte_acl_config c{};
    c.num_fields = f4_count;
    c.defs[f4_proto] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, f4_proto, 0, offsetof(acl_key4, proto)};
    c.defs[f4_src] = {RTE_ACL_FIELD_TYPE_MASK, 4, f4_src, 1, offsetof(acl_key4, src)};
    c.defs[f4_dst] = {RTE_ACL_FIELD_TYPE_MASK, 4, f4_dst, 2, offsetof(acl_key4, dst)};
    c.defs[f4_sport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f4_sport, 3, offsetof(acl_key4, sport)};
    c.defs[f4_dport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f4_dport, 3, offsetof(acl_key4, dport)};
    c.defs[f4_misc] = {RTE_ACL_FIELD_TYPE_BITMASK, 4, f4_misc, 4, offsetof(acl_key4, tcp_flags)};
    c.defs[f4_in_port] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f4_in_port, 5, offsetof(acl_key4, in_port)};
    c.defs[f4_vlan] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f4_vlan, 5, offsetof(acl_key4, vlan)};
    return c;
}

rte_acl_config config6() {
    rte_acl_config c{};
    c.num_fields = f6_count;
    c.defs[f6_proto] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, f6_proto, 0, offsetof(acl_key6, proto)};
    for (uint8_t i = 0; i < 4; ++i) {
        c.defs[f6_src + i] = {RTE_ACL_FIELD_TYPE_MASK, 4, static_cast<uint8_t>(f6_src + i),
                              static_cast<uint8_t>(1 + i),
                              static_cast<uint32_t>(offsetof(acl_key6, src) + 4 * i)};
        c.defs[f6_dst + i] = {RTE_ACL_FIELD_TYPE_MASK, 4, static_cast<uint8_t>(f6_dst + i),
                              static_cast<uint8_t>(5 + i),
                              static_cast<uint32_t>(offsetof(acl_key6, dst) + 4 * i)};
    }
    c.defs[f6_sport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f6_sport, 9, offsetof(acl_key6, sport)};
    c.defs[f6_dport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f6_dport, 9, offsetof(acl_key6, dport)};
    c.defs[f6_misc] = {RTE_ACL_FIELD_TYPE_BITMASK, 4, f6_misc, 10, offsetof(acl_key6, tcp_flags)};
    c.defs[f6_in_port] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f6_in_port, 11, offsetof(acl_key6, in_port)};
    c.defs[f6_vlan] = {RTE_ACL_FIELD_TYPE_RANGE, 2, f6_vlan, 11, offsetof(acl_key6, vlan)};
    return c;
}

void any_range(rte_acl_field& f) {
    f.value.u16 = 0;
    f.mask_range.u16 = 0xffff;
}

// The fields every family shares, at their indices in the rule.
struct common_fields {
    uint8_t proto;
    uint8_t sport;
    uint8_t dport;
    uint8_t misc;
    uint8_t in_port;
    uint8_t vlan;
};

// state: one ct_* bit the rule matches (a rule of several states is laid
// out once per state), or 0: any.
void fill_common(const firewall_rule& r, uint16_t in_port, uint8_t state, rte_acl_field* f,
                 const common_fields& at) {
    if (r.proto) {
        f[at.proto].value.u8 = *r.proto;
        f[at.proto].mask_range.u8 = 0xff;
    }
    any_range(f[at.sport]);
    any_range(f[at.dport]);
    if (r.sport) {
        f[at.sport].value.u16 = r.sport->lo;
        f[at.sport].mask_range.u16 = r.sport->hi;
    }
    if (r.dport) {
        f[at.dport].value.u16 = r.dport->lo;
        f[at.dport].mask_range.u16 = r.dport->hi;
    }
    if (r.icmp_type) {  // ICMP keys carry the type in sport and the code in dport
        f[at.sport].value.u16 = *r.icmp_type;
        f[at.sport].mask_range.u16 = *r.icmp_type;
    }
    if (r.icmp_code) {
        f[at.dport].value.u16 = *r.icmp_code;
        f[at.dport].mask_range.u16 = *r.icmp_code;
    }
    uint8_t frag = 0;
    uint8_t frag_mask = 0;
    if (r.fragment) {
        frag_mask = acl_frag_fragment | acl_frag_non_first;
        frag = *r.fragment == fragment_match::none    ? 0
               : *r.fragment == fragment_match::first ? acl_frag_fragment
                                                      : acl_frag_fragment | acl_frag_non_first;
    } else if (r.sport || r.dport || r.icmp_type || r.icmp_code || r.tcp_flags_mask != 0) {
        frag_mask = acl_frag_non_first;  // L4 fields: never a non-first fragment
    }
    f[at.misc].value.u32 = misc_of(r.tcp_flags, r.dscp.value_or(0), frag, state);
    f[at.misc].mask_range.u32 = misc_of(r.tcp_flags_mask, r.dscp ? 0x3f : 0, frag_mask, state);
    any_range(f[at.in_port]);
    if (r.in_port) {
        f[at.in_port].value.u16 = in_port;
        f[at.in_port].mask_range.u16 = in_port;
    }
    any_range(f[at.vlan]);
    if (r.vlan) {
        f[at.vlan].value.u16 = *r.vlan;
        f[at.vlan].mask_range.u16 = *r.vlan;
    }
}

uint32_t word_of(const std::array<uint8_t, 16>& b, unsigned i) {
    return static_cast<uint32_t>(b[4 * i]) << 24 | static_cast<uint32_t>(b[4 * i + 1]) << 16 |
           static_cast<uint32_t>(b[4 * i + 2]) << 8 | b[4 * i + 3];
}

// A 128-bit prefix as four 32-bit MASK fields.
void fill_prefix6(const std::optional<ip_prefix>& p, rte_acl_field* f) {
    for (unsigned i = 0; i < 4; ++i) {
        if (!p) {
            f[i].value.u32 = 0;
            f[i].mask_range.u32 = 0;
            continue;
        }
        const int bits = std::clamp(static_cast<int>(p->length) - 32 * static_cast<int>(i), 0, 32);
        f[i].value.u32 = word_of(p->address.bytes, i);
        f[i].mask_range.u32 = static_cast<uint32_t>(bits);
    }
}

std::size_t heap_allocated() {
    std::size_t total = 0;
    for (unsigned i = 0; i < rte_socket_count(); ++i) {
        rte_malloc_socket_stats s{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) {
            total += s.heap_allocsz_bytes;
        }
    }
    return total;
}

std::atomic<uint64_t> context_serial{0};

// Creates, fills and builds one family's context. rules: the rte_acl rules
// (already laid out, rule_size bytes each).
rte_acl_ctx* build_context(const char* family, const std::vector<uint8_t>& rules,
                           std::size_t rule_size, const rte_acl_config& cfg, uint32_t categories,
                           std::vector<std::string>& errors) {
    const std::size_t n = rules.size() / rule_size;
    if (n == 0) {
        return nullptr;
    }
    char name[RTE_ACL_NAMESIZE];
    std::snprintf(name, sizeof(name), "fw%s_%llu", family,
                  static_cast<unsigned long long>(context_serial.fetch_add(1)));
    rte_acl_param param{};
    param.name = name;
    param.socket_id = SOCKET_ID_ANY;
    param.rule_size = static_cast<uint32_t>(rule_size);
    param.max_rule_num = static_cast<uint32_t>(n);
    rte_acl_ctx* ctx = rte_acl_create(&param);
    if (ctx == nullptr) {
        errors.push_back(std::string("firewall: cannot create the IPv") + family +
                         " rule context (out of memory?)");
        return nullptr;
    }
    int rc = rte_acl_add_rules(ctx, reinterpret_cast<const rte_acl_rule*>(rules.data()),
                               static_cast<uint32_t>(n));
    if (rc == 0) {
        rte_acl_config c = cfg;
        c.num_categories = categories;
        rc = rte_acl_build(ctx, &c);
    }
    if (rc != 0) {
        errors.push_back(std::string("firewall: building the IPv") + family + " rules failed: " +
                         std::strerror(-rc));
        rte_acl_free(ctx);
        return nullptr;
    }
    return ctx;
}

}  // namespace

namespace {

// The fields after the addresses, the same in both keys.
template <class Key>
inline void fill_key_tail(const packet_meta& pm, uint8_t icmp_proto, uint8_t dscp,
                          Key& k) noexcept {
    k.proto = pm.l4_proto;
    const bool l4 = (pm.flags & meta_l4_valid) != 0;
    const bool icmp = pm.l4_proto == icmp_proto;
    k.sport = rte_cpu_to_be_16(!l4 ? 0 : icmp ? pm.icmp_type : pm.src_port);
    k.dport = rte_cpu_to_be_16(!l4 ? 0 : icmp ? pm.icmp_code : pm.dst_port);
    k.tcp_flags = pm.l4_proto == 6 ? pm.tcp_flags : 0;
    k.dscp = dscp;
    k.frag = static_cast<uint8_t>(
        ((pm.flags & meta_fragment) != 0 ? acl_frag_fragment : 0) |
        ((pm.flags & meta_nonfirst_fragment) != 0 ? acl_frag_non_first : 0));
    k.ct_state = 0;
    k.in_port = rte_cpu_to_be_16(pm.in_port);
    k.vlan = rte_cpu_to_be_16(pm.vlan_count != 0 ? pm.vlan_outer : 0);
}

}  // namespace

void acl_key_of(const rte_mbuf* m, const packet_meta& pm, acl_key4& k) noexcept {
    uint8_t buf[2];
    const auto* l3 = static_cast<const uint8_t*>(rte_pktmbuf_read(m, pm.l2_len, 2, buf));
    std::memcpy(&k.src, pm.src_addr, 4);
    std::memcpy(&k.dst, pm.dst_addr, 4);
    fill_key_tail(pm, 1, l3 != nullptr ? static_cast<uint8_t>(l3[1] >> 2) : 0, k);
}

void acl_key_of(const rte_mbuf* m, const packet_meta& pm, acl_key6& k) noexcept {
    uint8_t buf[2];
    const auto* l3 = static_cast<const uint8_t*>(rte_pktmbuf_read(m, pm.l2_len, 2, buf));
    std::memcpy(k.src, pm.src_addr, 16);
    std::memcpy(k.dst, pm.dst_addr, 16);
    // Traffic class: the low 4 bits of byte 0 and the high 4 of byte 1.
    fill_key_tail(pm, 58, l3 != nullptr ? static_cast<uint8_t>((l3[0] & 0x0f) << 2 | l3[1] >> 6) : 0,
                  k);
}

namespace {

// Whether a rule matches every packet of the states and family it names.
bool matches_on_state_only(const firewall_rule& r) {
    return !r.in_port && !r.src && !r.dst && !r.proto && !r.sport && !r.dport && !r.icmp_type &&
           !r.icmp_code && r.tcp_flags_mask == 0 && !r.dscp && !r.vlan && !r.fragment;
}

std::array<std::array<int32_t, 8>, 2> verdicts_by_state(const firewall_config& config) {
    std::array<std::array<int32_t, 8>, 2> out;
    for (unsigned family = 0; family < 2; ++family) {
        out[family].fill(verdict_classify);
        for (unsigned bit = 0; (1u << bit) <= ct_untracked; ++bit) {
            int32_t v = verdict_default;  // no rule can match
            for (std::size_t i = 0; i < config.rules.size(); ++i) {
                const firewall_rule& r = config.rules[i];
                if ((r.state != 0 && (r.state & (1u << bit)) == 0) ||
                    (r.v6 && *r.v6 != (family == 1))) {
                    continue;
                }
                // The first rule that can match: it decides alone when it
                // ends the search whatever the packet's other fields.
                v = r.action != firewall_action::count && matches_on_state_only(r)
                        ? static_cast<int32_t>(i)
                        : verdict_classify;
                break;
            }
            out[family][bit] = v;
        }
    }
    return out;
}

}  // namespace

acl_table::~acl_table() {
    rte_acl_free(ctx4_);
    rte_acl_free(ctx6_);
}

std::unique_ptr<acl_table> acl_table::build(const firewall_config& config,
                                            const std::vector<port_plan>& ports, unsigned lanes,
                                            std::vector<std::string>& errors,
                                            std::vector<uint32_t> police_marks) {
    std::unique_ptr<acl_table> t(new acl_table());
    if (std::any_of(police_marks.begin(), police_marks.end(), [](uint32_t m) { return m != 0; })) {
        police_marks.resize(config.rules.size());
        t->police_marks_ = std::move(police_marks);
    }
    t->default_ = config.default_action;
    t->lanes_ = std::max(lanes, 1u);
    t->tracks_ = config.tracks_connections();
    t->conntrack_ = conntrack_policy::from(config.conntrack, rte_get_tsc_hz());
    const std::size_t before = heap_allocated();
    std::vector<uint8_t> rules4;
    std::vector<uint8_t> rules6;
    unsigned count_rules = 0;
    const std::size_t n = config.rules.size();
    for (std::size_t i = 0; i < n; ++i) {
        const firewall_rule& r = config.rules[i];
        t->rules_.push_back({r.id, r.comment, r.action});
        t->actions_.push_back(r.action);
        uint16_t in_port = 0;
        if (r.in_port) {
            const auto it = std::find_if(ports.begin(), ports.end(),
                                         [&](const port_plan& p) { return p.name == *r.in_port; });
            if (it == ports.end()) {
                errors.push_back("firewall: rule " + std::to_string(i + 1) + ": in_port '" +
                                 *r.in_port + "' is not a port in use");
                continue;
            }
            in_port = it->port_id;
        }
        rte_acl_rule_data data{};
        if (r.action == firewall_action::count) {
            if (count_rules == max_count_rules) {
                errors.push_back("firewall: at most " + std::to_string(max_count_rules) +
                                 " count rules");
                continue;
            }
            data.category_mask = 1u << (1 + count_rules++);
        } else {
            data.category_mask = 1;
        }
        // Earlier rules win: priority falls with the position.
        data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - i);
        data.userdata = static_cast<uint32_t>(i + 1);
        // A rule of several states: one rte_acl rule per state, same
        // priority and result.
        for (uint8_t bit = 1; bit != 0 && bit <= ct_untracked; bit = static_cast<uint8_t>(bit << 1)) {
            if (r.state != 0 && (r.state & bit) == 0) {
                continue;
            }
            const uint8_t state = r.state != 0 ? bit : 0;
            if (!r.v6 || !*r.v6) {
                acl_rule4 a{};
                a.data = data;
                fill_common(r, in_port, state, a.field,
                            {f4_proto, f4_sport, f4_dport, f4_misc, f4_in_port, f4_vlan});
                if (r.src) {
                    a.field[f4_src].value.u32 = r.src->address.v4_host();
                    a.field[f4_src].mask_range.u32 = r.src->length;
                }
                if (r.dst) {
                    a.field[f4_dst].value.u32 = r.dst->address.v4_host();
                    a.field[f4_dst].mask_range.u32 = r.dst->length;
                }
                const auto* p = reinterpret_cast<const uint8_t*>(&a);
                rules4.insert(rules4.end(), p, p + sizeof(a));
            }
            if (!r.v6 || *r.v6) {
                acl_rule6 a{};
                a.data = data;
                fill_common(r, in_port, state, a.field,
                            {f6_proto, f6_sport, f6_dport, f6_misc, f6_in_port, f6_vlan});
                fill_prefix6(r.src, &a.field[f6_src]);
                fill_prefix6(r.dst, &a.field[f6_dst]);
                const auto* p = reinterpret_cast<const uint8_t*>(&a);
                rules6.insert(rules6.end(), p, p + sizeof(a));
            }
            if (r.state == 0) {
                break;
            }
        }
    }
    if (!errors.empty()) {
        return nullptr;
    }
    // rte_acl returns RTE_ACL_RESULTS_MULTIPLIER results at a time: 1 or a
    // multiple of it.
    t->categories_ = count_rules == 0 ? 1
                                      : RTE_ALIGN_CEIL(1 + count_rules, RTE_ACL_RESULTS_MULTIPLIER);
    t->ctx4_ = build_context("4", rules4, sizeof(acl_rule4), config4(), t->categories_, errors);
    t->ctx6_ = build_context("6", rules6, sizeof(acl_rule6), config6(), t->categories_, errors);
    if (!errors.empty()) {
        return nullptr;
    }
    t->by_state_ = verdicts_by_state(config);
    const std::size_t n_hits = t->lanes_ * t->row();
    t->hits_.reset(new (std::align_val_t{RTE_CACHE_LINE_SIZE}) rule_hits[n_hits]());
    t->memory_ = heap_allocated() - std::min(before, heap_allocated());
    return t;
}

namespace {

void sum_hits(const acl_table& t, std::size_t rule, uint64_t& packets, uint64_t& bytes) {
    for (unsigned lane = 0; lane < t.lanes(); ++lane) {
        packets += t.hits(lane)[rule].packets.get();
        bytes += t.hits(lane)[rule].bytes.get();
    }
}

}  // namespace

void firewall_totals::retire(const acl_table& old, const acl_table* next) {
    // Only ids the next rule set still has carry over (hash lookups: rule
    // sets of 100,000 rules reload in linear time).
    std::unordered_map<std::string, totals> carried;
    if (next != nullptr) {
        for (const auto& r : next->rules()) {
            if (!r.id.empty()) {
                carried.emplace(r.id, totals{});
            }
        }
    }
    const auto& rules = old.rules();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto it = carried.find(rules[i].id);
        if (rules[i].id.empty() || it == carried.end()) {
            continue;
        }
        if (const auto before = carried_.find(rules[i].id); before != carried_.end()) {
            it->second = before->second;
        }
        sum_hits(old, i, it->second.packets, it->second.bytes);
    }
    carried_ = std::move(carried);
    sum_hits(old, rules.size(), default_.packets, default_.bytes);
}

std::vector<rule_report> firewall_totals::report(const acl_table& current) const {
    std::vector<rule_report> out;
    const auto& rules = current.rules();
    out.reserve(rules.size() + 1);
    for (std::size_t i = 0; i <= rules.size(); ++i) {
        rule_report r;
        if (i < rules.size()) {
            r.id = rules[i].id;
            r.comment = rules[i].comment;
            r.action = rules[i].action;
            if (const auto it = r.id.empty() ? carried_.end() : carried_.find(r.id);
                it != carried_.end()) {
                r.packets = it->second.packets;
                r.bytes = it->second.bytes;
            }
        } else {
            r.is_default = true;
            r.action = current.default_action();
            r.packets = default_.packets;
            r.bytes = default_.bytes;
        }
        sum_hits(current, i, r.packets, r.bytes);
        out.push_back(std::move(r));
    }
    return out;
}

void firewall_totals::retire(const exact_table& old, const exact_table* next) {
    if (next == nullptr) {
        exact_ = {};
        return;
    }
    const exact_table::totals h = old.hits();
    exact_.accept_packets += h.accept_packets;
    exact_.accept_bytes += h.accept_bytes;
    exact_.drop_packets += h.drop_packets;
    exact_.drop_bytes += h.drop_bytes;
}

exact_table::totals firewall_totals::report(const exact_table& current) const {
    exact_table::totals t = current.hits();
    t.accept_packets += exact_.accept_packets;
    t.accept_bytes += exact_.accept_bytes;
    t.drop_packets += exact_.drop_packets;
    t.drop_bytes += exact_.drop_bytes;
    return t;
}

void check_firewall(const app_config& config, std::vector<config_error>& errors) {
    if (!config.firewall) {
        return;
    }
    if (!config.validate) {
        errors.push_back({config.source, config.firewall->where,
                          "firewall: needs dataplane.validate = true (the classifier reads what "
                          "the parse stage found)"});
    }
    unsigned count_rules = 0;
    for (const auto& r : config.firewall->rules) {
        if (r.in_port && !config.ports.empty() &&
            std::none_of(config.ports.begin(), config.ports.end(),
                         [&](const port_config& p) { return p.name == *r.in_port; })) {
            errors.push_back({r.source.empty() ? config.source : r.source, r.where,
                              "firewall.rule: in_port '" + *r.in_port +
                                  "' is not one of the [[port]] tables"});
        }
        if (r.state != 0 && config.firewall->conntrack.enabled == false) {
            errors.push_back({r.source.empty() ? config.source : r.source, r.where,
                              "firewall.rule: matches a connection state, but "
                              "firewall.conntrack.enabled = false"});
        }
        if (r.action == firewall_action::count && ++count_rules == max_count_rules + 1) {
            errors.push_back({r.source.empty() ? config.source : r.source, r.where,
                              "firewall.rule: at most " + std::to_string(max_count_rules) +
                                  " rules may have action = \"count\""});
        }
    }
}

}  // namespace dpdk_app
