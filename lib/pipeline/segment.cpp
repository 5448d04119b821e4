#include "pipeline/segment.hpp"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

namespace dpdk_app {

segment::segment(const wiring& w, std::vector<std::unique_ptr<stage>> stages)
    : w_(w), stages_(std::move(stages)) {
    if (!w_.rx_ports.empty()) {
        names_.emplace_back("rx");
    }
    for (const auto& s : stages_) {
        names_.emplace_back(s->name());
    }
    if (w_.tx) {
        names_.emplace_back("tx");
    }
    for (uint16_t port = 0; port < max_ports; ++port) {
        tx_ok_[port] = w_.tx_ports.empty() && rte_eth_dev_is_valid_port(port) != 0;
    }
    for (uint16_t port : w_.tx_ports) {
        if (port < max_ports) {
            tx_ok_[port] = true;
        }
    }
}

void segment::charge(std::size_t slot, uint16_t in) noexcept {
    const uint64_t now = rte_rdtsc();
    stage_counters& c = counters_.stages[slot];
    c.cycles.add(now - tsc_);
    c.sampled_packets.add(in);
    tsc_ = now;
}

std::size_t segment::next_rx_index() noexcept {
    const std::size_t n = w_.rx_ports.size();
    std::size_t i = next_rx_;
    if (n > 1 && w_.idle_rx_backoff > 1) {
        // Terminates: each pass over a backed-off port counts a visit, and
        // one visit in idle_rx_backoff polls it.
        while (rx_empty_[i] >= idle_rx_polls &&
               (rx_skipped_[i]++ & (w_.idle_rx_backoff - 1)) != 0) {
            i = i + 1 == n ? 0 : i + 1;
        }
    }
    next_rx_ = i + 1 == n ? 0 : i + 1;
    return i;
}

uint16_t segment::receive(burst& b) noexcept {
    const std::size_t index = next_rx_index();
    const uint16_t port = w_.rx_ports[index];
    timed_ = w_.timing_sample != 0 && (burst_seq_ & (w_.timing_sample - 1)) == 0;
    const uint64_t t0 = timed_ ? rte_rdtsc() : 0;
    b.count = rte_eth_rx_burst(port, static_cast<uint16_t>(w_.lane), b.pkts.data(), w_.burst_size);
    b.in_port = port;
    counters_.port_rx_polls[port].inc();
    if (b.count == 0) {
        rx_empty_[index] = static_cast<uint16_t>(rx_empty_[index] + (rx_empty_[index] < UINT16_MAX));
    } else {
        rx_empty_[index] = 0;
        rx_skipped_[index] = 0;
    }
    if (b.count > 0) {
        ++burst_seq_;
        counters_.rx.add(b.count);
        counters_.port_rx[port].add(b.count);
        account(0, b.count, b.count);
        if (timed_) {
            tsc_ = rte_rdtsc();  // the first stage is charged from here
            counters_.stages[0].cycles.add(tsc_ - t0);
            counters_.stages[0].sampled_packets.add(b.count);
        }
    }
    return b.count;
}

namespace {

// Orders a burst with per-packet egress by port into out, keeping the order
// of each port's packets (and so of every flow), so that TX makes one call
// per port instead of one per run: a router alternating between two ports
// would otherwise send bursts of one. generated (bit k: packet k is
// generated) is permuted along. A burst with a port id past max_ports (TX
// drops those) is left as it is. Returns the number of ports the burst goes
// to, in out's order, each one's packet count in sizes; 0 when it left the
// burst alone (one port, or a bad port id): then out is not written.
unsigned group_by_port(const burst& b, uint64_t& generated,
                       std::array<uint16_t, max_ports>& sizes,
                       std::array<rte_mbuf*, max_burst>& out) noexcept {
    // The usual router sends to one or two ports: find out in one pass with
    // the ports in registers, bit k of first set when packet k goes to the
    // first packet's port.
    const uint16_t p0 = b.pkts[0]->port;
    uint16_t p1 = no_port;
    uint64_t first = 1;
    bool more = false;  // a third port
    bool bad = p0 >= max_ports;
    for (uint16_t k = 1; k < b.count; ++k) {
        const uint16_t p = b.pkts[k]->port;
        const bool other = p != p0;
        first |= static_cast<uint64_t>(!other) << k;
        p1 = other && p1 == no_port ? p : p1;
        more = more || (other && p != p1);
        bad = bad || p >= max_ports;
    }
    const uint64_t all = b.count == 64 ? ~uint64_t{0} : (uint64_t{1} << b.count) - 1;
    if (bad || first == all) {
        return 0;
    }
    uint64_t sorted_generated = 0;
    if (!more) {
        // Two ports: a stable partition with both write positions in registers.
        const auto n0 = static_cast<uint16_t>(__builtin_popcountll(first));
        sizes[0] = n0;
        sizes[1] = static_cast<uint16_t>(b.count - n0);
        uint16_t at0 = 0;
        uint16_t at1 = n0;
        for (uint16_t k = 0; k < b.count; ++k) {
            const uint64_t in_first = first >> k & 1;
            const uint16_t at = in_first != 0 ? at0 : at1;
            at0 = static_cast<uint16_t>(at0 + in_first);
            at1 = static_cast<uint16_t>(at1 + (in_first ^ 1));
            out[at] = b.pkts[k];
            if (generated != 0) {
                sorted_generated |= (generated >> k & 1) << at;
            }
        }
        generated = sorted_generated;
        return 2;
    }
    constexpr uint8_t none = 0xff;
    std::array<uint8_t, max_ports> group_of_port;
    group_of_port.fill(none);
    std::array<uint8_t, max_burst> group_of;
    unsigned groups = 0;
    for (uint16_t k = 0; k < b.count; ++k) {
        const uint16_t p = b.pkts[k]->port;
        uint8_t g = group_of_port[p];
        if (g == none) {
            g = static_cast<uint8_t>(groups++);
            group_of_port[p] = g;
        }
        group_of[k] = g;
    }
    std::array<uint16_t, max_ports> start{};  // per group: its size, then its next slot
    for (uint16_t k = 0; k < b.count; ++k) {
        ++start[group_of[k]];
    }
    uint16_t offset = 0;
    for (unsigned g = 0; g < groups; ++g) {
        const uint16_t n = start[g];
        sizes[g] = n;
        start[g] = offset;
        offset = static_cast<uint16_t>(offset + n);
    }
    for (uint16_t k = 0; k < b.count; ++k) {
        const uint16_t at = start[group_of[k]]++;
        out[at] = b.pkts[k];
        sorted_generated |= (generated >> k & 1) << at;
    }
    generated = sorted_generated;
    return groups;
}

}  // namespace

uint16_t segment::send_run(rte_mbuf** pkts, uint16_t n, uint16_t port,
                           stage_context& ctx) noexcept {
    if (port >= max_ports || !tx_ok_[port]) {
        for (uint16_t k = 0; k < n; ++k) {
            ctx.drop(pkts[k], drop_reason::no_egress_port);
        }
        return 0;
    }
    const uint16_t queue = static_cast<uint16_t>(w_.lane);
    uint16_t sent = rte_eth_tx_burst(port, queue, pkts, n);
    for (uint32_t tries = 0; sent < n && tries < w_.tx_retries; ++tries) {
        rte_pause();
        sent += rte_eth_tx_burst(port, queue, pkts + sent, n - sent);
    }
    for (uint16_t k = sent; k < n; ++k) {
        ctx.drop(pkts[k], drop_reason::tx_full);
    }
    counters_.port_tx[port].add(sent);
    return sent;
}

void segment::transmit(burst& b, stage_context& ctx) noexcept {
    uint16_t sent_total = 0;
    uint16_t generated_sent = 0;
    rte_mbuf** pkts = b.pkts.data();
    const bool runs_declared = b.out_port == no_port && b.port_runs[0] != 0 &&
                               b.port_runs[0] + b.port_runs[1] == b.count;
    if (runs_declared && !b.has_generated && !b.all_generated) {
        // A router's forwarded burst: grouped by a stage already, nothing
        // generated in it.
        sent_total = send_run(pkts, b.port_runs[0], pkts[0]->port, ctx);
        if (b.port_runs[1] != 0) {
            sent_total += send_run(pkts + b.port_runs[0], b.port_runs[1],
                                   pkts[b.port_runs[0]]->port, ctx);
        }
    } else {
        // Which packets are generated, read before TX owns (and may free) them.
        uint64_t generated = 0;
        if (b.all_generated) {
            generated = b.count == 64 ? ~uint64_t{0} : (uint64_t{1} << b.count) - 1;
        } else if (b.has_generated) {
            for (uint16_t k = 0; k < b.count; ++k) {
                generated |= static_cast<uint64_t>(is_generated(b.pkts[k])) << k;
            }
        }
        std::array<uint16_t, max_ports> group_size;
        std::array<rte_mbuf*, max_burst> grouped;  // not zeroed: written before read
        unsigned groups = 0;
        if (runs_declared) {
            groups = b.port_runs[1] != 0 ? 2 : 1;  // grouped by a stage already
            group_size[0] = b.port_runs[0];
            group_size[1] = b.port_runs[1];
        } else if (b.out_port == no_port && b.count > 1) {
            groups = group_by_port(b, generated, group_size, grouped);
            if (groups != 0) {
                pkts = grouped.data();
            }
        }
        unsigned group = 0;
        uint16_t i = 0;
        while (i < b.count) {
            const uint16_t port = b.out_port != no_port ? b.out_port : pkts[i]->port;
            uint16_t j = i + 1;
            if (b.out_port != no_port) {
                j = b.count;
            } else if (groups != 0) {
                j = static_cast<uint16_t>(i + group_size[group++]);
            }
            while (j < b.count && pkts[j]->port == port) {
                ++j;
            }
            const uint16_t sent = send_run(&pkts[i], j - i, port, ctx);
            sent_total += sent;
            if (generated != 0 && sent > 0) {
                const uint64_t run_mask = (sent == 64 ? ~uint64_t{0} : (uint64_t{1} << sent) - 1)
                                          << i;
                generated_sent += static_cast<uint16_t>(__builtin_popcountll(generated & run_mask));
            }
            i = j;
        }
    }
    counters_.forwarded.add(sent_total - generated_sent);
    if (generated_sent > 0) {
        counters_.generated_sent.add(generated_sent);
    }
    account(names_.size() - 1, b.count, sent_total);
    if (timed_) {
        charge(names_.size() - 1, b.count);
    }
    b.count = 0;
}

void segment::transmit_injected(stage_context& ctx) noexcept {
    burst b;
    b.count = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
        w_.inject_ring, reinterpret_cast<void**>(b.pkts.data()), w_.burst_size, nullptr));
    if (b.count == 0) {
        return;
    }
    b.has_generated = true;  // ARP / NS requests, but also released held packets: not all
    const bool timed = timed_;
    timed_ = false;  // not a stage's work: kept out of the sampled cycles
    transmit(b, ctx);
    timed_ = timed;
}

