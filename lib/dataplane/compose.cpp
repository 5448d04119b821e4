#include "dataplane/compose.hpp"

#include <algorithm>

#include "classify/acl.hpp"
#include "classify/classify_stage.hpp"
#include "classify/exact.hpp"
#include "flow/flow_stage.hpp"
#include "forward/bridge.hpp"
#include "parse/parse_stage.hpp"
#include "police/police_stage.hpp"
#include "police/police_table.hpp"
#include "respond/respond_stage.hpp"
#include "route/fib.hpp"
#include "route/route_stage.hpp"

namespace dpdk_app {

namespace {

bool validating(const app_config& c) {
    return c.validate;  // router mode always validates (a config error otherwise)
}
bool bridging(const app_config& c) {
    return c.mode == forwarding_mode::bridge;
}
bool routing(const app_config& c) {
    return c.mode == forwarding_mode::router;
}

bool counting_flows(const app_config& c, flow_packets which) {
    return c.flow && c.flow->packets == which;
}

std::unique_ptr<stage> make_flow_stage(const stage_deps& d, std::string& error) {
    if (d.flows == nullptr) {
        error = "the flow stage has no exporter";
        return nullptr;
    }
    return flow_stage::create(d.lane, *d.config->flow, *d.flows, d.tsc_hz, error);
}

responder_settings responder_of(const stage_deps& d) {
    return responder_settings_from(*d.config);
}

}  // namespace

const std::vector<stage_registration>& stage_registrations() {
    static const std::vector<stage_registration> all = {
        {"parse", chain_position::parse, "dataplane.validate = true (the default)", validating,
         [](const stage_deps&, std::string&) -> std::unique_ptr<stage> {
             return std::make_unique<parse_stage>();
         }},
        {"classify", chain_position::classify, "a [firewall] section",
         [](const app_config& c) { return c.firewall.has_value(); },
         [](const stage_deps& d, std::string& error) -> std::unique_ptr<stage> {
             return classify_stage::create(d.lane, *d.config->firewall, error);
         }},
        {"police", chain_position::police,
         "a police key on a [[port]] or a [[firewall.rule]]", policers_attached,
         [](const stage_deps& d, std::string& error) -> std::unique_ptr<stage> {
             return police_stage::create(d.lane, *d.config, error);
         }},
        {"bridge", chain_position::forward, "dataplane.mode = \"bridge\"", bridging,
         [](const stage_deps& d, std::string&) -> std::unique_ptr<stage> {
             return std::make_unique<bridge_stage>(*d.ports);
         }},
        {"route", chain_position::forward, "dataplane.mode = \"router\"", routing,
         [](const stage_deps&, std::string&) -> std::unique_ptr<stage> {
             return std::make_unique<route_stage>();
         }},
        {"respond", chain_position::respond, "parsed packets (dataplane.validate)", validating,
         [](const stage_deps& d, std::string&) -> std::unique_ptr<stage> {
             return std::make_unique<respond_stage>(d.slow, d.lane, responder_of(d), d.tsc_hz);
         }},
        // One stage, at one of two places: flow.packets picks which.
        {"flow", chain_position::flow, "a [flow] section",
         [](const app_config& c) { return counting_flows(c, flow_packets::forwarded); },
         make_flow_stage},
        {"flow", chain_position::flow_received, "a [flow] section with packets = \"received\"",
         [](const app_config& c) { return counting_flows(c, flow_packets::received); },
         make_flow_stage},
    };
    return all;
}

const std::vector<fusion_registration>& fusion_registrations() {
    static const std::vector<fusion_registration> all = {
        {{"parse", "route", "respond"},
         [](const stage_deps& d, std::string&) -> std::unique_ptr<stage> {
             // The flow stage reads the metadata of forwarded packets,
             // which the fused stage writes only when asked.
             return std::make_unique<parse_route_respond_stage>(
                 d.slow, d.lane, responder_of(d), d.tsc_hz, d.config->flow.has_value());
         }},
        {{"parse", "bridge", "respond"},
         [](const stage_deps& d, std::string&) -> std::unique_ptr<stage> {
             return std::make_unique<parse_bridge_respond_stage>(*d.ports, d.slow, d.lane,
                                                                 responder_of(d), d.tsc_hz);
         }},
    };
    return all;
}

const std::vector<table_registration>& table_registrations() {
    static const std::vector<table_registration> all = {
        {"fib",
         [](const app_config& c, std::vector<config_error>& errors) {
             // Gateways on interface subnets, duplicates, address families:
             // needs every route, the routes file's too.
             resolve_router(c.router, c.source, errors);
         },
         [](const app_config& c, const compile_env& env, generation& into,
            std::vector<std::string>& errors) {
             auto f = compile_fib(c, *env.ports, into.number(), *env.neighbors, errors);
             if (!f) {
                 return false;
             }
             into.add(std::move(f));
             return true;
         }},
        // Before the firewall: its rules mark packets with their policer's slot.
        {"policers", check_policers,
         [](const app_config& c, const compile_env& env, generation& into,
            std::vector<std::string>& errors) {
             if (c.policers.empty()) {
                 return true;
             }
             const policer_table* previous =
                 env.previous != nullptr ? env.previous->find<policer_table>() : nullptr;
             auto t = policer_table::build(c, *env.ports, env.lanes, rte_get_tsc_hz(),
                                           into.number(), previous, errors);
             if (!t) {
                 return false;
             }
             into.add(std::move(t));
             return true;
         }},
        {"firewall", check_firewall,
         [](const app_config& c, const compile_env& env, generation& into,
            std::vector<std::string>& errors) {
             if (!c.firewall) {
                 return true;
             }
             std::vector<uint32_t> marks;
             if (const policer_table* p = into.find<policer_table>()) {
                 for (const auto& r : c.firewall->rules) {
                     marks.push_back(r.police ? p->mark_of(*r.police) : 0);
                 }
             }
             auto t = acl_table::build(*c.firewall, *env.ports, env.lanes, errors, std::move(marks));
             if (!t) {
                 return false;
             }
             into.add(std::move(t));
             return true;
         }},
        {"firewall.exact", [](const app_config&, std::vector<config_error>&) {},
         [](const app_config& c, const compile_env& env, generation& into,
            std::vector<std::string>& errors) {
             if (!c.firewall || !c.firewall->exact) {
                 return true;
             }
             auto t = exact_table::build(*c.firewall->exact, env.lanes, errors);
             if (!t) {
                 return false;
             }
             into.add(std::move(t));
             return true;
         }},
    };
    return all;
}

std::vector<std::string> compose_chain(const app_config& config) {
    std::vector<const stage_registration*> on;
    for (const auto& r : stage_registrations()) {
        if (r.enabled(config)) {
            on.push_back(&r);
        }
    }
    std::stable_sort(on.begin(), on.end(), [](const auto* a, const auto* b) {
        return a->position < b->position;
    });
    std::vector<std::string> chain = {"rx"};
    for (const auto* r : on) {
        chain.emplace_back(r->name);
    }
    chain.emplace_back("tx");
    return chain;
}

bool make_stages(const std::vector<std::string>& names, const stage_deps& deps, bool fuse,
                 std::vector<std::unique_ptr<stage>>& out, std::string& error) {
    std::size_t k = 0;
    while (k < names.size()) {
        const fusion_registration* fused = nullptr;
        if (fuse) {
            for (const auto& f : fusion_registrations()) {
                if (k + f.stages.size() <= names.size() &&
                    std::equal(f.stages.begin(), f.stages.end(), names.begin() + k) &&
                    (fused == nullptr || f.stages.size() > fused->stages.size())) {
                    fused = &f;
                }
            }
        }
        std::unique_ptr<stage> made;
        if (fused != nullptr) {
            made = fused->make(deps, error);
            k += fused->stages.size();
        } else {
            const auto& all = stage_registrations();
            // A name may have a registration per place (flow): the one
            // this configuration turns on.
            const auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) {
                return r.name == names[k] && (deps.config == nullptr || r.enabled(*deps.config));
            });
            if (it == all.end()) {
                error = "unknown stage '" + names[k] + "'";
                return false;
            }
            made = it->make(deps, error);
            ++k;
        }
        if (made == nullptr) {
            return false;
        }
        out.push_back(std::move(made));
    }
    return true;
}


