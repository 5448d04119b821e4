// dpdk-app: EAL set-up, ports, the pipeline on lcores, the control loop,
// signals and the exit report.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "config/config.hpp"
#include "config/options.hpp"
#include "ctl/report.hpp"
#include "io/port.hpp"
#include "packet/meta.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/placement.hpp"
#include "respond/resolver.hpp"
#include "route/fib.hpp"

using namespace dpdk_app;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_dump = 0;
volatile std::sig_atomic_t g_reload = 0;

void on_signal(int sig) {
    if (sig == SIGUSR1) {
        g_dump = 1;
    } else if (sig == SIGHUP) {
        g_reload = 1;
    } else {
        g_stop = 1;
    }
}

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
}

void fail(const std::string& msg) {
    std::fprintf(stderr, "dpdk-app: %s\n", msg.c_str());
}

config_result load_config(const app_options& o) {
    if (o.config_file) {
        return load_config_file(*o.config_file);
    }
    return parse_config(embedded_default_config(), "<embedded default>");
}

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

// The telemetry thread reads counters through this, under the mutex, so
// that shutdown can take the pipeline away safely.
std::mutex g_telemetry_mutex;
const pipeline* g_pipeline = nullptr;

int telemetry_stats(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_telemetry_mutex);
    rte_tel_data_start_dict(d);
    if (g_pipeline == nullptr) {
        return 0;
    }
    const pipeline_stats s = g_pipeline->stats();
    rte_tel_data_add_dict_u64(d, "rx", s.rx);
    rte_tel_data_add_dict_u64(d, "forwarded", s.forwarded);
    rte_tel_data_add_dict_u64(d, "dropped", s.dropped());
    rte_tel_data_add_dict_u64(d, "consumed", s.consumed);
    rte_tel_data_add_dict_u64(d, "generated", s.generated);
    rte_tel_data_add_dict_u64(d, "generated_sent", s.generated_sent);
    rte_tel_data_add_dict_u64(d, "generated_dropped", s.generated_dropped);
    rte_tel_data_add_dict_u64(d, "in_flight", s.in_flight);
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        const std::string key = "drop_" + std::string(drop_reason_names[i]);
        rte_tel_data_add_dict_u64(d, key.c_str(), s.drops[i]);
    }
    return 0;
}

struct run_context {
    app_config config;
    app_options options;
    std::vector<port_plan> ports;
    rte_mempool* pool = nullptr;
    rte_mempool* control_pool = nullptr;  // ARP / NDP requests: never the RX pool
    std::unique_ptr<pipeline> pipe;
    std::unique_ptr<resolver> neighbors;
    std::chrono::steady_clock::time_point started;
    generation_report generation;
};

// Settings a reload cannot change: they size memory, queues and lcores.
std::string restart_only_change(const app_config& a, const app_config& b) {
    if (a.mode != b.mode) {
        return "dataplane.mode";
    }
    if (a.lanes != b.lanes || a.burst_size != b.burst_size) {
        return "dataplane.lanes / burst_size";
    }
    if (a.ring_size != b.ring_size || a.placement != b.placement ||
        a.lcores_per_lane != b.lcores_per_lane) {
        return "[pipeline]";
    }
    if (a.mbufs != b.mbufs || a.mbuf_cache != b.mbuf_cache ||
        a.mbuf_data_room != b.mbuf_data_room) {
        return "[mempool]";
    }
    if (a.ports.size() != b.ports.size()) {
        return "[[port]]";
    }
    if (a.responder != b.responder) {
        return "[responder]";
    }
    for (std::size_t i = 0; i < a.ports.size(); ++i) {
        const auto& p = a.ports[i];
        const auto& q = b.ports[i];
        if (p.name != q.name || p.rx_desc != q.rx_desc || p.tx_desc != q.tx_desc ||
            p.peer != q.peer || p.promiscuous != q.promiscuous) {
            return "[[port]] '" + p.name + "'";
        }
    }
    return {};
}

