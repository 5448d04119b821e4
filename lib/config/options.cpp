#include "config/options.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dpdk_app {

split_args split_command_line(int argc, const char* const* argv) {
    split_args s;
    int i = 0;
    for (; i < argc; ++i) {
        if (i > 0 && std::string_view(argv[i]) == "--") {
            ++i;
            break;
        }
        s.eal.emplace_back(argv[i]);
    }
    for (; i < argc; ++i) {
        s.app.emplace_back(argv[i]);
    }
    return s;
}

namespace {

bool parse_number(const std::string& text, double& out) {
    try {
        std::size_t used = 0;
        out = std::stod(text, &used);
        return used == text.size() && std::isfinite(out) && out >= 0;
    } catch (...) {
        return false;
    }
}

bool parse_uint(const std::string& text, uint32_t& out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

app_options parse_app_options(const std::vector<std::string>& args, std::string& error) {
    app_options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        std::optional<std::string> inline_value;
        if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
            inline_value = arg.substr(arg.find('=') + 1);
            arg = arg.substr(0, arg.find('='));
        }
        auto value = [&](std::string& out) {
            if (inline_value) {
                out = *inline_value;
                return true;
            }
            if (i + 1 >= args.size()) {
                error = "option " + arg + " needs a value";
                return false;
            }
            out = args[++i];
            return true;
        };
        auto flag = [&] {
            if (inline_value) {
                error = "option " + arg + " takes no value";
                return false;
            }
            return true;
        };
        std::string v;
        if (arg == "-c" || arg == "--config") {
            if (!value(v)) {
                return o;
            }
            o.config_file = v;
        } else if (arg == "--check-config") {
            if (!flag()) {
                return o;
            }
            o.check_config = true;
        } else if (arg == "--duration") {
            if (!value(v)) {
                return o;
            }
            if (!parse_number(v, o.duration_s)) {
                error = "--duration: expected a number of seconds >= 0, got '" + v + "'";
                return o;
            }
        } else if (arg == "--idle-exit") {
            if (!value(v)) {
                return o;
            }
            if (!parse_uint(v, o.idle_exit_ms)) {
                error = "--idle-exit: expected milliseconds as an integer, got '" + v + "'";
                return o;
            }
        } else if (arg == "--stats-json") {
            if (!value(v)) {
                return o;
            }
            o.stats_json = v;
        } else if (arg == "-q" || arg == "--quiet") {
            if (!flag()) {
                return o;
            }
            o.quiet = true;
        } else if (arg == "-h" || arg == "--help") {
            if (!flag()) {
                return o;
            }
            o.help = true;
        } else if (arg == "--version") {
            if (!flag()) {
                return o;
            }
            o.version = true;
        } else {
            error = "unknown option '" + args[i] + "' (see --help)";
            return o;
        }
    }
    return o;
}

std::string usage_text(const std::string& program) {
    return "usage: " + program +
           " [EAL options] -- [options]\n"
           "\n"
           "EAL options come first (e.g. -l 0-3 --vdev=net_tap0 --no-pci --no-huge);\n"
           "see the DPDK EAL documentation. Application options, after `--`:\n"
           "  -c, --config FILE     TOML configuration (default: the embedded one)\n"
           "      --check-config    validate the configuration and exit (0 ok, 2 errors)\n"
           "      --duration SEC    stop after SEC seconds\n"
           "      --idle-exit MS    stop once no packet arrived for MS ms after the first\n"
           "      --stats-json FILE write counters to FILE at exit and on SIGUSR1\n"
           "  -q, --quiet           no periodic status line\n"
           "      --version         print the version and exit\n"
           "  -h, --help            this text\n"
           "\n"
           "Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.\n";
}

std::string check_vdev_files(const std::vector<std::string>& eal_args) {
    namespace fs = std::filesystem;
    for (std::size_t i = 0; i < eal_args.size(); ++i) {
        std::string spec;
        if (eal_args[i].starts_with("--vdev=")) {
            spec = eal_args[i].substr(7);
        } else if (eal_args[i] == "--vdev" && i + 1 < eal_args.size()) {
            spec = eal_args[i + 1];
        } else {
            continue;
        }
        std::istringstream parts(spec);
        std::string part;
        std::getline(parts, part, ',');
        const std::string dev = part;
        while (std::getline(parts, part, ',')) {
            const auto eq = part.find('=');
            if (eq == std::string::npos) {
                continue;
            }
            const std::string key = part.substr(0, eq);
            const std::string path = part.substr(eq + 1);
            if (key == "rx_pcap" && ::access(path.c_str(), R_OK) != 0) {
                return dev + ": rx_pcap file '" + path + "' does not exist or is not readable";
            }
            if (key == "tx_pcap") {
                fs::path dir = fs::path(path).parent_path();
                if (dir.empty()) {
                    dir = ".";
                }
                if (::access(dir.c_str(), W_OK) != 0) {
                    return dev + ": cannot write tx_pcap file '" + path + "': directory '" +
                           dir.string() + "' does not exist or is not writable";
                }
            }
        }
    }
    return {};
}

bool wants_no_huge(const std::vector<std::string>& eal_args) {
    for (const auto& a : eal_args) {
        if (a == "--no-huge") {
            return true;
        }
    }
    return false;
}

uint64_t free_hugepages() {
    namespace fs = std::filesystem;
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
        std::ifstream in(d.path() / "free_hugepages");
        uint64_t n = 0;
        if (in >> n) {
            total += n;
        }
    }
    return total;
}

}  // namespace dpdk_app
