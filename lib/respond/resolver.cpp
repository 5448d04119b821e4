#include "respond/resolver.hpp"

#include <cstring>

#include <rte_ip.h>

#include "log/log.hpp"
#include "packet/meta.hpp"
#include "packet/rewrite.hpp"
#include "pipeline/generated.hpp"
#include "respond/build.hpp"

namespace dpdk_app {

resolver::resolver(slow_path& sp, const generation_store& generations, rte_mempool* pool,
                   const resolver_settings& settings, uint64_t tsc_hz)
    : sp_(sp),
      nt_(sp.neighbors()),
      generations_(generations),
      pool_(pool),
      settings_(settings),
      hz_(tsc_hz) {}

const fib* resolver::current_fib() const noexcept {
    const generation* g = generations_.current();
    return g != nullptr ? g->find<fib>() : nullptr;
}

resolver::~resolver() {
    shutdown();
}

resolver::entry_state& resolver::state_of(uint32_t slot) {
    if (slot >= states_.size()) {
        states_.resize(slot + 1);
    }
    return states_[slot];
}

void resolver::drop(rte_mbuf* m, drop_reason why) {
    segment_counters& c = sp_.counters();
    c.drops[static_cast<std::size_t>(why)].inc();
    if (is_generated(m)) {
        c.generated_dropped.inc();
    }
    rte_pktmbuf_free(m);
}

bool resolver::inject(rte_mbuf* m, unsigned lane) {
    if (rte_ring_sp_enqueue(sp_.inject(lane % sp_.lanes()), m) != 0) {
        drop(m, drop_reason::tx_full);
        return false;
    }
    return true;
}

void resolver::announce() {
    const fib* f = current_fib();
    if (f == nullptr) {
        return;
    }
    for (uint16_t id = 0; id < max_ports; ++id) {
        const fib_port& p = f->port(id);
        if (p.id != id) {
            continue;
        }
        for (uint32_t ip : p.addr4) {
            rte_mbuf* m = rte_pktmbuf_alloc(pool_);
            if (m == nullptr || !arp_request_build(m, p.mac, ip, ip, nullptr)) {
                rte_pktmbuf_free(m);
                continue;
            }
            m->port = id;
            mark_generated(m);
            sp_.counters().generated.inc();
            sp_.counters().events[static_cast<std::size_t>(event::gratuitous_arps)].inc();
            inject(m, 0);
        }
    }
}

void resolver::probe(uint32_t slot, entry_state& st, bool unicast) {
    const fib* f = current_fib();
    const neighbor_view v = neighbor_table::unpack(nt_.load(slot));
    const ip_address& target = nt_.address(slot);
    const fib_port& p = f->port(v.port);
    const bool have_source = target.v6 ? !p.addr6.empty() : !p.addr4.empty();
    st.probes++;
    st.next_probe += static_cast<uint64_t>(settings_.retry_ms) * hz_ / 1000
                     << std::min<uint32_t>(st.probes - 1, 6);
    if (!have_source || p.id != v.port) {
        return;  // nothing to ask from: the retries run out and the entry fails
    }
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
        return;  // the control pool is empty for now: the next retry tries again
    }
    const rte_ether_addr* dst = unicast ? &v.mac : nullptr;
    bool ok = false;
    if (target.v6) {
        ok = ndp_solicitation_build(m, p.mac, p.addr6.front().data(), target.bytes.data(), dst);
    } else {
        uint32_t tip;
        std::memcpy(&tip, target.bytes.data(), 4);
        ok = arp_request_build(m, p.mac, p.addr4.front(), tip, dst);
    }
    if (!ok) {
        rte_pktmbuf_free(m);
        return;
    }
    m->port = v.port;
    mark_generated(m);
    sp_.counters().generated.inc();
    sp_.counters()
        .events[static_cast<std::size_t>(target.v6 ? event::neighbor_solicitations
                                                   : event::arp_requests)]
        .inc();
    inject(m, 0);
}

void resolver::release(uint32_t slot, entry_state& st) {
    const fib* f = current_fib();
    const neighbor_view v = neighbor_table::unpack(nt_.load(slot));
    for (auto [m, lane] : st.held) {
        packet_meta& pm = *meta_of(m);
        pm.punt = punt_kind::none;
        forward_to_next_hop(m, pm, v.mac, f->port(m->port).mac, m->port);
        sp_.counters().held.add(static_cast<uint64_t>(-1));
        if (inject(m, lane)) {
            sp_.counters().events[static_cast<std::size_t>(event::held_released)].inc();
        }
    }
    st.held.clear();
}

void resolver::fail(uint32_t slot, entry_state& st, uint64_t now) {
    const neighbor_view v = neighbor_table::unpack(nt_.load(slot));
    log(log_component::neighbors, log_level::debug,
        "neighbor %s on port %u: no answer after %u probes, %zu held packets dropped",
        to_string(nt_.address(slot)).c_str(), unsigned{v.port}, st.probes, st.held.size());
    nt_.store(slot, v.mac, v.port, neighbor_state::failed);
    st.probing = false;
    st.failed_at = now;
    sp_.counters().events[static_cast<std::size_t>(event::neighbors_failed)].inc();
    for (auto [m, lane] : st.held) {
        sp_.counters().held.add(static_cast<uint64_t>(-1));
        drop(m, drop_reason::neighbor_unresolved);
    }
    st.held.clear();
}

