#include "dataplane/dataplane.hpp"

#include <set>
#include <tuple>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dataplane/compose.hpp"
#include "log/log.hpp"
#include "packet/meta.hpp"
#include "police/police_table.hpp"
#include "respond/resolver.hpp"
#include "respond/slow_path.hpp"
#include "route/fib.hpp"

namespace dpdk_app {

std::vector<std::string> restart_only_changes(const app_config& a, const app_config& b) {
    std::vector<std::string> out;
    auto key = [&](bool changed, const char* name) {
        if (changed) {
            out.emplace_back(name);
        }
    };
    key(a.mode != b.mode, "dataplane.mode");
    key(a.lanes != b.lanes, "dataplane.lanes");
    key(a.burst_size != b.burst_size, "dataplane.burst_size");
    key(a.validate != b.validate, "dataplane.validate");
    key(a.idle_sleep_us != b.idle_sleep_us || a.idle_sleep_auto != b.idle_sleep_auto,
        "dataplane.idle_sleep_us");
    key(a.idle_rx_backoff != b.idle_rx_backoff, "dataplane.idle_rx_backoff");
    key(a.ring_size != b.ring_size, "pipeline.ring_size");
    key(a.ring_full != b.ring_full, "pipeline.ring_full");
    key(a.tx_retries != b.tx_retries, "pipeline.tx_retries");
    key(a.timing_sample != b.timing_sample, "pipeline.timing_sample");
    key(a.fuse != b.fuse, "pipeline.fuse");
    key(a.lcores_per_lane != b.lcores_per_lane, "pipeline.lcores_per_lane");
    key(a.placement != b.placement, "pipeline.placement");
    key(a.mbufs != b.mbufs, "mempool.mbufs");
    key(a.mbuf_cache != b.mbuf_cache, "mempool.cache_size");
    key(a.mbuf_data_room != b.mbuf_data_room, "mempool.data_room");
    key(a.responder != b.responder, "[responder]");
    // The classify stage is in the chain, and its connection tables made,
    // at start.
    key(a.firewall.has_value() != b.firewall.has_value(), "[firewall] (added or removed)");
    if (a.firewall && b.firewall) {
        key(a.firewall->tracks_connections() != b.firewall->tracks_connections(),
            "firewall.conntrack (tracking turned on or off)");
        key(a.firewall->tracks_connections() &&
                a.firewall->conntrack.capacity != b.firewall->conntrack.capacity,
            "firewall.conntrack.capacity");
    }
    // The flow stage's tables, rings and collectors are made at start.
    key(a.flow != b.flow, "[flow]");
    // The police stage is in the chain, and each lane's per-source bucket
    // tables made, at start.
    key(policers_attached(a) != policers_attached(b),
        "police (the first policer attached or the last detached)");
    auto per_source = [](const app_config& c) {
        std::vector<std::tuple<std::string, uint32_t, uint8_t, uint8_t>> out;
        for (const auto& p : c.policers) {
            if (p.scope == policer_scope::per_source) {
                out.emplace_back(p.name, p.max_keys, p.prefix_v4, p.prefix_v6);
            }
        }
        return out;
    };
    key(per_source(a) != per_source(b),
        "per-source [[policer]]s (added, removed, renamed, or max_keys / prefix_v4 / prefix_v6)");
    if (a.ports.size() != b.ports.size()) {
        out.emplace_back("[[port]] (count)");
    } else {
        for (std::size_t i = 0; i < a.ports.size(); ++i) {
            const auto& p = a.ports[i];
            const auto& q = b.ports[i];
            if (p.name != q.name || p.rx_desc != q.rx_desc || p.tx_desc != q.tx_desc ||
                p.peer != q.peer || p.promiscuous != q.promiscuous) {
                out.push_back("[[port]] '" + p.name + "'");
            }
        }
    }
    return out;
}

namespace {

// Lcores "share a CPU" when two lcores running segments may run on the
// same CPU (e.g. --lcores '(0-3)@(0-1)'): then idle lcores must sleep to
// give the CPU to the busy ones.
bool lcores_share_cpus(const placement& where) {
    std::set<unsigned> cpus;
    std::size_t total = 0;
    for (const auto& lane : where.lane_lcores) {
        for (unsigned lcore : lane) {
            rte_cpuset_t set = rte_lcore_cpuset(lcore);
            for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
                if (CPU_ISSET(cpu, &set)) {
                    cpus.insert(cpu);
                    ++total;
                }
            }
        }
    }
    return total > cpus.size();
}

uint32_t idle_sleep_of(const app_config& c, const placement& where) {
    if (!c.idle_sleep_auto) {
        return c.idle_sleep_us;
    }
    const bool main_only = where.lane_lcores.size() == 1 && where.lane_lcores[0].size() == 1 &&
                           where.lane_lcores[0][0] == rte_get_main_lcore();
    return !main_only && lcores_share_cpus(where) ? 20 : 0;
}

}  // namespace

