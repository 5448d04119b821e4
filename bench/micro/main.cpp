// micro_bench: Google Benchmark driver that brings EAL up once (no hugepages,
// no PCI, no shared config, its own file prefix) and creates the mbuf pool
// the benchmarks share. (--in-memory is refused together with --no-huge.)
//
//   micro_bench [--benchmark_* flags] [-- EAL args replacing the defaults]
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_version.h>

#include "io/port.hpp"

#include "common.hpp"

namespace dpdk_app_bench {
namespace {

rte_mempool* g_pool = nullptr;
rte_mempool* g_page_pool = nullptr;
unsigned g_worker = RTE_MAX_LCORE;

// EAL leaves the runtime directory of the file prefix behind (it holds
// nothing once the process is gone): remove ours, and only ours.
void remove_runtime_dir(const std::string& prefix) {
    const std::filesystem::path dir = rte_eal_get_runtime_dir();
    if (dir.filename() == prefix) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
}

}  // namespace

rte_mempool* mbuf_pool() noexcept {
    return g_pool;
}
rte_mempool* page_mbuf_pool() noexcept {
    return g_page_pool;
}
unsigned worker_lcore() noexcept {
    return g_worker;
}

}  // namespace dpdk_app_bench

int main(int argc, char** argv) {
    using namespace dpdk_app_bench;
    const std::string prefix = "micro_bench_" + std::to_string(::getpid());
    std::vector<std::string> eal = {
        argv[0], "-l",          "0-1",   "--no-huge",      "--no-pci",      "--no-shconf", "-m",
        "1024",  "--log-level", "error", "--no-telemetry", "--file-prefix", prefix};
    std::vector<char*> bench_argv = {argv[0]};
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            eal.resize(1);
            for (int j = i + 1; j < argc; ++j) {
                eal.emplace_back(argv[j]);
            }
            break;
        }
        bench_argv.push_back(argv[i]);
    }
    int bench_argc = static_cast<int>(bench_argv.size());
    bench_argv.push_back(nullptr);
    benchmark::Initialize(&bench_argc, bench_argv.data());
    if (benchmark::ReportUnrecognizedArguments(bench_argc, bench_argv.data())) {
        return 2;
    }

    std::vector<char*> eal_argv;
    for (auto& a : eal) {
        eal_argv.push_back(a.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "micro_bench: EAL initialisation failed: %s\n",
                     rte_strerror(rte_errno));
        remove_runtime_dir(prefix);
        return 1;
    }
    g_worker = rte_get_next_lcore(-1, 1, 0);
    // Packed mbufs, as on hugepages (see dpdk_app::create_mbuf_pool).
    g_pool = dpdk_app::create_mbuf_pool("bench_mbufs", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
    g_page_pool =
        rte_pktmbuf_pool_create("bench_page_mbufs", 1023, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                static_cast<int>(rte_socket_id()));
    if (g_pool == nullptr || g_page_pool == nullptr) {
        std::fprintf(stderr, "micro_bench: cannot create the mbuf pool: %s\n",
                     rte_strerror(rte_errno));
        rte_mempool_free(g_page_pool);
        rte_mempool_free(g_pool);
        rte_eal_cleanup();
        remove_runtime_dir(prefix);
        return 1;
    }

    benchmark::AddCustomContext("dpdk", rte_version());
    benchmark::AddCustomContext("tsc_hz", std::to_string(rte_get_tsc_hz()));
    benchmark::AddCustomContext("main_lcore", std::to_string(rte_get_main_lcore()));
    benchmark::AddCustomContext("worker_lcore",
                                g_worker < RTE_MAX_LCORE ? std::to_string(g_worker) : "none");
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    rte_mempool_free(g_page_pool);
    rte_mempool_free(g_pool);
    rte_eal_cleanup();
    remove_runtime_dir(prefix);
    return 0;
}