void check_config(const app_config& config, std::vector<config_error>& errors) {
    if (!config.placement.empty()) {
        const auto chain = compose_chain(config);
        std::vector<std::string> flat;
        for (const auto& group : config.placement) {
            flat.insert(flat.end(), group.begin(), group.end());
        }
        if (flat != chain) {
            std::string want;
            for (const auto& s : chain) {
                want += (want.empty() ? "" : ", ") + s;
            }
            errors.push_back(
                {config.source, config.placement_where,
                 "pipeline.placement: the groups must list the stages of this mode in order (" +
                     want + "), each exactly once"});
        }
    }
    for (const auto& t : table_registrations()) {
        t.check(config, errors);
    }
}

config_result load_checked_config(const std::optional<std::string>& path) {
    config_result r = path ? load_config_file(*path)
                           : parse_config(embedded_default_config(), "<embedded default>");
    check_config(r.config, r.errors);
    return r;
}

std::unique_ptr<generation> compile_generation(const app_config& config, const compile_env& env,
                                               uint64_t number, std::vector<std::string>& errors) {
    auto g = std::make_unique<generation>(number);
    bool ok = true;
    for (const auto& t : table_registrations()) {
        ok = t.compile(config, env, *g, errors) && ok;
    }
    return ok ? std::move(g) : nullptr;
}

}  // namespace dpdk_app
