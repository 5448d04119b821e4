// Command line: EAL arguments first, then `--`, then the application's own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log/log.hpp"

namespace dpdk_app {

struct app_options {
    std::optional<std::string> config_file;  // -c, --config
    bool check_config = false;               // --check-config
    bool preflight = false;                  // --preflight
    double duration_s = 0;                   // --duration SECONDS (0 = until signalled)
    uint32_t idle_exit_ms = 0;               // --idle-exit MS (0 = off)
    std::optional<std::string> stats_json;   // --stats-json FILE
    bool quiet = false;                      // --quiet
    bool help = false;                       // -h, --help
    bool version = false;                    // --version
    std::vector<log_setting> log;            // --log [COMPONENT:]LEVEL, in order
};

struct split_args {
    std::vector<std::string> eal;  // argv[0] and everything before `--`
    std::vector<std::string> app;  // everything after `--`
};

split_args split_command_line(int argc, const char* const* argv);

// Parses the application arguments. Sets error (and returns what was parsed
// so far) on an unknown option or a bad value.
app_options parse_app_options(const std::vector<std::string>& args, std::string& error);

std::string usage_text(const std::string& program);

// One KEY=VALUE of a --vdev argument ("--vdev=net_pcap0,rx_pcap=in.pcap":
// device net_pcap0, key rx_pcap, value in.pcap), in the order given.
struct vdev_param {
    std::string device;
    std::string key;
    std::string value;
};
std::vector<vdev_param> vdev_params(const std::vector<std::string>& eal_args);

// Checks the EAL arguments a user most often gets wrong before EAL sees them:
// a net_pcap rx_pcap= file that is not there, a tx_pcap= directory that is not
// there. Returns an empty string or the reason.
std::string check_vdev_files(const std::vector<std::string>& eal_args);

// Another process holds the EAL runtime configuration of the --file-prefix
// these arguments use (default "rte"; nothing to share with --in-memory or
// --no-shconf): the message naming it and its PID, else "". EAL alone says
// only "Cannot create lock".
std::string check_file_prefix(const std::vector<std::string>& eal_args);

// True when the EAL arguments ask to run without hugepages.
bool wants_no_huge(const std::vector<std::string>& eal_args);

// Free 2 MB / 1 GB hugepages summed over sizes, from /sys.
uint64_t free_hugepages();

// The CPUs this process may run on (its affinity), ascending.
std::vector<unsigned> available_cpus();

// "-l 0-3" on a machine of two CPUs: EAL refuses lcores without a CPU of
// their own. When eal_args name the lcores with -l LIST (or -lLIST) and LIST
// has a CPU not in cpus, rewrites it as --lcores mapping the k-th lcore of
// LIST onto cpus[k % cpus.size()] ("0@0,1@1,2@0,3@1") and returns the
// one-line notice to print; otherwise (no -l, --lcores or -c given, every
// CPU available, a LIST EAL would reject anyway) changes nothing and
// returns "".
std::string map_lcores_to_cpus(std::vector<std::string>& eal_args,
                               const std::vector<unsigned>& cpus);

}  // namespace dpdk_app
