#include "ctl/telemetry.hpp"

#include <mutex>
#include <string>

#include <rte_telemetry.h>

namespace dpdk_app {

namespace {

// The telemetry thread reads counters under the mutex, so that shutdown
// can take the dataplane away safely.
std::mutex g_mutex;
const dataplane* g_dataplane = nullptr;

int stats_command(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_mutex);
    rte_tel_data_start_dict(d);
    if (g_dataplane == nullptr) {
        return 0;
    }
    const pipeline_stats s = g_dataplane->stats();
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

}  // namespace

void telemetry_attach(const dataplane* dp) {
    static const bool registered = [] {
        rte_telemetry_register_cmd("/dpdk_app/stats", stats_command,
                                   "Pipeline totals and drops by reason. No parameters");
        return true;
    }();
    (void)registered;
    std::lock_guard lock(g_mutex);
    g_dataplane = dp;
}

}  // namespace dpdk_app
