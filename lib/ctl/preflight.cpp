#include "ctl/preflight.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "config/options.hpp"

namespace dpdk_app {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const fs::path& p) {
    std::ifstream in(p);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    std::string t = s.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
        t.pop_back();
    }
    return t;
}

// The name a symlink points at ("vfio-pci" for .../driver), or "".
std::string link_target_name(const fs::path& p) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    return ec ? std::string{} : target.filename().string();
}

bool has(const std::vector<std::string>& eal, std::string_view flag) {
    return std::find(eal.begin() + (eal.empty() ? 0 : 1), eal.end(), flag) != eal.end();
}

// Values of an option given as "-x V", "-xV", "--long V" or "--long=V".
std::vector<std::string> values_of(const std::vector<std::string>& eal, std::string_view short_opt,
                                   std::string_view long_opt) {
    std::vector<std::string> out;
    for (std::size_t i = 1; i < eal.size(); ++i) {
        const std::string& a = eal[i];
        const bool bare = a == short_opt || a == long_opt;
        if (bare && i + 1 < eal.size()) {
            out.push_back(eal[++i]);
        } else if (!short_opt.empty() && a.size() > short_opt.size() && a.rfind(short_opt, 0) == 0 &&
                   a[1] != '-') {
            out.push_back(a.substr(short_opt.size()));
        } else if (!long_opt.empty() && a.rfind(std::string(long_opt) + "=", 0) == 0) {
            out.push_back(a.substr(long_opt.size() + 1));
        }
    }
    return out;
}

// "3b:00.0,foo=1" -> "0000:3b:00.0".
std::string pci_address(std::string spec) {
    spec = spec.substr(0, spec.find(','));
    if (std::count(spec.begin(), spec.end(), ':') == 1) {
        spec = "0000:" + spec;
    }
    std::transform(spec.begin(), spec.end(), spec.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return spec;
}

std::string list_text(const std::vector<unsigned>& v) {
    std::string s;
    for (unsigned x : v) {
        s += (s.empty() ? "" : ",") + std::to_string(x);
    }
    return s;
}

// CPUs of a kernel list ("0-3,8").
std::set<unsigned> cpu_set_of(const std::string& text) {
    std::set<unsigned> out;
    std::istringstream items(text);
    for (std::string item; std::getline(items, item, ',');) {
        unsigned lo = 0;
        unsigned hi = 0;
        const auto dash = item.find('-');
        try {
            lo = static_cast<unsigned>(std::stoul(item.substr(0, dash)));
            hi = dash == std::string::npos ? lo : static_cast<unsigned>(std::stoul(item.substr(dash + 1)));
        } catch (...) {
            continue;
        }
        for (unsigned c = lo; c <= hi && c < 4096; ++c) {
            out.insert(c);
        }
    }
    return out;
}

// The NUMA node of a CPU (its nodeN entry), or -1.
int node_of_cpu(const system_roots& r, unsigned cpu) {
    std::error_code ec;
    const fs::path dir = r.sys / "devices/system/cpu" / ("cpu" + std::to_string(cpu));
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("node", 0) == 0 && n.size() > 4 &&
            std::all_of(n.begin() + 4, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::stoi(n.substr(4));
        }
    }
    return -1;
}

class checker {
  public:
    checker(const app_config& c, const std::vector<std::string>& eal, const system_roots& r)
        : config_(c), eal_(eal), roots_(r) {}

    std::vector<finding> run() {
        lcores();
        hugepages();
        pci();
        vdevs();
        ports();
        return std::move(out_);
    }

  private:
    void ok(std::string check, std::string detail) {
        out_.push_back({finding_level::ok, std::move(check), std::move(detail), ""});
    }
    void warn(std::string check, std::string detail, std::string fix) {
        out_.push_back({finding_level::warn, std::move(check), std::move(detail), std::move(fix)});
    }
    void fail(std::string check, std::string detail, std::string fix) {
        out_.push_back({finding_level::fail, std::move(check), std::move(detail), std::move(fix)});
    }