std::unique_ptr<dataplane> dataplane::start(const app_config& config, std::string& error,
                                            start_failure& failure) {
    std::unique_ptr<dataplane> dp(new dataplane());
    dp->config_ = config;
    auto fail = [&](start_failure kind, std::string why) -> std::unique_ptr<dataplane> {
        failure = kind;
        error = std::move(why);
        return nullptr;
    };
    dp->ports_ = resolve_ports(config, error);
    if (!error.empty()) {
        return fail(start_failure::usage, error);
    }
    if (dp->ports_.empty()) {
        return fail(start_failure::usage,
                    "no ports: give EAL a device, e.g. --vdev=net_tap0 or "
                    "--vdev=net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
    }
    std::vector<uint16_t> port_ids;
    for (const auto& p : dp->ports_) {
        if (p.port_id >= max_ports) {
            return fail(start_failure::usage, "port id " + std::to_string(p.port_id) +
                                                  " is beyond the supported " +
                                                  std::to_string(max_ports));
        }
        port_ids.push_back(p.port_id);
    }
    std::vector<unsigned> workers;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        workers.push_back(lcore);
    }
    const placement where = place_stages(compose_chain(config), config.placement,
                                         config.lcores_per_lane, config.lanes, workers,
                                         rte_get_main_lcore());
    if (!where.error.empty()) {
        return fail(start_failure::usage, where.error);
    }
    for (const auto& w : where.warnings) {
        log(log_component::dataplane, log_level::warning, "warning: %s", w.c_str());
    }

    mempool_sizing sizing;
    sizing.ports = static_cast<uint32_t>(dp->ports_.size());
    sizing.lanes = config.lanes;
    for (const auto& p : dp->ports_) {
        sizing.rx_desc_total += p.rx_desc;
        sizing.tx_desc_total += p.tx_desc;
    }
    sizing.rings = static_cast<uint32_t>(config.lanes * (where.groups.size() - 1));
    sizing.ring_size = config.ring_size;
    sizing.lcores = rte_lcore_count();
    sizing.cache_size = config.mbuf_cache;
    sizing.burst_size = config.burst_size;
    const uint32_t mbufs = config.mbufs != 0 ? config.mbufs : mbufs_needed(sizing);
    dp->pool_ = create_mbuf_pool("dpa_mbufs", mbufs, config.mbuf_cache, packet_meta_priv_size,
                                 config.mbuf_data_room, static_cast<int>(rte_socket_id()));
    if (dp->pool_ == nullptr) {
        return fail(start_failure::runtime,
                    "cannot create the mbuf pool of " + std::to_string(mbufs) +
                        " mbufs: " + rte_strerror(rte_errno) +
                        " (give EAL more memory with -m, reserve more hugepages, or lower "
                        "mempool.mbufs)");
    }

    dp->slow_ = slow_path::create(static_cast<unsigned>(where.lane_lcores.size()),
                                  config.responder.neighbor_max, error);
    if (!dp->slow_) {
        return fail(start_failure::runtime, error);
    }
    if (config.flow) {
        dp->flows_ = flow_exporter::create(*config.flow, dp->slow_->lanes(), rte_get_tsc_hz(), error);
        if (!dp->flows_) {
            return fail(start_failure::runtime, error);
        }
    }
    pipeline_options po;
    po.lanes = config.lanes;
    po.burst_size = config.burst_size;
    po.ring_size = config.ring_size;
    po.ring_full = config.ring_full;
    po.tx_retries = config.tx_retries;
    po.timing_sample = config.timing_sample;
    po.idle_rx_backoff = config.idle_rx_backoff;
    po.idle_sleep_us = idle_sleep_of(config, where);
    std::vector<rte_ring*> inject;
    for (unsigned lane = 0; lane < dp->slow_->lanes(); ++lane) {
        inject.push_back(dp->slow_->inject(lane));
    }
    const dataplane* self = dp.get();
    const stage_builder build = [self](const std::vector<std::string>& names, unsigned lane,
                                       std::vector<std::unique_ptr<stage>>& out,
                                       std::string& why) {
        stage_deps deps;
        deps.lane = lane;
        deps.config = &self->config_;
        deps.ports = &self->ports_;
        deps.slow = self->slow_.get();
        deps.flows = self->flows_.get();
        deps.tsc_hz = rte_get_tsc_hz();
        return make_stages(names, deps, self->config_.fuse, out, why);
    };
    dp->pipe_ = pipeline::create(po, where, port_ids, build, inject, error);
    if (!dp->pipe_) {
        return fail(start_failure::runtime, error);
    }
    for (auto& p : dp->ports_) {
        const bool symmetric = config.firewall && config.firewall->tracks_connections();
        if (auto err = start_port(p, config.lanes, dp->pool_, symmetric); !err.empty()) {
            return fail(start_failure::runtime, err);
        }
        dp->started_.push_back(p.port_id);
    }
    std::vector<std::string> errors;
    if (!dp->publish(1, config, errors)) {
        std::string all;
        for (const auto& e : errors) {
            all += (all.empty() ? "" : "\n") + e;
        }
        return fail(start_failure::usage, all);
    }
    dp->control_pool_ = create_mbuf_pool("dpa_ctl", 511, 0, packet_meta_priv_size,
                                         RTE_MBUF_DEFAULT_BUF_SIZE,
                                         static_cast<int>(rte_socket_id()));
    if (dp->control_pool_ == nullptr) {
        return fail(start_failure::runtime,
                    std::string("cannot create the control mbuf pool: ") + rte_strerror(rte_errno));
    }
    resolver_settings rs;
    rs.hold_per_neighbor = config.responder.hold_per_neighbor;
    rs.retries = config.responder.resolve_retries;
    rs.retry_ms = config.responder.resolve_retry_ms;
    rs.timeout_s = config.responder.neighbor_timeout_s;
    rs.failed_hold_ms = config.responder.failed_hold_ms;
    dp->neighbors_ = std::make_unique<resolver>(*dp->slow_, dp->pipe_->generations(),
                                                dp->control_pool_, rs, rte_get_tsc_hz());
    failure = start_failure::none;
    return dp;
}

