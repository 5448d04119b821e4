#include "config/options.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
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
        } else if (arg == "--preflight") {
            if (!flag()) {
                return o;
            }
            o.preflight = true;
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
        } else if (arg == "--log") {
            if (!value(v)) {
                return o;
            }
            std::string why;
            const auto setting = parse_log_setting(v, why);
            if (!setting) {
                error = "--log: " + why;
                return o;
            }
            o.log.push_back(*setting);
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
           "      --preflight       check this machine for a start with these EAL options\n"
           "                        and configuration, print each finding with its fix,\n"
           "                        exit (0 a start would get past them, 1 not)\n"
           "      --duration SEC    stop after SEC seconds\n"
           "      --idle-exit MS    stop once no packet arrived for MS ms after the first\n"
           "      --stats-json FILE write counters to FILE at exit and on SIGUSR1\n"
           "      --log [COMP:]LEVEL  log level of every component or of one (app, config,\n"
           "                        dataplane, neighbors, flow): emerg .. debug; repeatable\n"
           "  -q, --quiet           no periodic status line\n"
           "      --version         print the version and exit\n"
           "  -h, --help            this text\n"
           "\n"
           "Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.\n";
}

std::vector<vdev_param> vdev_params(const std::vector<std::string>& eal_args) {
    std::vector<vdev_param> out;
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
            if (eq != std::string::npos) {
                out.push_back({dev, part.substr(0, eq), part.substr(eq + 1)});
            }
        }
    }
    return out;
}

std::string check_vdev_files(const std::vector<std::string>& eal_args) {
    namespace fs = std::filesystem;
    for (const auto& p : vdev_params(eal_args)) {
        if (p.key == "rx_pcap" && ::access(p.value.c_str(), R_OK) != 0) {
            return p.device + ": rx_pcap file '" + p.value + "' does not exist or is not readable";
        }
        if (p.key == "tx_pcap") {
            fs::path dir = fs::path(p.value).parent_path();
            if (dir.empty()) {
                dir = ".";
            }
            if (::access(dir.c_str(), W_OK) != 0) {
                return p.device + ": cannot write tx_pcap file '" + p.value + "': directory '" +
                       dir.string() + "' does not exist or is not writable";
            }
        }
    }
    return {};
}

std::string check_file_prefix(const std::vector<std::string>& eal_args) {
    std::string prefix = "rte";
    for (std::size_t i = 1; i < eal_args.size(); ++i) {
        const std::string& a = eal_args[i];
        if (a == "--in-memory" || a == "--no-shconf") {
            return "";
        }
        if (a == "--file-prefix" && i + 1 < eal_args.size()) {
            prefix = eal_args[++i];
        } else if (a.starts_with("--file-prefix=")) {
            prefix = a.substr(14);
        }
    }
    // Where EAL keeps it (eal_get_runtime_dir): /var/run/dpdk for root, else
    // $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk.
    std::string dir = "/var/run/dpdk";
    if (::getuid() != 0) {
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        dir = std::string(xdg != nullptr ? xdg : "/tmp") + "/dpdk";
    }
    const std::string path = dir + "/" + prefix + "/config";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return "";
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    const bool held = ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    ::close(fd);
    if (!held) {
        return "";  // left by a process that is gone: EAL takes it over
    }
    return "--file-prefix " + prefix + " is in use by process " + std::to_string(lock.l_pid) +
           " (another dpdk-app or DPDK primary process): give each instance its own "
           "--file-prefix";
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

std::vector<unsigned> available_cpus() {
    std::vector<unsigned> out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return out;
    }
    for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) {
            out.push_back(c);
        }
    }
    return out;
}

namespace {

// The lcores of an EAL "-l" list ("0-3", "0,2,4-5"), in order; nullopt
// when it is not such a list.
std::optional<std::vector<unsigned>> lcore_list(std::string_view text) {
    constexpr unsigned most = 1024;  // beyond any RTE_MAX_LCORE
    std::vector<unsigned> out;
    std::set<unsigned> seen;
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const std::size_t dash = item.find('-');
        unsigned lo = 0;
        unsigned hi = 0;
        auto number = [](std::string_view t, unsigned& v) {
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            return !t.empty() && ec == std::errc{} && end == t.data() + t.size() && v < most;
        };
        if (!number(item.substr(0, dash), lo) ||
            !number(dash == std::string_view::npos ? item : item.substr(dash + 1), hi) ||
            hi < lo) {
            return std::nullopt;
        }
        for (unsigned l = lo; l <= hi; ++l) {
            if (!seen.insert(l).second) {
                return std::nullopt;
            }
            out.push_back(l);
        }
    }
    if (out.empty()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

std::string map_lcores_to_cpus(std::vector<std::string>& eal_args,
                               const std::vector<unsigned>& cpus) {
    std::size_t at = eal_args.size();  // the argument that holds the list
    bool joined = false;               // "-lLIST" rather than "-l LIST"
    for (std::size_t i = 1; i < eal_args.size(); ++i) {
        const std::string& a = eal_args[i];
        if (a == "-c" || a.rfind("--lcores", 0) == 0 || (a.rfind("-c", 0) == 0 && a.size() > 2)) {
            return "";  // the user placed the lcores (or gave a mask): theirs
        }
        if (a == "-l" && i + 1 < eal_args.size()) {
            at = i + 1;
            joined = false;
        } else if (a.rfind("-l", 0) == 0 && a.size() > 2 && a[2] != '-') {
            at = i;
            joined = true;
        }
    }
    if (at == eal_args.size() || cpus.empty()) {
        return "";
    }
    const std::string list = joined ? eal_args[at].substr(2) : eal_args[at];
    const auto lcores = lcore_list(list);
    if (!lcores) {
        return "";
    }
    const std::set<unsigned> have(cpus.begin(), cpus.end());
    if (std::all_of(lcores->begin(), lcores->end(), [&](unsigned l) { return have.count(l) != 0; })) {
        return "";
    }
    std::string mapping;
    for (std::size_t k = 0; k < lcores->size(); ++k) {
        mapping += (k == 0 ? "" : ",") + std::to_string((*lcores)[k]) + "@" +
                   std::to_string(cpus[k % cpus.size()]);
    }
    std::string available;
    for (std::size_t k = 0; k < cpus.size(); ++k) {
        available += (k == 0 ? "" : ",") + std::to_string(cpus[k]);
    }
    if (joined) {
        eal_args[at] = "--lcores=" + mapping;
    } else {
        eal_args[at - 1] = "--lcores";
        eal_args[at] = mapping;
    }
    return "dpdk-app: -l " + list + " names CPUs this machine does not offer (available: " +
           available + "); running as --lcores " + mapping +
           " (lcores that share a CPU take turns: fine to try it out, not for line rate; pass "
           "--lcores to choose the placement)";
}

}  // namespace dpdk_app
