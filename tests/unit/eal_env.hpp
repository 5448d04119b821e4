// EAL for the whole unit test binary, initialised once (rte_eal_init can run
// only once per process): no hugepages, no PCI, one lcore, its own file
// prefix. Also the shared mbuf pool without a private area.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include <rte_mempool.h>

namespace dpdk_app::unit {

class dpdk_environment : public ::testing::Environment {
  public:
    static constexpr unsigned pool_size = 4095;

    void SetUp() override;
    void TearDown() override;

    // The shared pool (pool_size mbufs, no private area); nullptr if EAL failed.
    static rte_mempool* pool() { return pool_; }
    // Why EAL or the pool could not be set up; empty when they were.
    static const std::string& error() { return error_; }
    // "--lcores=0@(a,b,...)" over the CPUs of this process's affinity mask.
    static std::string lcore_map();

  private:
    static inline rte_mempool* pool_ = nullptr;
    static inline std::string error_;
    bool eal_up_ = false;
    std::string prefix_;
    std::string runtime_dir_;
};

}  // namespace dpdk_app::unit