dataplane::~dataplane() {
    neighbors_.reset();  // frees what it holds into the pools
    pipe_.reset();       // stops the lanes if they run; frees the generation
    slow_.reset();       // the neighbour table every generation pointed into
    close_ports();
    if (pool_ != nullptr) {
        rte_mempool_free(pool_);
    }
    if (control_pool_ != nullptr) {
        rte_mempool_free(control_pool_);
    }
}

bool dataplane::publish(uint64_t number, const app_config& config,
                        std::vector<std::string>& errors) {
    compile_env env;
    env.ports = &ports_;
    env.neighbors = &slow_->neighbors();
    env.lanes = slow_->lanes();
    env.previous = pipe_->generations().current();
    auto g = compile_generation(config, env, number, errors);
    if (!g) {
        return false;
    }
    const fib* f = g->find<fib>();
    info_.number = number;
    info_.routes4 = f != nullptr ? f->routes4() : 0;
    info_.routes6 = f != nullptr ? f->routes6() : 0;
    const acl_table* next_fw = g->find<acl_table>();
    const exact_table* next_exact = g->find<exact_table>();
    const policer_table* next_policers = g->find<policer_table>();
    // Readers off the lanes (the telemetry thread) read the generation under
    // this lock: the old one is retired and freed before it is released.
    std::lock_guard lock(report_mutex_);
    const auto old = pipe_->generations().publish(std::move(g), pipe_->control_thread_id());
    if (const acl_table* old_fw = old ? old->find<acl_table>() : nullptr) {
        firewall_totals_.retire(*old_fw, next_fw);
    }
    if (const exact_table* old_exact = old ? old->find<exact_table>() : nullptr) {
        firewall_totals_.retire(*old_exact, next_exact);
    }
    if (const policer_table* old_policers = old ? old->find<policer_table>() : nullptr) {
        policer_totals_.retire(*old_policers, next_policers);
    }
    return true;
}

