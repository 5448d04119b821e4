// The configuration readers, on any text: the TOML loader and validator
// (parse_config, then check_config: what --check-config, start and reload
// run) and the line-oriented files a configuration names: routes
// (router.routes_file), iptables-save output (firewall.rules_file_iptables)
// and exact-match entries (firewall.exact.file). The input's first line
// picks the reader: "#routes", "#iptables" or "#exact" (a comment in every
// format), anything else is TOML. For every input:
//  - nothing is thrown out of a reader (libFuzzer reports an uncaught
//    exception as a crash);
//  - every error names the input and a position in it: line 1 up to the
//    line after the last, column 1 or more, and says something;
//  - a TOML configuration that passes has a chain, and compared with
//    itself needs no restart; every route read from a routes file names
//    where it came from.
// No EAL: --check-config runs without it, and so does everything here.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/iptables.hpp"
#include "dataplane/compose.hpp"
#include "dataplane/dataplane.hpp"

namespace dpdk_app {
namespace {

// Aborts (libFuzzer saves the input).
[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "fuzz_config: %s\n", why.c_str());
    std::abort();
}

uint32_t lines_of(std::string_view text) {
    uint32_t n = 1;
    for (char c : text) {
        n += c == '\n';
    }
    return n;
}

// An error as shown (config_error::to_string, what --check-config prints)
// is "SOURCE:LINE:COL: MESSAGE". Some carry the position in the source
// (a route's origin, "file:line:col"): the shown form is what is checked.
void check_errors(const std::vector<config_error>& errors, const std::string& source,
                  std::string_view text) {
    const uint32_t last_line = lines_of(text) + 1;
    for (const config_error& e : errors) {
        const std::string shown = e.to_string();
        std::size_t at = source.size() + 1;
        auto number = [&]() -> uint64_t {
            uint64_t n = 0;
            const std::size_t from = at;
            while (at < shown.size() && shown[at] >= '0' && shown[at] <= '9' && at - from < 10) {
                n = n * 10 + static_cast<uint64_t>(shown[at++] - '0');
            }
            return at == from ? 0 : n;
        };
        if (shown.compare(0, at, source + ":") != 0) {
            fail("an error does not name the input: " + shown);
        }
        const uint64_t line = number();
        const bool colon = at < shown.size() && shown[at++] == ':';
        const uint64_t column = number();
        if (line == 0 || line > last_line || !colon || column == 0 ||
            shown.compare(at, 2, ": ") != 0) {
            fail("an error has no position in the input: " + shown);
        }
        if (shown.size() == at + 2) {
            fail("an error says nothing: " + shown);
        }
    }
}

void fuzz_toml(std::string_view text) {
    const std::string source = "fuzz.toml";
    config_result r = parse_config(text, source);
    check_config(r.config, r.errors);
    check_errors(r.errors, source, text);
    if (r.ok()) {
        if (compose_chain(r.config).size() < 2) {
            fail("a valid configuration has no chain");
        }
        if (!restart_only_changes(r.config, r.config).empty()) {
            fail("a configuration compared with itself needs a restart");
        }
    }
}

void fuzz_routes(std::string_view text) {
    const std::string source = "fuzz.routes";
    std::vector<route_config> routes;
    std::vector<config_error> errors;
    parse_routes_text(text, source, routes, errors);
    check_errors(errors, source, text);
    for (const route_config& r : routes) {
        if (r.origin.rfind(source + ":", 0) != 0) {
            fail("a route read from the file does not say where: '" + r.origin + "'");
        }
    }
}

void fuzz_iptables(std::string_view text) {
    const std::string source = "fuzz.rules";
    app_config config;
    config.source = "fuzz.toml";
    config.firewall.emplace();
    std::optional<firewall_action> policy;
    std::vector<config_error> errors;
    parse_iptables_save(text, source, *config.firewall, policy, errors);
    check_errors(errors, source, text);
    if (errors.empty()) {
        // The rules, checked as a configuration's: their errors name the
        // rules file and a line of it.
        check_config(config, errors);
        std::vector<config_error> from_rules;
        for (const auto& e : errors) {
            if (e.source == source) {
                from_rules.push_back(e);
            }
        }
        check_errors(from_rules, source, text);
    }
}

void fuzz_exact(std::string_view text) {
    const std::string source = "fuzz.exact";
    exact_config exact;
    std::vector<config_error> errors;
    parse_exact_text(text, source, exact, errors);
    check_errors(errors, source, text);
}

// The reader a first line names, and the text after that line.
bool starts_with_line(std::string_view& text, std::string_view line) {
    if (text.substr(0, line.size()) != line ||
        (text.size() > line.size() && text[line.size()] != '\n')) {
        return false;
    }
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    return true;
}

}  // namespace
}  // namespace dpdk_app

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace dpdk_app;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (starts_with_line(text, "#routes")) {
        fuzz_routes(text);
    } else if (starts_with_line(text, "#iptables")) {
        fuzz_iptables(text);
    } else if (starts_with_line(text, "#exact")) {
        fuzz_exact(text);
    } else {
        fuzz_toml(text);
    }
    return 0;
}
