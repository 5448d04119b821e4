// Test helpers of the firewall's suites (classify, conntrack, exact): the
// configuration's errors as text, a checked configuration, and a fixture
// with an mbuf pool of its own for the suite.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "config/config.hpp"
#include "dataplane/compose.hpp"
#include "eal_env.hpp"
#include "mbuf_util.hpp"
#include "packet/meta.hpp"
#include "parse/parse_stage.hpp"
#include "pipeline/stage.hpp"

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

// What a burst's packets became after the stages: per packet (in order)
// "pass" or the name of the drop reason it was counted under, and the
// frames that passed.
struct burst_outcome {
    std::vector<std::string> fate;
    std::vector<std::vector<uint8_t>> passed;
};

// Builds one burst of frames (each with its arrival port) from pool,
// parses it and runs stages over it at TSC now with gen, counting into
// counters; frees every mbuf.
inline burst_outcome run_burst(rte_mempool* pool,
                               const std::vector<std::pair<std::vector<uint8_t>, uint16_t>>& frames,
                               const std::vector<stage*>& stages, segment_counters& counters,
                               const generation* gen, uint64_t now) {
    burst_outcome out;
    burst b;
    for (const auto& [frame, port] : frames) {
        rte_mbuf* m = make_mbuf(pool, frame, port);
        if (m == nullptr) {
            rte_pktmbuf_free_bulk(b.pkts.data(), b.count);
            return out;
        }
        b.pkts[b.count++] = m;
    }
    stage_context ctx(counters, gen);
    ctx.set_now(now);
    parse_burst(b, 0, ctx);
    EXPECT_EQ(b.count, frames.size()) << "a test frame was malformed";
    const std::vector<rte_mbuf*> in(b.pkts.begin(), b.pkts.begin() + b.count);
    std::vector<uint64_t> before(drop_reason_count);
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        before[r] = counters.drops[r].get();
    }
    for (stage* s : stages) {
        s->process(b, ctx);
    }
    // Reasons in burst order: each drop added one to its reason.
    std::vector<std::string> reasons;
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        for (uint64_t n = before[r]; n < counters.drops[r].get(); ++n) {
            reasons.emplace_back(drop_reason_names[r]);
        }
    }
    std::size_t k = 0;
    for (rte_mbuf* m : in) {
        if (std::find(b.pkts.begin(), b.pkts.begin() + b.count, m) != b.pkts.begin() + b.count) {
            out.fate.emplace_back("pass");
            out.passed.push_back(frame_of(m));
        } else {
            out.fate.push_back(k < reasons.size() ? reasons[k++] : "lost");
        }
    }
    EXPECT_EQ(k, reasons.size());
    rte_pktmbuf_free_bulk(b.pkts.data(), b.count);
    ctx.free_discarded();
    return out;
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