std::vector<policer_report> dataplane::policer_reports() const {
    std::lock_guard lock(report_mutex_);
    const generation* g = pipe_->generations().current();
    const policer_table* t = g != nullptr ? g->find<policer_table>() : nullptr;
    return t != nullptr ? policer_totals_.report(*t) : std::vector<policer_report>{};
}

std::vector<rule_report> dataplane::firewall_report() const {
    std::lock_guard lock(report_mutex_);
    const generation* g = pipe_->generations().current();
    const acl_table* t = g != nullptr ? g->find<acl_table>() : nullptr;
    return t != nullptr ? firewall_totals_.report(*t) : std::vector<rule_report>{};
}

std::optional<exact_summary> dataplane::exact_report() const {
    std::lock_guard lock(report_mutex_);
    const generation* g = pipe_->generations().current();
    const exact_table* t = g != nullptr ? g->find<exact_table>() : nullptr;
    if (t == nullptr) {
        return std::nullopt;
    }
    return exact_summary{t->size(), t->memory_bytes(), firewall_totals_.report(*t)};
}

void dataplane::launch() {
    pipe_->launch();
    neighbors_->announce();
}

void dataplane::poll(uint64_t now) {
    neighbors_->poll(now);
    if (flows_) {
        flows_->poll(now);
    }
}

std::optional<flow_report> dataplane::flow_summary() const {
    if (!flows_) {
        return std::nullopt;
    }
    return flows_->report();
}

reload_outcome dataplane::reload(const std::optional<std::string>& path) {
    reload_outcome out;
    const std::string keeps =
        "generation " + std::to_string(info_.number) + " stays in use";
    auto reject = [&](std::string why) {
        out.lines.push_back("dpdk-app: " + std::move(why));
        info_.reload_failures++;
        return out;
    };
    if (!path) {
        return reject("reload: running on the embedded configuration, nothing to re-read");
    }
    config_result next = load_checked_config(path);
    if (!next.ok()) {
        for (const auto& e : next.errors) {
            out.lines.push_back(e.to_string());
        }
        return reject("reload rejected: " + std::to_string(next.errors.size()) +
                      " configuration error(s); " + keeps);
    }
    if (const auto what = restart_only_changes(config_, next.config); !what.empty()) {
        std::string list;
        for (const auto& w : what) {
            list += (list.empty() ? "" : ", ") + w;
        }
        return reject("reload rejected: " + list + (what.size() == 1 ? " changed, which needs" :
                      " changed, which need") + " a restart; " + keeps);
    }
    std::vector<std::string> errors;
    if (!publish(info_.number + 1, next.config, errors)) {
        for (auto& e : errors) {
            out.lines.push_back("dpdk-app: " + e);
        }
        return reject("reload rejected; " + keeps);
    }
    config_ = std::move(next.config);
    info_.reloads++;
    out.ok = true;
    std::string what = "dpdk-app: reloaded " + *path + ": generation " +
                       std::to_string(info_.number) + ", " + std::to_string(info_.routes4) +
                       " IPv4 and " + std::to_string(info_.routes6) + " IPv6 routes";
    if (config_.firewall) {
        what += ", " + std::to_string(config_.firewall->rules.size()) + " firewall rules";
    }
    out.lines.push_back(what);
    return out;
}

void dataplane::shutdown() {
    pipe_->wait();
    neighbors_->shutdown();  // what is held or queued still: dropped, counted
    if (flows_) {
        flows_->finish();  // every live flow exported (forced end)
    }
}

pipeline_stats dataplane::stats() const {
    pipeline_stats st = pipe_->stats();
    st.add(slow_->counters());
    st.in_flight += slow_->queued();
    return st;
}

void dataplane::close_ports() {
    for (uint16_t id : started_) {
        stop_and_close_port(id);
    }
    started_.clear();
}

}  // namespace dpdk_app