    void lcores() {
        std::vector<std::string> eal = eal_;
        const std::string notice = map_lcores_to_cpus(eal, roots_.cpus);
        const auto given = values_of(eal_, "-l", "");
        if (!notice.empty()) {
            warn("lcores",
                 "-l " + given.back() + " names CPUs this machine does not offer (available: " +
                     list_text(roots_.cpus) + "); dpdk-app will map them onto these, sharing CPUs",
                 "-l with CPUs from " + list_text(roots_.cpus) +
                     " only, for one CPU per lcore (lscpu lists them)");
        } else if (!values_of(eal_, "", "--lcores").empty() || !values_of(eal_, "-c", "").empty()) {
            ok("lcores", "placed by --lcores / -c as given");
        } else {
            ok("lcores", given.empty() ? "EAL's default: every available CPU (" +
                                             list_text(roots_.cpus) + ")"
                                       : "-l " + given.back() + ": every CPU is available");
        }
        lcore_cpus_ = lcore_cpus(given);
        const std::set<unsigned> isolated =
            cpu_set_of(read_text(roots_.sys / "devices/system/cpu/isolated").value_or(""));
        std::set<unsigned> busy_set;  // worker lcores' CPUs not isolated
        for (std::size_t k = 1; k < lcore_cpus_.size(); ++k) {
            if (isolated.count(lcore_cpus_[k]) == 0) {
                busy_set.insert(lcore_cpus_[k]);
            }
        }
        const std::vector<unsigned> busy(busy_set.begin(), busy_set.end());
        if (lcore_cpus_.size() > 1 && !busy.empty()) {
            warn("isolated cpus",
                 "worker CPUs " + list_text(busy) +
                     " are not isolated: the kernel may run other tasks there (jitter, lost "
                     "packets at line rate)",
                 "isolcpus=" + list_text(busy) + " nohz_full=" + list_text(busy) + " rcu_nocbs=" +
                     list_text(busy) + " on the kernel command line, then reboot");
        } else if (lcore_cpus_.size() > 1) {
            ok("isolated cpus", "worker CPUs are isolated");
        }
    }

    // The CPU each lcore of -l runs on (the main lcore first).
    std::vector<unsigned> lcore_cpus(const std::vector<std::string>& given) const {
        std::vector<unsigned> out;
        if (given.empty()) {
            return roots_.cpus;
        }
        std::vector<std::string> probe = {"dpdk-app", "-l", given.back()};
        if (map_lcores_to_cpus(probe, roots_.cpus).empty()) {
            const auto set = cpu_set_of(given.back());
            return {set.begin(), set.end()};
        }
        std::istringstream items(probe[2]);  // "0@0,1@1,..."
        for (std::string item; std::getline(items, item, ',');) {
            out.push_back(static_cast<unsigned>(std::stoul(item.substr(item.find('@') + 1))));
        }
        return out;
    }

    void hugepages() {
        if (has(eal_, "--no-huge")) {
            ok("hugepages", "not used (--no-huge)");
            return;
        }
        std::error_code ec;
        uint64_t free_mb = 0;
        std::string sizes;
        for (const auto& d : fs::directory_iterator(roots_.sys / "kernel/mm/hugepages", ec)) {
            const std::string name = d.path().filename().string();  // hugepages-2048kB
            const uint64_t kb = std::strtoull(name.c_str() + name.find('-') + 1, nullptr, 10);
            const uint64_t n =
                std::strtoull(read_text(d.path() / "free_hugepages").value_or("0").c_str(), nullptr, 10);
            free_mb += n * kb / 1024;
            sizes += (sizes.empty() ? "" : ", ") + std::to_string(n) + " x " +
                     std::to_string(kb / 1024) + " MB";
        }
        if (free_mb == 0) {
            fail("hugepages", "no free hugepages",
                 "scripts/hugepages.sh 1024 (2 GiB of 2 MB pages), or pass --no-huge to try "
                 "without them");
        } else {
            uint64_t want = 0;
            for (const auto& m : values_of(eal_, "-m", "")) {
                want = std::strtoull(m.c_str(), nullptr, 10);
            }
            for (const auto& m : values_of(eal_, "", "--socket-mem")) {
                std::istringstream parts(m);
                for (std::string p; std::getline(parts, p, ',');) {
                    want += std::strtoull(p.c_str(), nullptr, 10);
                }
            }
            if (want > free_mb) {
                fail("hugepages",
                     std::to_string(free_mb) + " MB free (" + sizes + "), " +
                         std::to_string(want) + " MB asked for",
                     "scripts/hugepages.sh " + std::to_string((want + 1) / 2) +
                         " or a smaller -m / --socket-mem");
            } else {
                ok("hugepages", std::to_string(free_mb) + " MB free (" + sizes + ")");
            }
        }
        if (has(eal_, "--in-memory")) {
            return;  // no hugetlbfs mount needed
        }
        const std::string mounts = read_text(roots_.proc / "mounts").value_or("");
        if (mounts.find(" hugetlbfs ") == std::string::npos) {
            fail("hugetlbfs", "no hugetlbfs mounted",
                 "mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages (or pass "
                 "--in-memory)");
        } else {
            ok("hugetlbfs", "mounted");
        }
    }