// Builds the router tables of a configuration. Returns nullptr and prints
// every error when they cannot be built.
std::unique_ptr<fib> build_fib(const run_context& rc, const app_config& config,
                               uint64_t generation) {
    std::vector<config_error> errors;
    const bool router = config.mode == forwarding_mode::router;
    const resolved_router routes =
        router ? resolve_router(config.router, config.source, errors) : resolved_router{};
    if (!errors.empty()) {
        for (const auto& e : errors) {
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        }
        return nullptr;
    }
    std::map<std::string, fib_port> ports;
    for (const auto& p : rc.ports) {
        fib_port fp;
        fp.id = p.port_id;
        rte_eth_macaddr_get(p.port_id, &fp.mac);
        ports[p.name] = fp;
    }
    for (const auto& i : config.router.interfaces) {
        auto it = ports.find(i.port);
        if (it == ports.end()) {
            fail(config.source + ":" + std::to_string(i.where.line) + ":" +
                 std::to_string(i.where.column) + ": interface port '" + i.port +
                 "' is not one of the ports in use");
            return nullptr;
        }
        it->second.mtu = i.mtu;
        if (i.mac) {
            std::memcpy(it->second.mac.addr_bytes, i.mac->data(), 6);
        }
        for (const auto& a : i.addresses) {
            if (a.address.v6) {
                it->second.addr6.push_back(a.address.bytes);
            } else {
                uint32_t v4;
                std::memcpy(&v4, a.address.bytes.data(), 4);
                it->second.addr4.push_back(v4);
            }
        }
    }
    std::string error;
    auto f = fib::build(routes, ports, generation, rc.pipe->slow().neighbors(), router, error);
    if (!f) {
        fail(error);
    }
    return f;
}

void publish_fib(run_context& rc, std::unique_ptr<fib> f) {
    rc.generation.generation = f->generation();
    rc.generation.routes4 = f->routes4();
    rc.generation.routes6 = f->routes6();
    rc.pipe->fibs().publish(std::move(f), rc.pipe->control_thread_id());
}

// SIGHUP: re-read the configuration file and swap in new router tables
// without stopping traffic. A configuration that fails keeps the running one.
void reload(run_context& rc) {
    if (!rc.options.config_file) {
        fail("reload: running on the embedded configuration, nothing to re-read");
        rc.generation.reload_failures++;
        return;
    }
    config_result cfg = load_config_file(*rc.options.config_file);
    if (!cfg.ok()) {
        for (const auto& e : cfg.errors) {
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        }
        fail("reload rejected: " + std::to_string(cfg.errors.size()) +
             " configuration error(s); generation " + std::to_string(rc.generation.generation) +
             " stays in use");
        rc.generation.reload_failures++;
        return;
    }
    if (auto what = restart_only_change(rc.config, cfg.config); !what.empty()) {
        fail("reload rejected: " + what + " changed, which needs a restart; generation " +
             std::to_string(rc.generation.generation) + " stays in use");
        rc.generation.reload_failures++;
        return;
    }
    {
        auto f = build_fib(rc, cfg.config, rc.generation.generation + 1);
        if (!f) {
            fail("reload rejected; generation " + std::to_string(rc.generation.generation) +
                 " stays in use");
            rc.generation.reload_failures++;
            return;
        }
        publish_fib(rc, std::move(f));
    }
    rc.config = std::move(cfg.config);
    rc.generation.reloads++;
    std::fprintf(stderr, "dpdk-app: reloaded %s: generation %llu, %llu IPv4 and %llu IPv6 routes\n",
                 rc.options.config_file->c_str(),
                 static_cast<unsigned long long>(rc.generation.generation),
                 static_cast<unsigned long long>(rc.generation.routes4),
                 static_cast<unsigned long long>(rc.generation.routes6));
}

run_report make_report(const run_context& rc, bool final) {
    run_report r;
    r.mode = rc.config.mode == forwarding_mode::router ? "router" : "bridge";
    r.config = rc.generation;
    r.final = final;
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - rc.started).count();
    r.pipe = rc.pipe->stats();
    for (const auto& p : rc.ports) {
        port_report pr;
        pr.id = p.port_id;
        pr.name = p.name;
        pr.peer = p.peer;
        pr.rx = r.pipe.port_rx[p.port_id];
        pr.tx = r.pipe.port_tx[p.port_id];
        pr.rx_polls = r.pipe.port_rx_polls[p.port_id];
        rte_eth_stats es{};
        if (rte_eth_stats_get(p.port_id, &es) == 0) {
            pr.ipackets = es.ipackets;
            pr.opackets = es.opackets;
            pr.ibytes = es.ibytes;
            pr.obytes = es.obytes;
            pr.imissed = es.imissed;
            pr.ierrors = es.ierrors;
            pr.oerrors = es.oerrors;
            pr.rx_nombuf = es.rx_nombuf;
        }
        r.ports.push_back(pr);
    }
    r.mempool.size = rc.pool->size;
    r.mempool.available = rte_mempool_avail_count(rc.pool);
    return r;
}

