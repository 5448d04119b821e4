#include "ctl/telemetry.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

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

// The firewall's counters: "rules" (how many), the default policy's
// packets and bytes, with [firewall.exact] its entries and "exact_accept_*" /
// "exact_drop_*" hits, then "<n>_packets" / "<n>_bytes" of rule n (1-based,
// in order) for up to rules_per_reply rules from the parameter (default 1).
constexpr std::size_t rules_per_reply = (RTE_TEL_MAX_DICT_ENTRIES - 8) / 2;

// A command's parameter: the first row (1-based) to list; none: 1. false
// for anything but a positive number.
bool first_row(const char* params, std::size_t& first) {
    first = 1;
    if (params == nullptr || *params == '\0') {
        return true;
    }
    char* end = nullptr;
    const unsigned long v = std::strtoul(params, &end, 10);
    first = v;
    return end != params && *end == '\0' && v != 0;
}

int firewall_command(const char*, const char* params, rte_tel_data* d) {
    std::size_t first = 1;
    if (!first_row(params, first)) {
        return -EINVAL;
    }
    std::lock_guard lock(g_mutex);
    rte_tel_data_start_dict(d);
    if (g_dataplane == nullptr) {
        return 0;
    }
    const auto rows = g_dataplane->firewall_report();
    if (rows.empty()) {
        return 0;
    }
    const std::size_t rules = rows.size() - 1;
    rte_tel_data_add_dict_u64(d, "rules", rules);
    rte_tel_data_add_dict_u64(d, "default_packets", rows.back().packets);
    rte_tel_data_add_dict_u64(d, "default_bytes", rows.back().bytes);
    if (const auto exact = g_dataplane->exact_report()) {
        rte_tel_data_add_dict_u64(d, "exact_entries", exact->entries);
        rte_tel_data_add_dict_u64(d, "exact_accept_packets", exact->hits.accept_packets);
        rte_tel_data_add_dict_u64(d, "exact_accept_bytes", exact->hits.accept_bytes);
        rte_tel_data_add_dict_u64(d, "exact_drop_packets", exact->hits.drop_packets);
        rte_tel_data_add_dict_u64(d, "exact_drop_bytes", exact->hits.drop_bytes);
    }
    for (std::size_t n = first; n <= rules && n < first + rules_per_reply; ++n) {
        const std::string key = std::to_string(n);
        rte_tel_data_add_dict_u64(d, (key + "_packets").c_str(), rows[n - 1].packets);
        rte_tel_data_add_dict_u64(d, (key + "_bytes").c_str(), rows[n - 1].bytes);
    }
    return 0;
}

// The policers' counters: "policers" (how many), then per policer n
// (1-based, in the configuration's order) "<n>_name" and
// "<n>_<colour>_packets" / "<n>_<colour>_bytes", "<n>_dropped",
// "<n>_remarked" (and per source "<n>_table_full" and "<n>_top_sources",
// its top talkers as strings "SOURCE dropped D bytes B packets P") for up
// to policers_per_reply policers from the parameter (default 1), fewer
// when their top talkers would not fit a reply; "next": the number to ask
// from for the rest (0: none left).
constexpr std::size_t policers_per_reply = (RTE_TEL_MAX_DICT_ENTRIES - 2) / 11;
// What a reply may take (DPDK 22.11 sends at most 16 KiB and leaves out
// what does not fit), with room for the counters' keys and values.
constexpr std::size_t policer_reply_budget = 12 * 1024;

// rte_telemetry_register_cmd refuses a help of RTE_TEL_MAX_STRING_LEN or more.
constexpr char policers_help[] =
    "Policers: <n>_name, <n>_<colour>_packets/_bytes, _dropped, _remarked, _top_sources; "
    "next. Parameter: first policer";
static_assert(sizeof(policers_help) <= RTE_TEL_MAX_STRING_LEN);

int policers_command(const char*, const char* params, rte_tel_data* d) {
    std::size_t first = 1;
    if (!first_row(params, first)) {
        return -EINVAL;
    }
    std::lock_guard lock(g_mutex);
    rte_tel_data_start_dict(d);
    if (g_dataplane == nullptr) {
        return 0;
    }
    const auto rows = g_dataplane->policer_reports();
    rte_tel_data_add_dict_u64(d, "policers", rows.size());
    static constexpr std::array<const char*, 3> colors = {"green", "yellow", "red"};
    std::size_t used = 0;
    std::size_t n = first;
    for (; n <= rows.size() && n < first + policers_per_reply; ++n) {
        const auto& p = rows[n - 1];
        std::vector<std::string> talkers;
        std::size_t size = 10 * 48;
        for (const auto& t : p.top_sources) {
            talkers.push_back(t.source + " dropped " + std::to_string(t.dropped) + " bytes " +
                              std::to_string(t.bytes) + " packets " + std::to_string(t.packets));
            size += talkers.back().size() + 4;
        }
        if (n > first && used + size > policer_reply_budget) {
            break;
        }
        used += size;
        const std::string key = std::to_string(n) + "_";
        rte_tel_data_add_dict_string(d, (key + "name").c_str(), p.name.c_str());
        for (std::size_t c = 0; c < colors.size(); ++c) {
            rte_tel_data_add_dict_u64(d, (key + colors[c] + "_packets").c_str(), p.packets[c]);
            rte_tel_data_add_dict_u64(d, (key + colors[c] + "_bytes").c_str(), p.bytes[c]);
        }
        rte_tel_data_add_dict_u64(d, (key + "dropped").c_str(), p.dropped);
        rte_tel_data_add_dict_u64(d, (key + "remarked").c_str(), p.remarked);
        if (p.scope == policer_scope::per_source) {
            rte_tel_data_add_dict_u64(d, (key + "table_full").c_str(), p.table_full);
            rte_tel_data* top = rte_tel_data_alloc();
            if (top != nullptr) {
                rte_tel_data_start_array(top, RTE_TEL_STRING_VAL);
                for (const auto& t : talkers) {
                    rte_tel_data_add_array_string(top, t.c_str());
                }
                const std::string name = key + "top_sources";
                if (rte_tel_data_add_dict_container(d, name.c_str(), top, 0) != 0) {
                    rte_tel_data_free(top);
                }
            }
        }
    }
    rte_tel_data_add_dict_u64(d, "next", n <= rows.size() ? n : 0);
    return 0;
}

