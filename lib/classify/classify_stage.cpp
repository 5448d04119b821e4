#include "classify/classify_stage.hpp"

namespace dpdk_app {

namespace {

constexpr uint8_t family_none = 0;    // not IP: not the firewall's
constexpr uint8_t family_denied = 1;  // an exact-match drop entry
constexpr uint8_t family_v4 = 4;
constexpr uint8_t family_v6 = 6;
constexpr uint8_t no_acl = 0xff;  // not given to rte_acl

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

// The hits of a run of packets that one rule (or the default) decided,
// written to the lane's counters when the rule changes and at the end of
// the burst: a counter increment per packet would chain a load and a store
// through memory from one packet to the next.
struct run_tally {
    rule_hits* row = nullptr;
    uint64_t packets = 0;
    uint64_t bytes = 0;

    void add(rule_hits* r, uint32_t b) noexcept {
        if (r != row) {
            flush();
            row = r;
        }
        ++packets;
        bytes += b;
    }
    void flush() noexcept {
        if (packets != 0) {
            row->packets.add(packets);
            row->bytes.add(bytes);
        }
        packets = 0;
        bytes = 0;
    }
};

// The packets of one family: their connection state, and the keys of those
// the rules must classify (not passed by the exact table, not invalid and
// dropped, not decided by their state alone). Returns how many went to
// data (acl[k]: a packet's index there, or no_acl).
template <typename Key>
uint16_t prepare(rte_mbuf* const* pkts, uint16_t n, bool v6, const acl_table& t,
                 const rte_acl_ctx* acl, connection_table* ct, uint64_t now,
                 const uint8_t* passed, ct_probe* probes, uint8_t* states, uint8_t* at_acl,
                 Key* keys, const uint8_t** data) noexcept {
    const bool drop_invalid = t.conntrack().drop_invalid;
    uint16_t a = 0;
    for (uint16_t k = 0; k < n; ++k) {
        const uint8_t state = ct != nullptr ? ct->state(probes[k], now) : 0;
        states[k] = state;
        at_acl[k] = no_acl;
        if (acl == nullptr || passed[k] != 0 ||
            (ct != nullptr && ((state == ct_invalid && drop_invalid) ||
                               t.verdict_by_state(v6, state) != verdict_classify))) {
            continue;
        }
        acl_key_of(pkts[k], *meta_of(pkts[k]), keys[k]);
        keys[k].ct_state = state;
        data[a] = reinterpret_cast<const uint8_t*>(&keys[k]);
        at_acl[k] = static_cast<uint8_t>(a++);
    }
    return a;
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
    const exact_table* ex = ctx.table<exact_table>();
    if (ex != nullptr) {
        ex->lookup(b.pkts.data(), b.count, exact_.data(), lane_ < ex->lanes() ? lane_ : 0);
    }
    uint16_t n4 = 0;
    uint16_t n6 = 0;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const l3_kind l3 = meta_of(m)->l3;
        const bool ip = l3 == l3_kind::ipv4 || l3 == l3_kind::ipv6;
        if (!ip) {
            family_[i] = family_none;
            continue;
        }
        const exact_verdict e = ex != nullptr ? exact_[i] : exact_verdict::miss;
        if (e == exact_verdict::drop) {
            family_[i] = family_denied;
            continue;
        }
        const uint8_t passed = e == exact_verdict::accept ? 1 : 0;
        if (l3 == l3_kind::ipv4) {
            family_[i] = family_v4;
            passed4_[n4] = passed;
            at_[i] = static_cast<uint8_t>(n4);
            pkts4_[n4++] = m;
        } else {
            family_[i] = family_v6;
            passed6_[n6] = passed;
            at_[i] = static_cast<uint8_t>(n6);
            pkts6_[n6++] = m;
        }
    }
    connection_table* ct = t->tracks_connections() ? connections_.get() : nullptr;
    const uint64_t now = ct != nullptr ? ctx.now() : 0;
    if (ct != nullptr) {
        ct->begin_burst();
        ct->probe(pkts4_.data(), n4, false, probes4_.data());
        ct->probe(pkts6_.data(), n6, true, probes6_.data());
    }
    const rte_acl_ctx* ctx4 = t->ctx4();
    const rte_acl_ctx* ctx6 = t->ctx6();
    const uint16_t a4 = prepare(pkts4_.data(), n4, false, *t, ctx4, ct, now, passed4_.data(),
                                probes4_.data(), state4_.data(), acl4_.data(), keys4_.data(),
                                data4_.data());
    const uint16_t a6 = prepare(pkts6_.data(), n6, true, *t, ctx6, ct, now, passed6_.data(),
                                probes6_.data(), state6_.data(), acl6_.data(), keys6_.data(),
                                data6_.data());
    // Commits that change no connection's state leave every state read so
    // far valid (the common case: a burst of established packets).
    const uint32_t changes = ct != nullptr ? ct->changes() : 0;
    const uint32_t cats = t->categories();
    if (a4 > 0) {
        rte_acl_classify(ctx4, data4_.data(), results4_.data(), a4, cats);
    }
    if (a6 > 0) {
        rte_acl_classify(ctx6, data6_.data(), results6_.data(), a6, cats);
    }
    rule_hits* hits = t->hits(lane_ < t->lanes() ? lane_ : 0);
    rule_hits& default_hits = hits[t->rules().size()];
    const bool default_drops = t->default_action() == firewall_action::drop;
    const bool drop_invalid = t->conntrack().drop_invalid;
    const bool police_marks = t->polices();
    uint16_t kept = 0;
    bool rejected = false;
    run_tally tally;
    for (uint16_t i = 0; i < b.count; ++i) {
        rte_mbuf* m = b.pkts[i];
        const uint8_t family = family_[i];
        if (family == family_none) {
            b.pkts[kept++] = m;
            continue;
        }
        if (family == family_denied) {
            ctx.drop(m, drop_reason::exact_deny);
            continue;
        }
        const bool v6 = family == family_v6;
        const uint8_t k = at_[i];
        ct_probe* probe = nullptr;
        uint8_t state = 0;
        if (ct != nullptr) {
            // Earlier packets of this burst may have changed the connection
            // since its state was read (a SYN and its SYN-ACK in one burst).
            probe = v6 ? &probes6_[k] : &probes4_[k];
            state = ct->changes() == changes ? (v6 ? state6_[k] : state4_[k])
                                             : ct->state(*probe, now);
        }
        const bool passed = (v6 ? passed6_[k] : passed4_[k]) != 0;
        if (!passed) {
            if (state == ct_invalid && drop_invalid) {
                ctx.drop(m, drop_reason::conntrack_invalid);
                continue;
            }
            const rte_acl_ctx* acl = v6 ? ctx6 : ctx4;
            const uint8_t at = v6 ? acl6_[k] : acl4_[k];
            const uint32_t bytes = rte_pktmbuf_pkt_len(m);
            int32_t v = verdict_default;
            if (acl == nullptr) {
                v = verdict_default;
            } else if (ct != nullptr && t->verdict_by_state(v6, state) != verdict_classify) {
                v = t->verdict_by_state(v6, state);
            } else if (at != no_acl && state == (v6 ? state6_[k] : state4_[k])) {
                v = settle(v6 ? &results6_[at * cats] : &results4_[at * cats], cats, hits, bytes);
            } else {
                // Its state changed within the burst: classified again, alone.
                const uint8_t* data;
                if (v6) {
                    acl_key_of(m, *meta_of(m), keys6_[k]);
                    keys6_[k].ct_state = state;
                    data = reinterpret_cast<const uint8_t*>(&keys6_[k]);
                } else {
                    acl_key_of(m, *meta_of(m), keys4_[k]);
                    keys4_[k].ct_state = state;
                    data = reinterpret_cast<const uint8_t*>(&keys4_[k]);
                }
                rte_acl_classify(acl, &data, again_.data(), 1, cats);
                v = settle(again_.data(), cats, hits, bytes);
            }
            if (v >= 0) {
                tally.add(&hits[v], bytes);
                const firewall_action a = t->action(static_cast<std::size_t>(v));
                if (a == firewall_action::drop) {
                    ctx.drop(m, drop_reason::acl_deny);
                    continue;
                }
                if (a == firewall_action::reject) {
                    // The responder answers it (TCP RST, else ICMP
                    // administratively prohibited, within its rate limits)
                    // and counts it as rejected.
                    meta_of(m)->punt = punt_kind::prohibited;
                    rejected = true;
                    b.pkts[kept++] = m;
                    continue;
                }
                if (police_marks) {
                    // accept (count rules are not terminal): the police
                    // stage meters it with the rule's policer.
                    meta_of(m)->police_mark = t->police_mark(static_cast<std::size_t>(v));
                }
            } else {
                tally.add(&default_hits, bytes);
                if (default_drops) {
                    ctx.drop(m, drop_reason::acl_default);
                    continue;
                }
            }
        }
        if (probe != nullptr && !ct->commit(*probe, state, t->conntrack(), now, ctx)) {
            ctx.drop(m, drop_reason::conntrack_full);
            continue;
        }
        b.pkts[kept++] = m;
    }
    tally.flush();
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