void print_status(const run_context& rc, pipeline_stats& last, double dt) {
    const pipeline_stats now = rc.pipe->stats();
    std::string line;
    char buf[160];
    std::snprintf(buf, sizeof buf, "\rrx %.3f Mpps  fwd %.3f Mpps  drops %llu",
                  static_cast<double>(now.rx - last.rx) / dt / 1e6,
                  static_cast<double>(now.forwarded - last.forwarded) / dt / 1e6,
                  static_cast<unsigned long long>(now.dropped()));
    line = buf;
    for (const auto& p : rc.ports) {
        std::snprintf(
            buf, sizeof buf, " | %s rx %.3f tx %.3f", p.name.c_str(),
            static_cast<double>(now.port_rx[p.port_id] - last.port_rx[p.port_id]) / dt / 1e6,
            static_cast<double>(now.port_tx[p.port_id] - last.port_tx[p.port_id]) / dt / 1e6);
        line += buf;
    }
    std::fputs((line + "   ").c_str(), stdout);
    std::fflush(stdout);
    last = now;
}

void print_summary(const run_report& r) {
    const pipeline_stats& p = r.pipe;
    std::printf(
        "dpdk-app: %.2f s  rx %llu  forwarded %llu  dropped %llu  consumed %llu  "
        "generated %llu (sent %llu, dropped %llu)  in_flight %llu\n",
        r.seconds, static_cast<unsigned long long>(p.rx),
        static_cast<unsigned long long>(p.forwarded), static_cast<unsigned long long>(p.dropped()),
        static_cast<unsigned long long>(p.consumed), static_cast<unsigned long long>(p.generated),
        static_cast<unsigned long long>(p.generated_sent),
        static_cast<unsigned long long>(p.generated_dropped),
        static_cast<unsigned long long>(p.in_flight));
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        if (p.drops[i] > 0) {
            std::printf("  drop %-16s %llu\n", std::string(drop_reason_names[i]).c_str(),
                        static_cast<unsigned long long>(p.drops[i]));
        }
    }
    for (const auto& port : r.ports) {
        std::printf(
            "  port %u %-12s rx %llu tx %llu (driver: in %llu out %llu missed %llu "
            "errors %llu/%llu)\n",
            port.id, port.name.c_str(), static_cast<unsigned long long>(port.rx),
            static_cast<unsigned long long>(port.tx),
            static_cast<unsigned long long>(port.ipackets),
            static_cast<unsigned long long>(port.opackets),
            static_cast<unsigned long long>(port.imissed),
            static_cast<unsigned long long>(port.ierrors),
            static_cast<unsigned long long>(port.oerrors));
    }
    std::fflush(stdout);
}

bool write_stats(const run_context& rc, const run_report& r) {
    if (!rc.options.stats_json) {
        return true;
    }
    if (auto err = write_file_atomic(*rc.options.stats_json, to_json(r)); !err.empty()) {
        fail(err);
        return false;
    }
    return true;
}