void segment::enqueue(burst& b, stage_context& ctx) noexcept {
    b.materialize_egress();  // a ring carries mbufs only
    const uint16_t sent = static_cast<uint16_t>(rte_ring_sp_enqueue_burst(
        w_.out_ring, reinterpret_cast<void* const*>(b.pkts.data()), b.count, nullptr));
    if (sent < b.count) {
        if (w_.ring_full == ring_full_policy::drop) {
            for (uint16_t k = sent; k < b.count; ++k) {
                ctx.drop(b.pkts[k], drop_reason::ring_full);
            }
        } else {
            pending_ = b;
            pending_from_ = sent;
            counters_.held.set(b.count - sent);
        }
    }
    b.count = 0;
}

bool segment::flush_pending() noexcept {
    const uint16_t left = pending_.count - pending_from_;
    const uint16_t sent = static_cast<uint16_t>(rte_ring_sp_enqueue_burst(
        w_.out_ring, reinterpret_cast<void* const*>(&pending_.pkts[pending_from_]), left, nullptr));
    pending_from_ += sent;
    if (pending_from_ == pending_.count) {
        pending_.count = 0;
        pending_from_ = 0;
        counters_.held.set(0);
        return true;
    }
    counters_.held.set(pending_.count - pending_from_);
    return false;
}

