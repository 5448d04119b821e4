// dpdk-app --preflight: would a start with these EAL arguments and this
// configuration succeed on this machine, and if not, what fixes it. Reads
// /sys, /proc and /dev only (no EAL, nothing changed): hugepages free and
// mounted, the lcores against the CPUs, isolated CPUs, each PCI device of
// -a found and bound to a driver DPDK can use, vfio-pci and the IOMMU, the
// NUMA node of each device against its lcores, SR-IOV VFs, the vdevs'
// needs (net_pcap files, /dev/net/tun), and every [[port]] of the
// configuration among the devices EAL will probe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dpdk_app {

enum class finding_level { ok, warn, fail };

struct finding {
    finding_level level;
    std::string check;   // "hugepages", "lcores", "pci 0000:3b:00.0", "port net_tap0", ...
    std::string detail;  // what was found
    std::string fix;     // the command or setting that fixes it ("" for ok)
};

// Where the checks look: the real roots, or a fake tree in tests.
struct system_roots {
    std::filesystem::path sys = "/sys";
    std::filesystem::path proc = "/proc";
    std::filesystem::path dev = "/dev";
    std::vector<unsigned> cpus;  // the CPUs the process may use (available_cpus())
};

// The roots of this machine; DPDK_APP_SYSFS_ROOT, DPDK_APP_PROCFS_ROOT and
// DPDK_APP_DEV_ROOT replace them (for tests).
system_roots machine_roots();

std::vector<finding> preflight(const app_config& config, const std::vector<std::string>& eal_args,
                               const system_roots& roots);

// One line a finding ("ok    hugepages: ..."; "FAIL  ...\n      fix: ..."),
// then a summary line.
std::string preflight_text(const std::vector<finding>& findings);

// No finding is a failure: a start would get past what was checked.
bool preflight_passes(const std::vector<finding>& findings);

}  // namespace dpdk_app
