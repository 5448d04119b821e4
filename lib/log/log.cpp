#include "log/log.hpp"

#include <array>
#include <atomic>
#include <cctype>
#include <cstdarg>
#include <cstdio>

#include <rte_log.h>

namespace dpdk_app {

namespace {

constexpr std::array<std::string_view, log_component_count> component_names = {
    "app", "config", "dataplane", "neighbors", "flow"};
constexpr std::array<std::string_view, 8> level_names = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};

// The rte_log type of each component, -1 before log_start().
std::array<std::atomic<int>, log_component_count> types = {-1, -1, -1, -1, -1};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
}

std::string word_list(const auto& names) {
    std::string out;
    for (auto n : names) {
        out += (out.empty() ? "" : ", ") + std::string(n);
    }
    return out;
}

}  // namespace

std::string_view name_of(log_component c) noexcept {
    return component_names[static_cast<std::size_t>(c)];
}

std::string_view name_of(log_level l) noexcept {
    return level_names[static_cast<std::size_t>(l) - 1];
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
    const std::string t = lower(text);
    if (t == "err") {
        return log_level::error;
    }
    if (t == "warn") {
        return log_level::warning;
    }
    for (std::size_t i = 0; i < level_names.size(); ++i) {
        if (t == level_names[i]) {
            return static_cast<log_level>(i + 1);
        }
    }
    return std::nullopt;
}

std::optional<log_setting> parse_log_setting(std::string_view text, std::string& error) {
    log_setting s;
    std::string_view level = text;
    if (const auto colon = text.find(':'); colon != std::string_view::npos) {
        const std::string c = lower(text.substr(0, colon));
        level = text.substr(colon + 1);
        bool found = false;
        for (std::size_t i = 0; i < component_names.size(); ++i) {
            if (c == component_names[i]) {
                s.component = static_cast<log_component>(i);
                found = true;
            }
        }
        if (!found) {
            error = "unknown log component '" + c + "' (expected one of " +
                    word_list(component_names) + ")";
            return std::nullopt;
        }
    }
    const auto l = parse_log_level(level);
    if (!l) {
        error = "unknown log level '" + std::string(level) + "' (expected one of " +
                word_list(level_names) + ")";
        return std::nullopt;
    }
    s.level = *l;
    return s;
}

void log_start() {
    for (std::size_t i = 0; i < component_names.size(); ++i) {
        const std::string name = "dpdk_app." + std::string(component_names[i]);
        const int t = rte_log_register_type_and_pick_level(name.c_str(),
                                                           static_cast<uint32_t>(default_log_level));
        types[i].store(t);
    }
    rte_openlog_stream(stderr);
}

void log_apply(const std::vector<log_setting>& settings) {
    for (const auto& s : settings) {
        for (std::size_t i = 0; i < component_names.size(); ++i) {
            if (s.component && static_cast<std::size_t>(*s.component) != i) {
                continue;
            }
            if (const int t = types[i].load(); t >= 0) {
                rte_log_set_level(static_cast<uint32_t>(t), static_cast<uint32_t>(s.level));
            }
        }
    }
}

log_level log_level_of(log_component c) noexcept {
    const int t = types[static_cast<std::size_t>(c)].load();
    if (t < 0) {
        return default_log_level;
    }
    const int l = rte_log_get_level(static_cast<uint32_t>(t));
    return l >= 1 && l <= 8 ? static_cast<log_level>(l) : default_log_level;
}

void log(log_component c, log_level level, const char* fmt, ...) noexcept {
    const int t = types[static_cast<std::size_t>(c)].load();
    if (t >= 0 ? !rte_log_can_log(static_cast<uint32_t>(t), static_cast<uint32_t>(level))
               : level > default_log_level) {
        return;  // not even formatted
    }
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (t < 0) {
        std::fprintf(stderr, "dpdk-app: %s\n", text);  // before EAL: the default level decided
        return;
    }
    rte_log(static_cast<uint32_t>(level), static_cast<uint32_t>(t), "dpdk-app: %s\n", text);
}

void log_text(log_component c, log_level level, std::string_view line) noexcept {
    constexpr std::string_view prefix = "dpdk-app: ";
    if (line.starts_with(prefix)) {
        line.remove_prefix(prefix.size());
    }
    log(c, level, "%.*s", static_cast<int>(line.size()), line.data());
}

}  // namespace dpdk_app