// Runs the control loop until a signal, --duration or --idle-exit says stop,
// then drains the pipeline.
void control_loop(run_context& rc) {
    const bool status = !rc.options.quiet && ::isatty(STDOUT_FILENO) != 0;
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    uint64_t last_status = start;
    uint64_t last_rx = 0;
    uint64_t last_rx_change = start;
    bool stopping = false;
    pipeline_stats last{};
    for (;;) {
        if (!rc.pipe->run_main_slice(256)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const uint64_t now = rte_rdtsc();
        if (stopping) {
            if (rc.pipe->finished()) {
                break;
            }
            continue;
        }
        rc.neighbors->poll(now);
        if (g_reload) {
            g_reload = 0;
            reload(rc);
        }
        if (g_dump) {
            g_dump = 0;
            write_stats(rc, make_report(rc, false));
        }
        bool stop = g_stop != 0;
        if (rc.options.duration_s > 0 &&
            static_cast<double>(now - start) >= rc.options.duration_s * static_cast<double>(hz)) {
            stop = true;
        }
        if (rc.options.idle_exit_ms > 0) {
            const uint64_t rx = rc.pipe->rx_total();
            if (rx != last_rx) {
                last_rx = rx;
                last_rx_change = now;
            } else if (rx > 0 && (now - last_rx_change) * 1000 / hz >= rc.options.idle_exit_ms) {
                stop = true;
            }
        }
        if (status && now - last_status >= hz) {
            print_status(rc, last,
                         static_cast<double>(now - last_status) / static_cast<double>(hz));
            last_status = now;
        }
        if (stop) {
            stopping = true;
            rc.pipe->request_stop();
        }
    }
    if (status) {
        std::fputs("\n", stdout);
    }
    rc.pipe->wait();
    rc.neighbors->shutdown();  // what is held or queued still: dropped, counted
}

int run(int argc, char** argv) {
    const split_args args = split_command_line(argc, argv);
    std::string error;
    run_context rc;
    rc.options = parse_app_options(args.app, error);
    if (!error.empty()) {
        fail(error);
        return exit_usage;
    }
    if (rc.options.help) {
        std::fputs(usage_text(args.eal[0]).c_str(), stdout);
        return exit_ok;
    }
    if (rc.options.version) {
        std::printf("dpdk-app %s (%s)\n", DPDK_APP_VERSION, rte_version());
        return exit_ok;
    }
    config_result cfg = load_config(rc.options);
    if (!cfg.ok()) {
        for (const auto& e : cfg.errors) {
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        }
        fail(std::to_string(cfg.errors.size()) + " configuration error(s); nothing was started");
        return exit_usage;
    }
    if (rc.options.check_config) {
        std::printf("%s: configuration is valid\n", cfg.config.source.c_str());
        return exit_ok;
    }
    rc.config = std::move(cfg.config);

    if (auto err = check_vdev_files(args.eal); !err.empty()) {
        fail(err);
        return exit_usage;
    }
    if (!wants_no_huge(args.eal) && free_hugepages() == 0) {
        fail("no hugepages available: run scripts/hugepages.sh or pass --no-huge");
        return exit_runtime;
    }

    std::vector<char*> eal_argv;
    std::vector<std::string> eal_storage = args.eal;
    for (auto& a : eal_storage) {
        eal_argv.push_back(a.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal_storage.size()), eal_argv.data()) < 0) {
        const int e = rte_errno;
        fail(std::string("EAL initialisation failed: ") + rte_strerror(e) +
             (e == EINVAL ? " (check the EAL arguments before `--`)" : ""));
        return e == EINVAL ? exit_usage : exit_runtime;
    }
    int code = exit_ok;
    [&] {
        install_signals();
        rc.ports = resolve_ports(rc.config, error);
        if (!error.empty()) {
            fail(error);
            code = exit_usage;
            return;
        }
        if (rc.ports.empty()) {
            fail(
                "no ports: give EAL a device, e.g. --vdev=net_tap0 or "
                "--vdev=net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
            code = exit_usage;
            return;
        }
        for (const auto& p : rc.ports) {
            if (p.port_id >= max_ports) {
                fail("port id " + std::to_string(p.port_id) + " is beyond the supported " +
                     std::to_string(max_ports));
                code = exit_usage;
                return;
            }
        }
        std::vector<unsigned> workers;
        unsigned lcore;
        RTE_LCORE_FOREACH_WORKER(lcore) {
            workers.push_back(lcore);
        }
        placement where =
            place_stages(stage_chain(rc.config.mode, rc.config.validate), rc.config.placement,
                         rc.config.lcores_per_lane, rc.config.lanes, workers, rte_get_main_lcore());
        if (!where.error.empty()) {
            fail(where.error);
            code = exit_usage;
            return;
        }
        for (const auto& w : where.warnings) {
            std::fprintf(stderr, "dpdk-app: warning: %s\n", w.c_str());
        }

        mempool_sizing sizing;
        sizing.ports = static_cast<uint32_t>(rc.ports.size());
        sizing.lanes = rc.config.lanes;
        for (const auto& p : rc.ports) {
            sizing.rx_desc_total += p.rx_desc;
            sizing.tx_desc_total += p.tx_desc;
        }
        sizing.rings = static_cast<uint32_t>(rc.config.lanes * (where.groups.size() - 1));
        sizing.ring_size = rc.config.ring_size;
        sizing.lcores = rte_lcore_count();
        sizing.cache_size = rc.config.mbuf_cache;
        sizing.burst_size = rc.config.burst_size;
        const uint32_t mbufs = rc.config.mbufs != 0 ? rc.config.mbufs : mbufs_needed(sizing);
        rc.pool = create_mbuf_pool("dpa_mbufs", mbufs, rc.config.mbuf_cache, packet_meta_priv_size,
                                   rc.config.mbuf_data_room, static_cast<int>(rte_socket_id()));
        if (rc.pool == nullptr) {
            fail("cannot create the mbuf pool of " + std::to_string(mbufs) +
                 " mbufs: " + rte_strerror(rte_errno) +
                 " (give EAL more memory with -m, reserve more hugepages, or lower "
                 "mempool.mbufs)");
            code = exit_runtime;
            return;
        }

        pipeline_options po;
        po.lanes = rc.config.lanes;
        po.burst_size = rc.config.burst_size;
        po.ring_size = rc.config.ring_size;
        po.ring_full = rc.config.ring_full;
        po.tx_retries = rc.config.tx_retries;
        po.timing_sample = rc.config.timing_sample;
        po.idle_rx_backoff = rc.config.idle_rx_backoff;
        po.fuse = rc.config.fuse;
        po.responder.router = rc.config.mode == forwarding_mode::router;
        po.responder.limits.rate = rc.config.responder.error_rate;
        po.responder.limits.burst = rc.config.responder.error_burst;
        po.responder.limits.rate_per_source = rc.config.responder.error_rate_per_source;
        po.responder.limits.burst_per_source = rc.config.responder.error_burst_per_source;
        po.neighbor_max = rc.config.responder.neighbor_max;
        po.idle_sleep_us = rc.config.idle_sleep_auto ? (lcores_share_cpus(where) ? 20 : 0)
                                                     : rc.config.idle_sleep_us;
        if (where.lane_lcores.size() == 1 && where.lane_lcores[0].size() == 1 &&
            where.lane_lcores[0][0] == rte_get_main_lcore() && rc.config.idle_sleep_auto) {
            po.idle_sleep_us = 0;
        }
        rc.pipe = pipeline::create(po, where, rc.ports, error);
        if (!rc.pipe) {
            fail(error);
            code = exit_runtime;
            return;
        }
        std::vector<uint16_t> started;
        for (auto& p : rc.ports) {
            if (auto err = start_port(p, rc.config.lanes, rc.pool); !err.empty()) {
                fail(err);
                for (uint16_t id : started) {
                    stop_and_close_port(id);
                }
                code = exit_runtime;
                return;
            }
            started.push_back(p.port_id);
        }
        {
            auto f = build_fib(rc, rc.config, 1);
            if (!f) {
                for (uint16_t id : started) {
                    stop_and_close_port(id);
                }
                code = exit_usage;
                return;
            }
            publish_fib(rc, std::move(f));
        }
        rc.control_pool = create_mbuf_pool("dpa_ctl", 511, 0, packet_meta_priv_size,
                                           RTE_MBUF_DEFAULT_BUF_SIZE,
                                           static_cast<int>(rte_socket_id()));
        if (rc.control_pool == nullptr) {
            fail(std::string("cannot create the control mbuf pool: ") + rte_strerror(rte_errno));
            for (uint16_t id : started) {
                stop_and_close_port(id);
            }
            code = exit_runtime;
            return;
        }
        resolver_settings rs;
        rs.hold_per_neighbor = rc.config.responder.hold_per_neighbor;
        rs.retries = rc.config.responder.resolve_retries;
        rs.retry_ms = rc.config.responder.resolve_retry_ms;
        rs.timeout_s = rc.config.responder.neighbor_timeout_s;
        rs.failed_hold_ms = rc.config.responder.failed_hold_ms;
        rc.neighbors = std::make_unique<resolver>(rc.pipe->slow(), rc.pipe->fibs(),
                                                  rc.control_pool, rs, rte_get_tsc_hz());
        {
            std::lock_guard lock(g_telemetry_mutex);
            g_pipeline = rc.pipe.get();
        }
        rte_telemetry_register_cmd("/dpdk_app/stats", telemetry_stats,
                                   "Pipeline totals and drops by reason. No parameters");
        rc.started = std::chrono::steady_clock::now();
        rc.pipe->launch();
        rc.neighbors->announce();
        control_loop(rc);

        run_report report = make_report(rc, true);
        for (const auto& p : rc.ports) {
            stop_and_close_port(p.port_id);
        }
        report.mempool.available = rte_mempool_avail_count(rc.pool);
        {
            std::lock_guard lock(g_telemetry_mutex);
            g_pipeline = nullptr;
        }
        if (!write_stats(rc, report)) {
            code = exit_runtime;
        }
        print_summary(report);
    }();
    {
        std::lock_guard lock(g_telemetry_mutex);
        g_pipeline = nullptr;
    }
    rc.neighbors.reset();
    rc.pipe.reset();
    if (rc.pool != nullptr) {
        rte_mempool_free(rc.pool);
    }
    if (rc.control_pool != nullptr) {
        rte_mempool_free(rc.control_pool);
    }
    // EAL leaves its runtime directory (/var/run/dpdk/PREFIX) behind.
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir, ec);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fail(std::string("internal error: ") + e.what());
        return exit_runtime;
    }
}
