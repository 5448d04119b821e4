// dpdk-app: options, EAL, signals and the control loop. What runs is built
// by lib/dataplane (ports, lanes, generations, reload); what is reported,
// by lib/ctl.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_version.h>

#include "config/options.hpp"
#include "ctl/preflight.hpp"
#include "ctl/report.hpp"
#include "ctl/telemetry.hpp"
#include "dataplane/compose.hpp"
#include "dataplane/dataplane.hpp"
#include "log/log.hpp"

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
    log(log_component::app, log_level::error, "%s", msg.c_str());
}

struct run_context {
    app_options options;
    std::unique_ptr<dataplane> dp;
    std::chrono::steady_clock::time_point started;
};

double seconds_since(const run_context& rc) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - rc.started).count();
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

// SIGHUP: the dataplane re-reads the configuration file and swaps in a new
// generation without stopping traffic; a configuration that fails keeps the
// running one.
void reload(run_context& rc) {
    const reload_outcome out = rc.dp->reload(rc.options.config_file);
    for (const auto& line : out.lines) {
        log_text(log_component::config, out.ok ? log_level::notice : log_level::error, line);
    }
    if (out.ok) {
        // The new configuration's [log], then the command line's --log.
        log_apply(rc.dp->config().log);
        log_apply(rc.options.log);
    }
}

// Runs the control loop until a signal, --duration or --idle-exit says stop,
// then drains the pipeline.
void control_loop(run_context& rc) {
    pipeline& pipe = rc.dp->pipe();
    const bool status = !rc.options.quiet && ::isatty(STDOUT_FILENO) != 0;
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    uint64_t last_status = start;
    uint64_t last_rx = 0;
    uint64_t last_rx_change = start;
    bool stopping = false;
    pipeline_stats last{};
    for (;;) {
        if (!pipe.run_main_slice(256)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const uint64_t now = rte_rdtsc();
        if (stopping) {
            if (pipe.finished()) {
                break;
            }
            continue;
        }
        rc.dp->poll(now);
        if (g_reload) {
            g_reload = 0;
            reload(rc);
        }
        if (g_dump) {
            g_dump = 0;
            write_stats(rc, make_report(*rc.dp, seconds_since(rc), false));
        }
        bool stop = g_stop != 0;
        if (rc.options.duration_s > 0 &&
            static_cast<double>(now - start) >= rc.options.duration_s * static_cast<double>(hz)) {
            stop = true;
        }
        if (rc.options.idle_exit_ms > 0) {
            const uint64_t rx = pipe.rx_total();
            if (rx != last_rx) {
                last_rx = rx;
                last_rx_change = now;
            } else if (rx > 0 && (now - last_rx_change) * 1000 / hz >= rc.options.idle_exit_ms) {
                stop = true;
            }
        }
        if (status && now - last_status >= hz) {
            const pipeline_stats current = rc.dp->stats();
            const double dt = static_cast<double>(now - last_status) / static_cast<double>(hz);
            std::fputs(status_line(current, last, dt, rc.dp->ports()).c_str(), stdout);
            std::fflush(stdout);
            last = current;
            last_status = now;
        }
        if (stop) {
            stopping = true;
            pipe.request_stop();
        }
    }
    if (status) {
        std::fputs("\n", stdout);
    }
    rc.dp->shutdown();
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
    config_result cfg = load_checked_config(rc.options.config_file);
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
    if (rc.options.preflight) {
        const auto findings = preflight(cfg.config, args.eal, machine_roots());
        std::fputs(preflight_text(findings).c_str(), stdout);
        return preflight_passes(findings) ? exit_ok : exit_runtime;
    }
    if (auto err = check_vdev_files(args.eal); !err.empty()) {
        fail(err);
        return exit_usage;
    }
    if (auto err = check_file_prefix(args.eal); !err.empty()) {
        fail(err);
        return exit_runtime;
    }
    if (!wants_no_huge(args.eal) && free_hugepages() == 0) {
        fail("no hugepages available: run scripts/hugepages.sh or pass --no-huge");
        return exit_runtime;
    }

    std::vector<char*> eal_argv;
    std::vector<std::string> eal_storage = args.eal;
    if (const std::string notice = map_lcores_to_cpus(eal_storage, available_cpus());
        !notice.empty()) {
        log_text(log_component::app, log_level::notice, notice);
    }
    for (auto& a : eal_storage) {
        eal_argv.push_back(a.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal_storage.size()), eal_argv.data()) < 0) {
        const int e = rte_errno;
        fail(e == 0 ? std::string("EAL initialisation failed (EAL's own lines above say why)")
                    : std::string("EAL initialisation failed: ") + rte_strerror(e) +
                          (e == EINVAL ? " (check the EAL arguments before `--`)" : ""));
        return e == EINVAL ? exit_usage : exit_runtime;
    }
    log_start();
    log_apply(cfg.config.log);
    log_apply(rc.options.log);
    int code = exit_ok;
    install_signals();
    dataplane::start_failure failure = dataplane::start_failure::none;
    rc.dp = dataplane::start(cfg.config, error, failure);
    if (!rc.dp) {
        fail(error);
        code = failure == dataplane::start_failure::usage ? exit_usage : exit_runtime;
    } else {
        telemetry_attach(rc.dp.get());
        rc.started = std::chrono::steady_clock::now();
        rc.dp->launch();
        control_loop(rc);

        run_report report = make_report(*rc.dp, seconds_since(rc), true);
        rc.dp->close_ports();
        report.mempool.available = rte_mempool_avail_count(rc.dp->pool());
        telemetry_attach(nullptr);
        if (!write_stats(rc, report)) {
            code = exit_runtime;
        }
        for (const auto& lost : short_tx_pcap_files(args.eal, report)) {
            fail(lost);
            code = exit_runtime;
        }
        std::fputs(summary_text(report).c_str(), stdout);
        std::fflush(stdout);
    }
    rc.dp.reset();
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
