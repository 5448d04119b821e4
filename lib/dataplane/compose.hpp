// Composition: which stages make up each lane's chain, in which order, and
// which tables make up a generation. This is the one place that knows every
// feature; lib/pipeline (the framework) knows none.
//
// The chain is fixed by position:
//
//   rx -> parse -> classify -> police -> route | bridge -> respond -> flow -> tx
//
// (flow.packets = "received" moves the flow stage to right after parse.)
//
// and a feature's stage is in it only when its configuration turns it on,
// so a configuration without a feature's section runs as if the feature did
// not exist. A feature joins by one entry in each table of compose.cpp:
// stage_registrations() (its stage), table_registrations() (its compiled
// tables, if any) and, where it fuses with its neighbours, fusion
// registrations. docs/adding-a-stage.md walks through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "io/port.hpp"
#include "pipeline/generation.hpp"
#include "pipeline/stage.hpp"

namespace dpdk_app {

class slow_path;
class neighbor_table;
class flow_exporter;

// Where a stage sits in every lane's chain, in chain order.
enum class chain_position : uint8_t { parse, flow_received, classify, police, forward, respond, flow };

// What a stage factory may hand to the stage it makes: settings from the
// configuration, and the state that outlives generations (owned by the
// dataplane, sized at start).
struct stage_deps {
    unsigned lane = 0;
    const app_config* config = nullptr;
    const std::vector<port_plan>* ports = nullptr;
    slow_path* slow = nullptr;  // the responder's queues to the control thread
    uint64_t tsc_hz = 0;
    flow_exporter* flows = nullptr;  // the flow stage's rings to the control thread
};

struct stage_registration {
    std::string_view name;  // in pipeline.placement and the stats
    chain_position position;
    std::string_view turned_on_by;  // the configuration that puts it in the chain (docs)
    bool (*enabled)(const app_config&);
    // nullptr with error set when the stage cannot be made (out of memory).
    std::unique_ptr<stage> (*make)(const stage_deps&, std::string& error);
};

// Adjacent stages that one stage does together faster (pipeline.fuse): used
// when all of them run on one lcore, and only then.
struct fusion_registration {
    std::vector<std::string_view> stages;  // in chain order
    std::unique_ptr<stage> (*make)(const stage_deps&, std::string& error);
};

// What table compilers may use: the ports in use and the state that
// outlives generations.
struct compile_env {
    const std::vector<port_plan>* ports = nullptr;
    neighbor_table* neighbors = nullptr;
    unsigned lanes = 1;  // per-lane counters in a table are sized by it
    // The generation in use (nullptr: none yet): what a table keeps across
    // a reload (the policers' bucket slots) is looked up in it.
    const generation* previous = nullptr;
};

// A feature's compiled tables. check runs without EAL (--check-config and
// before every reload); compile builds the tables into a generation.
struct table_registration {
    std::string_view name;
    void (*check)(const app_config&, std::vector<config_error>& errors);
    bool (*compile)(const app_config&, const compile_env&, generation& into,
                    std::vector<std::string>& errors);
};

const std::vector<stage_registration>& stage_registrations();
const std::vector<fusion_registration>& fusion_registrations();
const std::vector<table_registration>& table_registrations();

// The chain of a configuration: "rx", the stages it turns on in chain
// order, "tx".
std::vector<std::string> compose_chain(const app_config& config);

// Makes the stages of one placement group (middle stages, chain order) for
// one lane, fused where fuse allows. Returns false and sets error for a
// name that is no stage.
bool make_stages(const std::vector<std::string>& names, const stage_deps& deps, bool fuse,
                 std::vector<std::unique_ptr<stage>>& out, std::string& error);

// Checks of a parsed configuration that need the features: the placement
// against the chain, each feature's tables. Appends every error.
void check_config(const app_config& config, std::vector<config_error>& errors);

// Parses (a file, or the embedded default when path is empty) and checks:
// what --check-config, start and reload accept.
config_result load_checked_config(const std::optional<std::string>& path);

// Compiles every feature's tables into generation `number`. Returns nullptr
// and appends every error when one cannot be built.
std::unique_ptr<generation> compile_generation(const app_config& config, const compile_env& env,
                                               uint64_t number, std::vector<std::string>& errors);

}  // namespace dpdk_app
