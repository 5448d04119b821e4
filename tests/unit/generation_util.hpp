// Test helper: a fib published the way the dataplane publishes it, as the
// table of a generation in a store (no RCU readers in unit tests).
#pragma once

#include <memory>

#include "pipeline/generation.hpp"
#include "route/fib.hpp"

namespace dpdk_app::unit {

inline std::unique_ptr<generation_store> store_with(std::unique_ptr<fib> f, uint64_t number = 1) {
    auto g = std::make_unique<generation>(number);
    if (f) {
        g->add(std::move(f));
    }
    auto store = std::make_unique<generation_store>(nullptr);
    store->publish(std::move(g), RTE_QSBR_THRID_INVALID);
    return store;
}

}  // namespace dpdk_app::unit
