// dpdk-app --preflight on fake /sys, /proc and /dev trees: every check's
// finding and fix, and whether a start would pass.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include "config/config.hpp"
#include "ctl/preflight.hpp"

namespace dpdk_app {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string nic = "0000:3b:00.0";

port_config port(const std::string& name) {
    port_config p;
    p.name = name;
    return p;
}

// A machine: two CPUs on two nodes, 512 free 2 MB pages, hugetlbfs
// mounted, the IOMMU on, vfio-pci loaded, /dev/net/tun, and the NIC nic on
// node 0 bound to vfio-pci.
class preflight_test : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("dpa_preflight_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        roots_.sys = root_ / "sys";
        roots_.proc = root_ / "proc";
        roots_.dev = root_ / "dev";
        roots_.cpus = {0, 1};
        write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "512\n");
        write("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
        write("proc/mounts", "sysfs /sys sysfs rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n");
        write("sys/devices/system/cpu/isolated", "\n");
        fs::create_directories(roots_.sys / "devices/system/cpu/cpu0/node0");
        fs::create_directories(roots_.sys / "devices/system/cpu/cpu1/node1");
        fs::create_directories(roots_.sys / "kernel/iommu_groups/7");
        fs::create_directories(roots_.sys / "module/vfio_pci");
        write("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
        write("dev/net/tun", "");
        bind(nic, "vfio-pci");
        write("sys/bus/pci/devices/" + nic + "/numa_node", "0\n");
        config_.ports.push_back(port(nic));
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const std::string& rel, const std::string& text) {
        fs::create_directories((root_ / rel).parent_path());
        std::ofstream(root_ / rel) << text;
    }
    void bind(const std::string& bdf, const std::string& driver) {
        const fs::path dev = roots_.sys / "bus/pci/devices" / bdf;
        fs::create_directories(dev);
        fs::remove(dev / "driver");
        if (!driver.empty()) {
            fs::create_directories(roots_.sys / "bus/pci/drivers" / driver);
            fs::create_directory_symlink(roots_.sys / "bus/pci/drivers" / driver, dev / "driver");
        }
    }

    std::vector<finding> run(std::vector<std::string> eal) {
        eal.insert(eal.begin(), "dpdk-app");
        return preflight(config_, eal, roots_);
    }
    // The finding of a check ("" level when absent): "ok", "warn" or "fail",
    // its detail and fix.
    static const finding* find(const std::vector<finding>& fs, const std::string& check) {
        for (const auto& f : fs) {
            if (f.check == check) {
                return &f;
            }
        }
        return nullptr;
    }
    static std::string level(const std::vector<finding>& fs, const std::string& check) {
        const finding* f = find(fs, check);
        return f == nullptr                          ? "absent"
               : f->level == finding_level::ok       ? "ok"
               : f->level == finding_level::warn     ? "warn"
                                                     : "fail";
    }
    static std::string fix(const std::vector<finding>& fs, const std::string& check) {
        const finding* f = find(fs, check);
        return f != nullptr ? f->fix : "";
    }

    fs::path root_;
    system_roots roots_;
    app_config config_;
};

TEST_F(preflight_test, a_ready_machine_passes) {
    const auto f = run({"-l", "0-1", "-a", nic});
    EXPECT_TRUE(preflight_passes(f)) << preflight_text(f);
    EXPECT_EQ(level(f, "hugepages"), "ok");
    EXPECT_THAT(find(f, "hugepages")->detail, HasSubstr("1024 MB free"));
    EXPECT_EQ(level(f, "hugetlbfs"), "ok");
    EXPECT_EQ(level(f, "vfio-pci"), "ok");
    EXPECT_EQ(level(f, "iommu"), "ok");
    EXPECT_EQ(level(f, "port " + nic), "ok");
    EXPECT_EQ(level(f, "lcores"), "ok");
    EXPECT_EQ(level(f, "isolated cpus"), "warn");
    EXPECT_EQ(fix(f, "isolated cpus"), "isolcpus=1 nohz_full=1 rcu_nocbs=1 on the kernel command "
                                        "line, then reboot");
    write("sys/devices/system/cpu/isolated", "1\n");
    EXPECT_EQ(level(run({"-l", "0-1", "-a", nic}), "isolated cpus"), "ok");
    EXPECT_THAT(preflight_text(f), HasSubstr("preflight: a start would get past these checks"));
}

TEST_F(preflight_test, a_nic_on_its_kernel_driver_says_how_to_hand_it_over) {
    bind(nic, "ixgbe");
    fs::create_directories(roots_.sys / "bus/pci/devices" / nic / "net/ens1f0");
    auto f = run({"-a", "3b:00.0"});  // short form, same device
    EXPECT_FALSE(preflight_passes(f));
    EXPECT_EQ(level(f, "pci " + nic), "fail");
    EXPECT_THAT(find(f, "pci " + nic)->detail, HasSubstr("the kernel's ixgbe (interface ens1f0)"));
    EXPECT_EQ(fix(f, "pci " + nic), "ip link set ens1f0 down && dpdk-devbind.py -b vfio-pci " + nic);
    bind(nic, "");
    f = run({"-a", nic});
    EXPECT_EQ(fix(f, "pci " + nic), "modprobe vfio-pci && dpdk-devbind.py -b vfio-pci " + nic);
    EXPECT_EQ(level(run({"-a", "0000:3b:00.1"}), "pci 0000:3b:00.1"), "fail");
    // mlx5: bifurcated, the kernel driver is DPDK's too.
    bind(nic, "mlx5_core");
    EXPECT_EQ(level(run({"-a", nic}), "pci " + nic), "ok");
}

TEST_F(preflight_test, hugepages_free_enough_and_mounted) {
    auto f = run({"-a", nic, "-m", "2048"});
    EXPECT_EQ(level(f, "hugepages"), "fail");
    EXPECT_THAT(find(f, "hugepages")->detail, HasSubstr("1024 MB free"));
    EXPECT_THAT(fix(f, "hugepages"), HasSubstr("scripts/hugepages.sh 1024"));
    EXPECT_EQ(level(run({"-a", nic, "--socket-mem", "512,512"}), "hugepages"), "ok");
    write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
    f = run({"-a", nic});
    EXPECT_EQ(level(f, "hugepages"), "fail");
    EXPECT_THAT(fix(f, "hugepages"), HasSubstr("--no-huge"));
    EXPECT_EQ(level(run({"-a", nic, "--no-huge"}), "hugepages"), "ok");
    write("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
    f = run({"-a", nic, "--no-huge"});
    EXPECT_EQ(level(f, "hugetlbfs"), "absent") << "--no-huge needs no mount";
    write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "64\n");
    f = run({"-a", nic});
    EXPECT_EQ(level(f, "hugetlbfs"), "fail");
    EXPECT_THAT(fix(f, "hugetlbfs"), HasSubstr("mount -t hugetlbfs nodev /dev/hugepages"));
    EXPECT_EQ(level(run({"-a", nic, "--in-memory"}), "hugetlbfs"), "absent");
}

TEST_F(preflight_test, vfio_needs_its_module_and_the_iommu) {
    fs::remove_all(roots_.sys / "module/vfio_pci");
    fs::remove_all(roots_.sys / "kernel/iommu_groups");
    auto f = run({"-a", nic});
    EXPECT_EQ(level(f, "vfio-pci"), "fail");
    EXPECT_EQ(fix(f, "vfio-pci"), "modprobe vfio-pci");
    EXPECT_EQ(level(f, "iommu"), "fail");
    EXPECT_THAT(fix(f, "iommu"), HasSubstr("intel_iommu=on iommu=pt"));
    write("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
    EXPECT_EQ(level(run({"-a", nic}), "iommu"), "warn");
    // Without PCI nothing of it is asked.
    f = run({"--no-pci", "--vdev=net_tap0"});
    EXPECT_EQ(level(f, "vfio-pci"), "absent");
    EXPECT_EQ(level(f, "pci"), "ok");
}

TEST_F(preflight_test, numa_and_sr_iov_vfs) {
    write("sys/bus/pci/devices/" + nic + "/numa_node", "1\n");
    auto f = run({"-l", "0", "-a", nic});
    EXPECT_EQ(level(f, "pci " + nic), "ok") << "bound";
    bool numa_warned = false;
    for (const auto& x : f) {
        numa_warned = numa_warned || (x.check == "pci " + nic && x.level == finding_level::warn &&
                                      x.detail.find("NUMA node 1") != std::string::npos);
    }
    EXPECT_TRUE(numa_warned) << preflight_text(f);
    fs::create_directories(roots_.sys / "bus/pci/devices/0000:3b:00.0-pf");
    fs::create_directory_symlink(roots_.sys / "bus/pci/devices/0000:3b:00.0-pf",
                                 roots_.sys / "bus/pci/devices" / nic / "physfn");
    f = run({"-l", "1", "-a", nic});
    EXPECT_THAT(preflight_text(f), HasSubstr("an SR-IOV VF of 0000:3b:00.0-pf"));
    EXPECT_THAT(preflight_text(f), HasSubstr("scripts/sriov-vf.sh show"));
    EXPECT_TRUE(preflight_passes(f));
}

TEST_F(preflight_test, vdevs_and_the_configured_ports) {
    config_.ports = {port("net_tap0"), port("net_pcap1")};
    auto f = run({"--no-pci", "--no-huge", "--vdev=net_tap0,iface=dpa0"});
    EXPECT_EQ(level(f, "vdev net_tap0"), "ok");
    EXPECT_EQ(level(f, "port net_tap0"), "ok");
    EXPECT_EQ(level(f, "port net_pcap1"), "fail");
    EXPECT_EQ(fix(f, "port net_pcap1"), "--vdev=net_pcap1,...");
    EXPECT_FALSE(preflight_passes(f));
    fs::remove(roots_.dev / "net/tun");
    f = run({"--no-pci", "--no-huge", "--vdev=net_tap0", "--vdev", "net_pcap1,rx_pcap=/nonexistent.pcap"});
    EXPECT_EQ(fix(f, "vdev net_tap0"), "modprobe tun");
    EXPECT_EQ(level(f, "vdev net_pcap1"), "fail");
    EXPECT_THAT(find(f, "vdev net_pcap1")->detail, HasSubstr("/nonexistent.pcap"));
    config_.ports.clear();
    f = run({"--no-pci", "--no-huge"});
    EXPECT_EQ(level(f, "ports"), "fail");
    EXPECT_THAT(fix(f, "ports"), HasSubstr("--vdev=net_tap0"));
}

TEST_F(preflight_test, an_lcore_list_beyond_the_cpus_is_a_warning) {
    const auto f = run({"-l", "0-3", "-a", nic});
    EXPECT_EQ(level(f, "lcores"), "warn");
    EXPECT_THAT(find(f, "lcores")->detail, HasSubstr("-l 0-3 names CPUs this machine does not offer"));
    EXPECT_TRUE(preflight_passes(f));
    EXPECT_EQ(level(run({"--lcores", "(0-3)@(0-1)", "-a", nic}), "lcores"), "ok");
}

}  // namespace
}  // namespace dpdk_app
