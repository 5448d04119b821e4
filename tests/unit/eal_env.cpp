#include "eal_env.hpp"

#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

namespace dpdk_app::unit {

void dpdk_environment::SetUp() {
    prefix_ = "unit" + std::to_string(::getpid());
    // One lcore (id 0). It may run on any CPU this process may use rather than
    // being pinned to CPU 0 (-l 0): the machine running the tests is shared.
    std::vector<std::string> args = {"unit_tests",  "--no-huge", "--no-pci",      lcore_map(),
                                     "-m",          "512",       "--file-prefix", prefix_,
                                     "--log-level", "error",     "--no-telemetry"};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        error_ = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
        return;
    }
    eal_up_ = true;
    runtime_dir_ = rte_eal_get_runtime_dir();
    pool_ = rte_pktmbuf_pool_create("unit_pool", pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    if (pool_ == nullptr) {
        error_ = std::string("rte_pktmbuf_pool_create failed: ") + rte_strerror(rte_errno);
    }
}

void dpdk_environment::TearDown() {
    if (pool_ != nullptr) {
        rte_mempool_free(pool_);
        pool_ = nullptr;
    }
    if (eal_up_) {
        rte_eal_cleanup();
        eal_up_ = false;
        // EAL leaves its (empty) runtime directory behind; it is ours alone.
        std::error_code ec;
        if (std::filesystem::path(runtime_dir_).filename() == prefix_) {
            std::filesystem::remove_all(runtime_dir_, ec);
        }
    }
}

std::string dpdk_environment::lcore_map() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::string cpus;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &set)) {
                if (!cpus.empty()) {
                    cpus += ',';
                }
                cpus += std::to_string(cpu);
            }
        }
    }
    std::string arg = "--lcores=0";
    if (!cpus.empty()) {
        arg.append("@(").append(cpus).append(")");
    }
    return arg;
}

namespace {

[[maybe_unused]] ::testing::Environment* const dpdk_env =
    ::testing::AddGlobalTestEnvironment(new dpdk_environment);

}  // namespace

}  // namespace dpdk_app::unit