void resolver::learn(const learn_message& msg, uint64_t now) {
    ip_address a;
    a.v6 = msg.v6 != 0;
    std::memcpy(a.bytes.data(), msg.address, a.v6 ? 16 : 4);
    int32_t slot = nt_.find(a);
    if (slot < 0) {
        if (msg.targeted == 0) {
            return;  // RFC 826: only refresh what is already known
        }
        slot = nt_.insert(a, msg.port);
        if (slot < 0) {
            sp_.counters().events[static_cast<std::size_t>(event::neighbor_table_full)].inc();
            return;
        }
    }
    const auto s = static_cast<uint32_t>(slot);
    const neighbor_view old = neighbor_table::unpack(nt_.load(s));
    if (old.state == neighbor_state::permanent) {
        return;
    }
    rte_ether_addr mac;
    std::memcpy(mac.addr_bytes, msg.mac, 6);
    const bool fresh = !old.usable();
    nt_.store(s, mac, old.state == neighbor_state::incomplete && fresh ? msg.port : old.port,
              neighbor_state::reachable);
    sp_.counters()
        .events[static_cast<std::size_t>(fresh ? event::neighbors_learned
                                               : event::neighbors_updated)]
        .inc();
    if (fresh || std::memcmp(old.mac.addr_bytes, mac.addr_bytes, 6) != 0) {
        char text[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(text, sizeof text, &mac);
        log(log_component::neighbors, log_level::debug, "neighbor %s is %s on port %u%s",
            to_string(a).c_str(), text, unsigned{msg.port}, fresh ? "" : " (changed)");
    }
    entry_state& st = state_of(s);
    st.confirmed = now;
    st.probing = false;
    st.probes = 0;
    release(s, st);
}

void resolver::hold(rte_mbuf* m, unsigned lane, uint64_t now) {
    const packet_meta& pm = *meta_of(m);
    int32_t slot = pm.punt_arg == no_neighbor_slot ? -1 : static_cast<int32_t>(pm.punt_arg);
    if (slot < 0) {
        ip_address a;
        a.v6 = pm.l3 == l3_kind::ipv6;
        std::memcpy(a.bytes.data(), pm.dst_addr, a.v6 ? 16 : 4);
        slot = nt_.insert(a, m->port);
        if (slot < 0) {
            sp_.counters().events[static_cast<std::size_t>(event::neighbor_table_full)].inc();
            drop(m, drop_reason::neighbor_unresolved);
            return;
        }
    }
    const auto s = static_cast<uint32_t>(slot);
    entry_state& st = state_of(s);
    const neighbor_view v = neighbor_table::unpack(nt_.load(s));
    if (v.usable()) {
        st.held.emplace_back(m, lane);  // resolved since the lane looked
        sp_.counters().held.inc();
        release(s, st);
        return;
    }
    if (v.state == neighbor_state::failed && !st.probing &&
        now - st.failed_at < static_cast<uint64_t>(settings_.failed_hold_ms) * hz_ / 1000) {
        drop(m, drop_reason::neighbor_unresolved);
        return;
    }
    if (st.held.size() >= settings_.hold_per_neighbor) {
        drop(m, drop_reason::neighbor_queue_full);
    } else {
        st.held.emplace_back(m, lane);
        sp_.counters().held.inc();
    }
    if (!st.probing) {
        nt_.store(s, v.mac, v.port, neighbor_state::incomplete);
        st.probing = true;
        st.probes = 0;
        st.next_probe = now;
        probe(s, st, false);
    }
}

void resolver::timers(uint64_t now) {
    const uint64_t timeout = static_cast<uint64_t>(settings_.timeout_s) * hz_;
    for (uint32_t s = 0; s < states_.size(); ++s) {
        entry_state& st = states_[s];
        const neighbor_view v = neighbor_table::unpack(nt_.load(s));
        if (st.probing) {
            if (now < st.next_probe) {
                continue;
            }
            if (st.probes >= settings_.retries) {
                fail(s, st, now);
            } else {
                probe(s, st, v.state == neighbor_state::stale);
            }
        } else if (v.state == neighbor_state::reachable && now - st.confirmed > timeout) {
            // Still used while it is re-checked (RFC 4861 7.3.3, stale -> probe).
            nt_.store(s, v.mac, v.port, neighbor_state::stale);
            sp_.counters().events[static_cast<std::size_t>(event::neighbors_expired)].inc();
            st.probing = true;
            st.probes = 0;
            st.next_probe = now;
            probe(s, st, true);
        }
    }
}

void resolver::poll(uint64_t now) {
    for (unsigned lane = 0; lane < sp_.lanes(); ++lane) {
        learn_message msgs[32];
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst_elem(sp_.learn(lane), msgs, sizeof(learn_message),
                                                   32, nullptr)) > 0) {
            for (unsigned i = 0; i < n; ++i) {
                learn(msgs[i], now);
            }
        }
        void* pkts[32];
        while ((n = rte_ring_sc_dequeue_burst(sp_.punt(lane), pkts, 32, nullptr)) > 0) {
            for (unsigned i = 0; i < n; ++i) {
                hold(static_cast<rte_mbuf*>(pkts[i]), lane, now);
            }
        }
    }
    if (now >= next_timers_) {
        next_timers_ = now + hz_ / 100;  // every 10 ms
        timers(now);
    }
}

void resolver::shutdown() {
    for (unsigned lane = 0; lane < sp_.lanes(); ++lane) {
        void* m = nullptr;
        while (rte_ring_sc_dequeue(sp_.punt(lane), &m) == 0) {
            drop(static_cast<rte_mbuf*>(m), drop_reason::neighbor_unresolved);
        }
        while (rte_ring_sc_dequeue(sp_.inject(lane), &m) == 0) {
            drop(static_cast<rte_mbuf*>(m), drop_reason::tx_full);
        }
    }
    for (auto& st : states_) {
        for (auto [m, lane] : st.held) {
            sp_.counters().held.add(static_cast<uint64_t>(-1));
            drop(m, drop_reason::neighbor_unresolved);
        }
        st.held.clear();
        st.probing = false;
    }
}

}  // namespace dpdk_app
