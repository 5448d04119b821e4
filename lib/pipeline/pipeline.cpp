#include "pipeline/pipeline.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "pipeline/segment.hpp"

namespace dpdk_app {

uint64_t pipeline_stats::dropped() const {
    uint64_t n = 0;
    for (uint64_t d : drops) {
        n += d;
    }
    return n - generated_dropped;
}

void pipeline_stats::add(const segment_counters& c) {
    rx += c.rx.get();
    forwarded += c.forwarded.get();
    consumed += c.consumed.get();
    generated += c.generated.get();
    generated_sent += c.generated_sent.get();
    generated_dropped += c.generated_dropped.get();
    in_flight += c.held.get();
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        drops[r] += c.drops[r].get();
    }
    for (std::size_t e = 0; e < event_count; ++e) {
        events[e] += c.events[e].get();
    }
}

namespace {

int worker_main(void* arg) {
    static_cast<segment*>(arg)->run();
    return 0;
}

}  // namespace

std::unique_ptr<pipeline> pipeline::create(const pipeline_options& options, const placement& where,
                                           const std::vector<uint16_t>& ports,
                                           const stage_builder& build,
                                           const std::vector<rte_ring*>& inject,
                                           std::string& error) {
    std::unique_ptr<pipeline> p(new pipeline());
    p->options_ = options;
    if (!register_generated_flag()) {
        error = "cannot register the mbuf flag for generated packets";
        return nullptr;
    }
    static unsigned instance = 0;
    ++instance;
    const std::size_t qsbr_size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
    p->qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dpa_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
    if (p->qsbr_ == nullptr || rte_rcu_qsbr_init(p->qsbr_, RTE_MAX_LCORE) != 0) {
        error = "cannot allocate the RCU state";
        return nullptr;
    }
    p->generations_ = std::make_unique<generation_store>(p->qsbr_);
    for (unsigned lane = 0; lane < where.lane_lcores.size(); ++lane) {
        const segment* upstream = nullptr;
        rte_ring* in_ring = nullptr;
        stage_marks marks;  // what the stages so far may leave on packets
        const auto& groups = where.groups;
        for (std::size_t g = 0; g < groups.size(); ++g) {
            const unsigned lcore = where.lane_lcores[lane][g];
            segment::wiring w;
            w.lane = lane;
            w.lcore = lcore;
            w.burst_size = options.burst_size;
            w.ring_full = options.ring_full;
            w.tx_retries = options.tx_retries;
            w.idle_sleep_us = options.idle_sleep_us;
            w.idle_rx_backoff = options.idle_rx_backoff;
            w.stop_rx = &p->stop_rx_;
            w.qsbr = p->qsbr_;
            w.generations = p->generations_.get();
            w.timing_sample = options.timing_sample;
            w.in_ring = in_ring;
            w.upstream = upstream;
            w.upstream_punts = marks.punts;
            w.upstream_generates = marks.generates;
            std::vector<std::string> middle;
            for (const std::string& name : groups[g]) {
                if (name == "rx") {
                    w.rx_ports = ports;
                } else if (name == "tx") {
                    w.tx = true;
                    w.tx_ports = ports;  // the started ports, each with a queue per lane
                    w.inject_ring = lane < inject.size() ? inject[lane] : nullptr;
                } else {
                    middle.push_back(name);
                }
            }
            std::vector<std::unique_ptr<stage>> stages;
            if (!middle.empty() && !build(middle, lane, stages, error)) {
                return nullptr;
            }
            for (const auto& s : stages) {
                const stage_marks m = s->marks();
                marks.punts = marks.punts || m.punts;
                marks.generates = marks.generates || m.generates;
            }
            if (g + 1 < groups.size()) {
                const std::string ring_name = "dpa" + std::to_string(instance) + "_l" +
                                              std::to_string(lane) + "_" + std::to_string(g);
                rte_ring* r = rte_ring_create(ring_name.c_str(), options.ring_size,
                                              static_cast<int>(rte_lcore_to_socket_id(lcore)),
                                              RING_F_SP_ENQ | RING_F_SC_DEQ);
                if (r == nullptr) {
                    error = "cannot create ring " + ring_name + " of " +
                            std::to_string(options.ring_size) +
                            " entries: " + rte_strerror(rte_errno);
                    return nullptr;
                }
                p->rings_.push_back(r);
                w.out_ring = r;
                in_ring = r;
            }
            p->segments_.push_back(std::make_unique<segment>(w, std::move(stages)));
            upstream = p->segments_.back().get();
        }
    }
    return p;
}

pipeline::~pipeline() {
    if (launched_) {
        request_stop();
        wait();
    }
    for (rte_ring* r : rings_) {
        rte_ring_free(r);
    }
    generations_.reset();
    rte_free(qsbr_);
}

unsigned pipeline::control_thread_id() const noexcept {
    for (const auto& s : segments_) {
        if (s->wires().lcore == rte_get_main_lcore()) {
            return rte_get_main_lcore();
        }
    }
    return RTE_QSBR_THRID_INVALID;
}

void pipeline::launch() {
    for (auto& s : segments_) {
        s->attach_rcu();
    }
    for (auto& s : segments_) {
        if (s->wires().lcore != rte_get_main_lcore()) {
            rte_eal_remote_launch(worker_main, s.get(), s->wires().lcore);
        }
    }
    launched_ = true;
}

bool pipeline::run_main_slice(unsigned iterations) noexcept {
    const unsigned main = rte_get_main_lcore();
    bool any = false;
    for (auto& s : segments_) {
        if (s->wires().lcore != main) {
            continue;
        }
        any = true;
        unsigned idle = 0;
        for (unsigned i = 0; i < iterations && !s->done(); ++i) {
            if (s->step() == segment::step_result::idle) {
                ++idle;
            }
        }
        if (idle == iterations && options_.idle_sleep_us > 0) {
            rte_delay_us_sleep(options_.idle_sleep_us);
        }
    }
    return any;
}

void pipeline::request_stop() noexcept {
    stop_rx_.store(true, std::memory_order_release);
}

bool pipeline::finished() const noexcept {
    for (const auto& s : segments_) {
        if (!s->done()) {
            return false;
        }
    }
    return true;
}

void pipeline::wait() {
    for (auto& s : segments_) {
        if (s->wires().lcore != rte_get_main_lcore()) {
            rte_eal_wait_lcore(s->wires().lcore);
        }
    }
    launched_ = false;
}

uint64_t pipeline::rx_total() const noexcept {
    uint64_t rx = 0;
    for (const auto& s : segments_) {
        rx += s->counters().rx.get();
    }
    return rx;
}

pipeline_stats pipeline::stats() const {
    pipeline_stats st;
    for (const auto& s : segments_) {
        const segment_counters& c = s->counters();
        st.add(c);
        for (std::size_t port = 0; port < max_ports; ++port) {
            st.port_rx[port] += c.port_rx[port].get();
            st.port_tx[port] += c.port_tx[port].get();
            st.port_rx_polls[port] += c.port_rx_polls[port].get();
        }
        const auto& names = s->stage_names();
        for (std::size_t i = 0; i < names.size(); ++i) {
            const stage_counters& sc = c.stages[i];
            st.stages.push_back({names[i], s->wires().lane, s->wires().lcore, sc.packets_in.get(),
                                 sc.packets_out.get(), sc.bursts.get(), sc.cycles.get(),
                                 sc.sampled_packets.get()});
        }
    }
    for (rte_ring* r : rings_) {
        st.in_flight += rte_ring_count(r);
    }
    return st;
}

}  // namespace dpdk_app
