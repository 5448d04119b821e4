#include "classify/classify_stage.hpp"

namespace dpdk_app {

namespace {

constexpr int32_t verdict_default = -1;
constexpr int32_t verdict_not_ip = -2;

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

void classify_stage::process(burst& b, stage_context& ctx) noexcept {
    const acl_table* t = ctx.table<acl_table>();
    if (t == nullptr || b.count == 0) {
        return;
    }
    uint16_t n4 = 0;
    uint16_t n6 = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const packet_meta& pm = *meta_of(m);
        // No rule of the family: the default, without building a key.
        if (pm.l3 == l3_kind::ipv4 && t->ctx4() != nullptr) {
            acl_key_of(m, pm, keys4_[n4]);
            data4_[n4] = reinterpret_cast<const uint8_t*>(&keys4_[n4]);
            index4_[n4++] = i;
            verdict_[i] = verdict_default;
        } else if (pm.l3 == l3_kind::ipv6 && t->ctx6() != nullptr) {
            acl_key_of(m, pm, keys6_[n6]);
            data6_[n6] = reinterpret_cast<const uint8_t*>(&keys6_[n6]);
            index6_[n6++] = i;
            verdict_[i] = verdict_default;
        } else {
            verdict_[i] = pm.l3 == l3_kind::ipv4 || pm.l3 == l3_kind::ipv6 ? verdict_default
                                                                             : verdict_not_ip;
        }
    }
    const uint32_t cats = t->categories();
    rule_hits* hits = t->hits(lane_ < t->lanes() ? lane_ : 0);
    if (n4 > 0) {
        rte_acl_classify(t->ctx4(), data4_.data(), results4_.data(), n4, cats);
        for (uint16_t k = 0; k < n4; ++k) {
            verdict_[index4_[k]] = settle(&results4_[k * cats], cats, hits,
                                          rte_pktmbuf_pkt_len(b.pkts[index4_[k]]));
        }
    }
    if (n6 > 0) {
        rte_acl_classify(t->ctx6(), data6_.data(), results6_.data(), n6, cats);
        for (uint16_t k = 0; k < n6; ++k) {
            verdict_[index6_[k]] = settle(&results6_[k * cats], cats, hits,
                                          rte_pktmbuf_pkt_len(b.pkts[index6_[k]]));
        }
    }
    rule_hits& default_hits = hits[t->rules().size()];
    const bool default_drops = t->default_action() == firewall_action::drop;
    uint16_t kept = 0;
    bool rejected = false;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const int32_t v = verdict_[i];
        bool drop = false;
        if (v >= 0) {
            hits[v].packets.inc();
            hits[v].bytes.add(rte_pktmbuf_pkt_len(m));
            const firewall_action a = t->action(static_cast<std::size_t>(v));
            if (a == firewall_action::drop) {
                ctx.drop(m, drop_reason::acl_deny);
                drop = true;
            } else if (a == firewall_action::reject) {
                // The responder answers it (TCP RST, else ICMP administratively
                // prohibited, within its rate limits) and counts it as rejected.
                meta_of(m)->punt = punt_kind::prohibited;
                rejected = true;
            }
        } else if (v == verdict_default) {
            default_hits.packets.inc();
            default_hits.bytes.add(rte_pktmbuf_pkt_len(m));
            if (default_drops) {
                ctx.drop(m, drop_reason::acl_default);
                drop = true;
            }
        }
        if (!drop) {
            b.pkts[kept++] = m;
        }
    }
    if (kept != b.count) {
        b.count = kept;
        b.port_runs = {};
    }
    b.has_punts = b.has_punts || rejected;
}

}  // namespace dpdk_app
