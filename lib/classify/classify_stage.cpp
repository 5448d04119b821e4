#include "classify/classify_stage.hpp"

namespace dpdk_app {

namespace {

constexpr int32_t verdict_default = -1;
constexpr uint8_t family_none = 0;
constexpr uint8_t family_v4 = 4;
constexpr uint8_t family_v6 = 6;

// Terminal rule of one packet's results and the count rules before it.
inline int32_t settle(const uint32_t* results, uint32_t categories, rule_hits* hits,
                      uint32_t bytes) noexcept {
    const uint32_t terminal = results[0];  // rule index + 1, or 0
    for (uint32_t c = 1; c < categories; ++c) {
        const uint32_t r = results[c];
        if (r != 0 && (terminal == 0 || r < terminal)) {
            hits[r - 1].packets.inc();
            hits[r - 1].bytes.add(bytes);
        }
    }
    return terminal == 0 ? verdict_default : static_cast<int32_t>(terminal - 1);
}

}  // namespace

std::unique_ptr<classify_stage> classify_stage::create(unsigned lane,
                                                       const firewall_config& firewall,
                                                       std::string& error) {
    if (!firewall.tracks_connections()) {
        return std::make_unique<classify_stage>(lane);
    }
    auto connections = connection_table::create(lane, firewall.conntrack.capacity, error);
    if (connections == nullptr) {
        error = "lane " + std::to_string(lane) + ": " + error +
                " (firewall.conntrack.capacity; more memory: EAL -m / hugepages)";
        return nullptr;
    }
    return std::make_unique<classify_stage>(lane, std::move(connections));
}

void classify_stage::process(burst& b, stage_context& ctx) noexcept {
    const acl_table* t = ctx.table<acl_table>();
    if (t == nullptr || b.count == 0) {
        return;
    }
    uint16_t n4 = 0;
    uint16_t n6 = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const l3_kind l3 = meta_of(m)->l3;
        if (l3 == l3_kind::ipv4) {
            family_[i] = family_v4;
            at_[i] = static_cast<uint8_t>(n4);
            pkts4_[n4++] = m;
        } else if (l3 == l3_kind::ipv6) {
            family_[i] = family_v6;
            at_[i] = static_cast<uint8_t>(n6);
            pkts6_[n6++] = m;
        } else {
            family_[i] = family_none;
        }
    }
    // Keys only for a family that has rules: the other gets the default.
    const rte_acl_ctx* ctx4 = t->ctx4();
    const rte_acl_ctx* ctx6 = t->ctx6();
    if (ctx4 != nullptr) {
        for (uint16_t k = 0; k < n4; ++k) {
            acl_key_of(pkts4_[k], *meta_of(pkts4_[k]), keys4_[k]);
            data4_[k] = reinterpret_cast<const uint8_t*>(&keys4_[k]);
        }
    }
    if (ctx6 != nullptr) {
        for (uint16_t k = 0; k < n6; ++k) {
            acl_key_of(pkts6_[k], *meta_of(pkts6_[k]), keys6_[k]);
            data6_[k] = reinterpret_cast<const uint8_t*>(&keys6_[k]);
        }
    }
    connection_table* ct = t->tracks_connections() ? connections_.get() : nullptr;
    const uint64_t now = ct != nullptr ? ctx.now() : 0;
    if (ct != nullptr) {
        ct->begin_burst();
        ct->probe(pkts4_.data(), n4, false, probes4_.data());
        ct->probe(pkts6_.data(), n6, true, probes6_.data());
        if (ctx4 != nullptr) {
            for (uint16_t k = 0; k < n4; ++k) {
                keys4_[k].ct_state = ct->state(probes4_[k], now);
            }
        }
        if (ctx6 != nullptr) {
            for (uint16_t k = 0; k < n6; ++k) {
                keys6_[k].ct_state = ct->state(probes6_[k], now);
            }
        }
    }
    const uint32_t cats = t->categories();
    if (ctx4 != nullptr && n4 > 0) {
        rte_acl_classify(ctx4, data4_.data(), results4_.data(), n4, cats);
    }
    if (ctx6 != nullptr && n6 > 0) {
        rte_acl_classify(ctx6, data6_.data(), results6_.data(), n6, cats);
    }
    rule_hits* hits = t->hits(lane_ < t->lanes() ? lane_ : 0);
    rule_hits& default_hits = hits[t->rules().size()];
    const bool default_drops = t->default_action() == firewall_action::drop;
    uint16_t kept = 0;
    bool rejected = false;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const uint8_t family = family_[i];
        if (family == family_none) {
            b.pkts[kept++] = m;  // not IP: not the firewall's
            continue;
        }
        const bool v6 = family == family_v6;
        const uint8_t k = at_[i];
        const rte_acl_ctx* acl = v6 ? ctx6 : ctx4;
        uint32_t* results = v6 ? &results6_[k * cats] : &results4_[k * cats];
        ct_probe* probe = nullptr;
        uint8_t state = 0;
        if (ct != nullptr) {
            // Earlier packets of this burst may have changed the connection
            // since the rules saw the packet: then it is classified again.
            probe = v6 ? &probes6_[k] : &probes4_[k];
            state = ct->state(*probe, now);
            if (state == ct_invalid && t->conntrack().drop_invalid) {
                ctx.drop(m, drop_reason::conntrack_invalid);
                continue;
            }
            uint8_t& keyed = v6 ? keys6_[k].ct_state : keys4_[k].ct_state;
            if (acl != nullptr && keyed != state) {
                keyed = state;
                const uint8_t* data = v6 ? data6_[k] : data4_[k];
                rte_acl_classify(acl, &data, results, 1, cats);
            }
        }
        const uint32_t bytes = rte_pktmbuf_pkt_len(m);
        const int32_t v = acl != nullptr ? settle(results, cats, hits, bytes) : verdict_default;
        if (v >= 0) {
            hits[v].packets.inc();
            hits[v].bytes.add(bytes);
            const firewall_action a = t->action(static_cast<std::size_t>(v));
            if (a == firewall_action::drop) {
                ctx.drop(m, drop_reason::acl_deny);
                continue;
            }
            if (a == firewall_action::reject) {
                // The responder answers it (TCP RST, else ICMP administratively
                // prohibited, within its rate limits) and counts it as rejected.
                meta_of(m)->punt = punt_kind::prohibited;
                rejected = true;
                b.pkts[kept++] = m;
                continue;
            }
        } else {
            default_hits.packets.inc();
            default_hits.bytes.add(bytes);
            if (default_drops) {
                ctx.drop(m, drop_reason::acl_default);
                continue;
            }
        }
        if (probe != nullptr && !ct->commit(*probe, state, t->conntrack(), now, ctx)) {
            ctx.drop(m, drop_reason::conntrack_full);
            continue;
        }
        b.pkts[kept++] = m;
    }
    if (kept != b.count) {
        b.count = kept;
        b.port_runs = {};
    }
    b.has_punts = b.has_punts || rejected;
    if (ct != nullptr) {
        ct->expire(now, expire_per_burst, ctx);
    }
}

}  // namespace dpdk_app
