// Test helpers of the firewall's suites (classify, conntrack, exact): the
// configuration's errors as text, a checked configuration, and a fixture
// with an mbuf pool of its own for the suite.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "config/config.hpp"
#include "dataplane/compose.hpp"
#include "eal_env.hpp"
#include "packet/meta.hpp"

namespace dpdk_app::unit {

// Each error as config_error::to_string() writes it ("file:line:col: message").
inline std::vector<std::string> messages(const std::vector<config_error>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) {
        out.push_back(e.to_string());
    }
    return out;
}

// text parsed (its errors naming source) and checked, as at load.
inline config_result checked(const std::string& text, std::string_view source = "fw.toml") {
    config_result r = parse_config(text, source);
    check_config(r.config, r.errors);
    return r;
}

// A fixture whose suite has an mbuf pool of its own, pool_: Suite::pool_size
// mbufs with packet_meta's private area, named Suite::pool_name, made before
// the suite's first test and freed after its last. Each test needs EAL and
// the pool, and must give every mbuf back. Use as
//   class my_test : public unit::pool_test<my_test> {
//     public:
//       static constexpr const char* pool_name = "my_pool";
//       static constexpr unsigned pool_size = 511;
//       ...
template <typename Suite>
class pool_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (dpdk_environment::error().empty()) {
            pool_ = rte_pktmbuf_pool_create(Suite::pool_name, Suite::pool_size, 0,
                                            packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE,
                                            static_cast<int>(rte_socket_id()));
        }
    }
    static void TearDownTestSuite() {
        rte_mempool_free(pool_);
        pool_ = nullptr;
    }
    void SetUp() override {
        ASSERT_EQ(dpdk_environment::error(), "");
        ASSERT_NE(pool_, nullptr);
    }
    void TearDown() override {
        if (pool_ != nullptr) {
            EXPECT_EQ(rte_mempool_avail_count(pool_), Suite::pool_size) << "mbufs leaked";
        }
    }

    static inline rte_mempool* pool_ = nullptr;
};

}  // namespace dpdk_app::unit