    void pci() {
        if (has(eal_, "--no-pci")) {
            ok("pci", "not probed (--no-pci)");
            return;
        }
        std::vector<std::string> allowed;
        for (const auto& v : values_of(eal_, "-a", "--allow")) {
            allowed.push_back(pci_address(v));
        }
        const fs::path devices = roots_.sys / "bus/pci/devices";
        if (allowed.empty()) {
            // EAL probes every device bound to a driver it can use.
            std::error_code ec;
            for (const auto& d : fs::directory_iterator(devices, ec)) {
                if (dpdk_driver(link_target_name(d.path() / "driver"))) {
                    allowed.push_back(d.path().filename().string());
                }
            }
            std::sort(allowed.begin(), allowed.end());
            warn("pci",
                 "no -a: EAL probes every PCI device bound to a DPDK driver (" +
                     std::to_string(allowed.size()) + " here)",
                 "pass -a BDF for each NIC to use, or --no-pci with vdevs only");
        }
        bool any_vfio = false;
        for (const auto& bdf : allowed) {
            const fs::path dev = devices / bdf;
            const std::string check = "pci " + bdf;
            std::error_code ec;
            if (!fs::exists(dev, ec)) {
                fail(check, "no such PCI device", "lspci -D lists the addresses; fix the -a argument");
                continue;
            }
            pci_names_.insert(bdf);
            const std::string driver = link_target_name(dev / "driver");
            any_vfio = any_vfio || driver == "vfio-pci" || driver.empty() ||
                       !dpdk_driver(driver);
            if (driver.empty()) {
                fail(check, "bound to no driver",
                     "modprobe vfio-pci && dpdk-devbind.py -b vfio-pci " + bdf);
            } else if (!dpdk_driver(driver)) {
                const std::string netdev = first_entry(dev / "net");
                fail(check, "bound to the kernel's " + driver +
                                (netdev.empty() ? "" : " (interface " + netdev + ")"),
                     (netdev.empty() ? "" : "ip link set " + netdev + " down && ") +
                         "dpdk-devbind.py -b vfio-pci " + bdf);
            } else {
                ok(check, "bound to " + driver);
            }
            numa(check, dev);
            if (fs::exists(dev / "physfn", ec)) {
                const std::string pf = link_target_name(dev / "physfn");
                warn(check,
                     "an SR-IOV VF of " + pf +
                         ": its trust and spoof-check are set on the PF, not visible from here",
                     "ip link show <PF netdev> (vf N ... trust on for NDP / multicast, spoofchk as "
                     "needed); scripts/sriov-vf.sh show " + pf);
            }
        }
        if (!any_vfio) {
            return;
        }
        if (fs::exists(roots_.sys / "module/vfio_pci")) {
            ok("vfio-pci", "module loaded");
        } else {
            fail("vfio-pci", "module not loaded", "modprobe vfio-pci");
        }
        std::error_code ec;
        const bool groups = fs::exists(roots_.sys / "kernel/iommu_groups", ec) &&
                            !fs::is_empty(roots_.sys / "kernel/iommu_groups", ec);
        const std::string unsafe =
            read_text(roots_.sys / "module/vfio/parameters/enable_unsafe_noiommu_mode").value_or("N");
        if (groups) {
            ok("iommu", "on");
        } else if (unsafe == "Y" || unsafe == "1") {
            warn("iommu", "off; vfio runs in unsafe no-IOMMU mode (no DMA isolation)",
                 "intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD) on the kernel "
                 "command line");
        } else {
            fail("iommu", "off: vfio-pci cannot take devices",
                 "intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD) on the kernel "
                 "command line and reboot (a VM without a vIOMMU: echo 1 > "
                 "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode)");
        }
    }

    static bool dpdk_driver(const std::string& d) {
        return d == "vfio-pci" || d == "uio_pci_generic" || d == "igb_uio" || d == "mlx5_core" ||
               d == "mlx4_core";  // mlx: bifurcated, the kernel keeps the device
    }