// Flow accounting: the ledger (created, exported, queued, lost, live,
// evicted, table_full, active_reports, sampled_out), per collector c<i>
// its address, messages, records and errors, then the largest live flows
// by bytes (the default) or by packets (the parameter): per flow n
// "<n>_src", "<n>_dst", "<n>_proto", "<n>_sport", "<n>_dport",
// "<n>_packets", "<n>_bytes", as many as a reply holds.
constexpr std::size_t collectors_per_reply = 8;
constexpr std::size_t flows_per_reply =
    (RTE_TEL_MAX_DICT_ENTRIES - 9 - 4 * collectors_per_reply) / 7;

constexpr char flows_help[] =
    "Flows: the ledger, c<i>_ collectors, <n>_ the largest live flows. Parameter: bytes "
    "(default) or packets";
static_assert(sizeof(flows_help) <= RTE_TEL_MAX_STRING_LEN);

int flows_command(const char*, const char* params, rte_tel_data* d) {
    bool by_packets = false;
    if (params != nullptr && *params != '\0') {
        const std::string p = params;
        if (p == "packets") {
            by_packets = true;
        } else if (p != "bytes") {
            return -EINVAL;
        }
    }
    std::lock_guard lock(g_mutex);
    rte_tel_data_start_dict(d);
    if (g_dataplane == nullptr) {
        return 0;
    }
    const auto f = g_dataplane->flow_summary();
    if (!f) {
        return 0;
    }
    const std::pair<const char*, uint64_t> ledger[] = {
        {"created", f->created},
        {"exported", f->exported},
        {"queued", f->queued},
        {"lost", f->lost},
        {"live", f->live},
        {"evicted", f->evicted},
        {"table_full", f->table_full},
        {"active_reports", f->active_reports},
        {"sampled_out", f->sampled_out},
    };
    for (const auto& [name, value] : ledger) {
        rte_tel_data_add_dict_u64(d, name, value);
    }
    for (std::size_t i = 0; i < f->collectors.size() && i < collectors_per_reply; ++i) {
        const auto& c = f->collectors[i];
        const std::string key = "c" + std::to_string(i + 1) + "_";
        rte_tel_data_add_dict_string(d, (key + "address").c_str(), c.address.c_str());
        rte_tel_data_add_dict_u64(d, (key + "messages").c_str(), c.messages);
        rte_tel_data_add_dict_u64(d, (key + "records").c_str(), c.records);
        rte_tel_data_add_dict_u64(d, (key + "errors").c_str(), c.errors);
    }
    const auto& rows = by_packets ? f->top_packets : f->top_octets;
    for (std::size_t n = 1; n <= rows.size() && n <= flows_per_reply; ++n) {
        const auto& r = rows[n - 1];
        const std::string key = std::to_string(n) + "_";
        rte_tel_data_add_dict_string(d, (key + "src").c_str(), r.src.c_str());
        rte_tel_data_add_dict_string(d, (key + "dst").c_str(), r.dst.c_str());
        rte_tel_data_add_dict_u64(d, (key + "proto").c_str(), r.proto);
        rte_tel_data_add_dict_u64(d, (key + "sport").c_str(), r.sport);
        rte_tel_data_add_dict_u64(d, (key + "dport").c_str(), r.dport);
        rte_tel_data_add_dict_u64(d, (key + "packets").c_str(), r.packets);
        rte_tel_data_add_dict_u64(d, (key + "bytes").c_str(), r.octets);
    }
    return 0;
}

}  // namespace

void telemetry_attach(const dataplane* dp) {
    static const bool registered = [] {
        rte_telemetry_register_cmd("/dpdk_app/stats", stats_command,
                                   "Pipeline totals and drops by reason. No parameters");
        rte_telemetry_register_cmd("/dpdk_app/firewall", firewall_command,
                                   "Firewall hits: the default policy and each rule "
                                   "(<n>_packets, <n>_bytes). Parameter: first rule number");
        rte_telemetry_register_cmd("/dpdk_app/policers", policers_command, policers_help);
        rte_telemetry_register_cmd("/dpdk_app/flows", flows_command, flows_help);
        return true;
    }();
    (void)registered;
    std::lock_guard lock(g_mutex);
    g_dataplane = dp;
}

}  // namespace dpdk_app