void segment::attach_rcu() noexcept {
    if (w_.qsbr != nullptr) {
        rte_rcu_qsbr_thread_register(w_.qsbr, w_.lcore);
        rte_rcu_qsbr_thread_online(w_.qsbr, w_.lcore);
    }
}

segment::step_result segment::step() noexcept {
    const step_result r = step_once();
    if (r == step_result::idle) {
        if (++idle_steps_ == idle_round) {
            idle_steps_ = 0;
            const uint64_t now = rte_rdtsc();
            for (auto& s : stages_) {
                s->idle(now);
            }
        }
    } else {
        idle_steps_ = 0;
    }
    if (w_.qsbr != nullptr) {
        if (r == step_result::finished) {
            rte_rcu_qsbr_thread_offline(w_.qsbr, w_.lcore);
            rte_rcu_qsbr_thread_unregister(w_.qsbr, w_.lcore);
        } else {
            rte_rcu_qsbr_quiescent(w_.qsbr, w_.lcore);
        }
    }
    return r;
}

segment::step_result segment::step_once() noexcept {
    if (pending_.count > 0 && !flush_pending()) {
        return step_result::idle;
    }
    if (w_.inject_ring != nullptr && !rte_ring_empty(w_.inject_ring)) {
        stage_context ictx(counters_);
        transmit_injected(ictx);
        ictx.free_discarded();
    }
    burst b;
    if (!w_.rx_ports.empty()) {
        if (w_.stop_rx->load(std::memory_order_acquire)) {
            done_.store(true, std::memory_order_release);
            return step_result::finished;
        }
        if (receive(b) == 0) {
            return step_result::idle;
        }
    } else {
        // Read the upstream's done flag before dequeuing: if it was done and
        // the ring is empty now, nothing can arrive any more.
        const bool upstream_done = w_.upstream->done();
        b.count = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
            w_.in_ring, reinterpret_cast<void**>(b.pkts.data()), w_.burst_size, nullptr));
        if (b.count == 0) {
            if (upstream_done) {
                done_.store(true, std::memory_order_release);
                return step_result::finished;
            }
            return step_result::idle;
        }
        timed_ = w_.timing_sample != 0 && (burst_seq_++ & (w_.timing_sample - 1)) == 0;
        if (timed_) {
            tsc_ = rte_rdtsc();
        }
        b.has_generated = w_.upstream_generates;
        b.has_punts = w_.upstream_punts;
    }
    // On timed bursts, one TSC read per stage boundary: each stage is
    // charged from the end of the previous one to its own end.
    stage_context ctx(counters_,
                      w_.generations != nullptr ? w_.generations->current() : nullptr);
    if (timed_) {
        ctx.set_now(tsc_);  // read anyway; else a stage reads it if it needs it
    }
    std::size_t slot = w_.rx_ports.empty() ? 0 : 1;
    for (auto& s : stages_) {
        const uint16_t in = b.count;
        s->process(b, ctx);
        account(slot, in, b.count);
        if (timed_) {
            charge(slot, in);
        }
        ++slot;
        if (b.count == 0) {
            break;
        }
    }
    if (b.count > 0) {
        if (w_.tx) {
            transmit(b, ctx);
        } else {
            enqueue(b, ctx);
        }
    }
    ctx.free_discarded();
    return step_result::worked;
}

void segment::run() noexcept {
    // A step polls one RX port: only a whole round of empty polls is idle
    // enough to pause (PAUSE costs ~60 TSC cycles on current x86 cores; a
    // router polling an empty port between bursts of a busy one would pay
    // it every other step).
    const std::size_t round = std::max<std::size_t>(1, w_.rx_ports.size());
    unsigned idle = 0;
    for (;;) {
        switch (step()) {
            case step_result::finished:
                return;
            case step_result::worked:
                idle = 0;
                break;
            case step_result::idle:
                ++idle;
                if (idle >= round) {
                    rte_pause();
                }
                if (w_.idle_sleep_us > 0 && idle >= 64) {
                    rte_delay_us_sleep(w_.idle_sleep_us);
                }
                break;
        }
    }
}

}  // namespace dpdk_app
