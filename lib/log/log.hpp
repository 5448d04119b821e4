// The appliance's own messages, through rte_log: one log type per
// component ("dpdk_app.<component>"), each with its level, set by the
// configuration ([log]), on the command line (--log) and by EAL's own
// --log-level ("--log-level=dpdk_app.flow:debug" before the "--"). Messages
// go to stderr, as DPDK's own once log_start() ran (EAL's default would be
// stdout and syslog). Before EAL is up (configuration errors, option
// errors) a message at or above the default level goes to stderr directly.
//
// Nothing here is for the fast path: the lanes never log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpdk_app {

enum class log_component : uint8_t {
    app,        // start, stop, signals, the run's own failures
    config,     // reloads: accepted, rejected and why
    dataplane,  // ports, lcores, placement
    neighbors,  // ARP / NDP resolution of next hops
    flow,       // the flow exporter and its collectors
};
inline constexpr std::size_t log_component_count = 5;

// rte_log's levels (RTE_LOG_EMERG 1 .. RTE_LOG_DEBUG 8).
enum class log_level : uint32_t {
    emerg = 1, alert, crit, error, warning, notice, info, debug,
};
inline constexpr log_level default_log_level = log_level::info;

std::string_view name_of(log_component c) noexcept;
std::string_view name_of(log_level l) noexcept;

// "debug", "info", ..., "emerg" (also "err", "warn"), any case.
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

// One setting: every component (component empty) or one, at a level.
struct log_setting {
    std::optional<log_component> component;
    log_level level = default_log_level;
    bool operator==(const log_setting&) const = default;
};

// "LEVEL" or "COMPONENT:LEVEL"; nullopt with error (naming the accepted
// words) for anything else.
std::optional<log_setting> parse_log_setting(std::string_view text, std::string& error);

// After rte_eal_init: registers the log types (their levels from EAL's
// --log-level, else the default) and sends rte_log's output to stderr.
void log_start();
// Sets the levels, in order (a later setting wins).
void log_apply(const std::vector<log_setting>& settings);
// The level in force for c.
log_level log_level_of(log_component c) noexcept;

// Logs "dpdk-app: " + the message + "\n" when c's level admits level.
void log(log_component c, log_level level, const char* fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));

// log() of a line that may already carry the "dpdk-app: " prefix (messages
// built as text for other uses too).
void log_text(log_component c, log_level level, std::string_view line) noexcept;

}  // namespace dpdk_app