    static std::string first_entry(const fs::path& dir) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            return e.path().filename().string();
        }
        return "";
    }

    void numa(const std::string& check, const fs::path& dev) {
        const int node = std::atoi(read_text(dev / "numa_node").value_or("-1").c_str());
        if (node < 0) {
            return;  // one node (or unknown): nothing to match
        }
        std::vector<unsigned> far;
        for (unsigned cpu : lcore_cpus_) {
            const int n = node_of_cpu(roots_, cpu);
            if (n >= 0 && n != node) {
                far.push_back(cpu);
            }
        }
        if (!far.empty()) {
            warn(check,
                 "on NUMA node " + std::to_string(node) + ", lcores on CPUs " + list_text(far) +
                     " are not: every packet crosses the interconnect",
                 "lcores on node " + std::to_string(node) + " (lscpu -e lists each CPU's node)");
        } else {
            ok(check, "NUMA node " + std::to_string(node) + ", as its lcores");
        }
    }

    void vdevs() {
        for (const auto& spec : values_of(eal_, "", "--vdev")) {
            const std::string name = spec.substr(0, spec.find(','));
            vdev_names_.insert(name);
            if (name.rfind("net_tap", 0) == 0 || name.rfind("net_tun", 0) == 0) {
                std::error_code ec;
                if (fs::exists(roots_.dev / "net/tun", ec)) {
                    ok("vdev " + name, "/dev/net/tun present");
                } else {
                    fail("vdev " + name, "/dev/net/tun missing", "modprobe tun");
                }
            } else if (name.rfind("net_pcap", 0) == 0) {
                const std::string problem = check_vdev_files({"dpdk-app", "--vdev=" + spec});
                if (problem.empty()) {
                    ok("vdev " + name, "its files are there");
                } else {
                    fail("vdev " + name, problem, "fix the path in --vdev");
                }
            } else {
                ok("vdev " + name, "no requirement checked");
            }
        }
    }

    void ports() {
        const bool pci_probed = !has(eal_, "--no-pci");
        if (config_.ports.empty()) {
            if (vdev_names_.empty() && pci_names_.empty()) {
                fail("ports", "EAL will find no device: no --vdev, " +
                                  std::string(pci_probed ? "no usable PCI device" : "--no-pci"),
                     "--vdev=net_tap0 (a kernel interface), --vdev=net_pcap0,rx_pcap=IN.pcap or "
                     "-a BDF of a bound NIC");
            } else {
                ok("ports", "every device EAL probes is used (no [[port]] in the configuration)");
            }
            return;
        }
        for (const auto& p : config_.ports) {
            const bool pci = pci_names_.count(pci_address(p.name)) != 0;
            if (vdev_names_.count(p.name) != 0 || pci) {
                ok("port " + p.name, pci ? "a PCI device EAL probes" : "a --vdev");
            } else {
                fail("port " + p.name,
                     "in the configuration, but EAL will not probe such a device",
                     p.name.rfind("net_", 0) == 0 ? "--vdev=" + p.name + ",..."
                                                   : "-a " + p.name + " (bound to vfio-pci)");
            }
        }
    }

    const app_config& config_;
    const std::vector<std::string>& eal_;
    const system_roots& roots_;
    std::vector<finding> out_;
    std::vector<unsigned> lcore_cpus_;
    std::set<std::string> vdev_names_;
    std::set<std::string> pci_names_;
};

}  // namespace

system_roots machine_roots() {
    system_roots r;
    if (const char* v = std::getenv("DPDK_APP_SYSFS_ROOT")) {
        r.sys = v;
    }
    if (const char* v = std::getenv("DPDK_APP_PROCFS_ROOT")) {
        r.proc = v;
    }
    if (const char* v = std::getenv("DPDK_APP_DEV_ROOT")) {
        r.dev = v;
    }
    r.cpus = available_cpus();
    return r;
}

std::vector<finding> preflight(const app_config& config, const std::vector<std::string>& eal_args,
                               const system_roots& roots) {
    return checker(config, eal_args, roots).run();
}

std::string preflight_text(const std::vector<finding>& findings) {
    std::string out;
    std::size_t fails = 0;
    std::size_t warns = 0;
    for (const auto& f : findings) {
        const char* tag = f.level == finding_level::ok     ? "ok  "
                          : f.level == finding_level::warn ? "WARN"
                                                           : "FAIL";
        fails += f.level == finding_level::fail;
        warns += f.level == finding_level::warn;
        out += std::string(tag) + "  " + f.check + ": " + f.detail + "\n";
        if (!f.fix.empty()) {
            out += "      fix: " + f.fix + "\n";
        }
    }
    out += fails == 0 ? "preflight: a start would get past these checks"
                      : "preflight: " + std::to_string(fails) + " problem(s) would stop a start";
    out += warns == 0 ? "\n" : " (" + std::to_string(warns) + " warning(s))\n";
    return out;
}

bool preflight_passes(const std::vector<finding>& findings) {
    return std::none_of(findings.begin(), findings.end(),
                        [](const finding& f) { return f.level == finding_level::fail; });
}

}  // namespace dpdk_app
