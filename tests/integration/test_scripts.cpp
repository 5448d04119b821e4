// The operator's scripts: sriov-vf.sh on fake sysfs trees (no hardware is
// touched: ip, modprobe and dpdk-devbind.py are fakes that log their
// arguments), hugepages.sh, tap-demo.sh, and the systemd unit and install.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

namespace {

const std::string scripts_dir = std::string(SOURCE_ROOT) + "/scripts";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

struct script_result {
    int rc = -1;
    std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const script_result& r) {
    return os << "exit status " << r.rc << "\nstdout:\n" << r.out << "stderr:\n" << r.err;
}

// Runs "env ENV bash SCRIPT ARGS" (no single quotes in them) with stdout and
// stderr kept apart in dir, killed after limit.
script_result run_script(const temp_dir& dir, const std::string& env, const std::string& script,
                         const std::string& args, int limit_s = 60) {
    script_result r;
    r.rc = sh("timeout " + std::to_string(limit_s) + " env " + env + " bash " + scripts_dir + "/" +
              script + " " + args + " >" + dir.file("script.out") + " 2>" + dir.file("script.err") +
              " </dev/null");
    r.out = read_text(dir.file("script.out"));
    r.err = read_text(dir.file("script.err"));
    return r;
}

// An invocation a script must refuse: its arguments, exit status, and a
// part of what it says on stderr (stdout stays empty).
struct bad_invocation {
    std::string args;
    int rc;
    std::string message;
};

template <class fake_tree>
void expect_refused(const fake_tree& tree, const std::vector<bad_invocation>& cases) {
    for (const auto& c : cases) {
        const auto r = tree.run(c.args);
        EXPECT_EQ(r.rc, c.rc) << "'" << c.args << "': " << r;
        EXPECT_THAT(r.err, HasSubstr(c.message)) << "'" << c.args << "': " << r;
        EXPECT_EQ(r.out, "") << "'" << c.args << "': " << r;
    }
}

// ---------------------------------------------------------------- sriov-vf.sh

// A PF 0000:3b:00.0 (interface ens1f0, driver ice, MAC 3c:fd:fe:12:34:56,
// up to 8 VFs from 0000:3b:01.0 on) in a fake sysfs tree under dir/sys, and
// fake ip / modprobe / dpdk-devbind.py in dir/bin that log what they were
// asked to change to dir/calls.log. ip answers reads from dir/route4,
// dir/route6, dir/addr and dir/link (empty at first).
class fake_sriov {
  public:
    static constexpr const char* pf = "0000:3b:00.0";

    explicit fake_sriov(const temp_dir& dir) : dir_(dir), sys_(dir.file("sys")) {
        const std::string dev = pf_device();
        fs::create_directories(dev + "/net/ens1f0");
        for (const char* driver : {"ice", "iavf", "vfio-pci"}) {
            fs::create_directories(sys_ + "/bus/pci/drivers/" + driver);
        }
        fs::create_directories(sys_ + "/bus/pci/devices");
        fs::create_directories(sys_ + "/class/net/ens1f0");
        write_text(sys_ + "/bus/pci/drivers_probe", "");
        write_text(dev + "/sriov_totalvfs", "8\n");
        write_text(dev + "/sriov_numvfs", "0\n");
        write_text(dev + "/sriov_offset", "8\n");
        write_text(dev + "/sriov_stride", "1\n");
        fs::create_directory_symlink("../../../bus/pci/drivers/ice", dev + "/driver");
        fs::create_directory_symlink(std::string("../../../devices/pci0000:00/") + pf,
                                     sys_ + "/bus/pci/devices/" + pf);
        fs::create_directory_symlink(std::string("../../../devices/pci0000:00/") + pf,
                                     sys_ + "/class/net/ens1f0/device");
        write_text(sys_ + "/class/net/ens1f0/address", "3c:fd:fe:12:34:56\n");

        fs::create_directories(dir.file("bin"));
        for (const char* name : {"route4", "route6", "addr", "link", "calls.log"}) {
            write_text(dir.file(name), "");
        }
        const std::string log = dir.file("calls.log");
        write_fake("ip", "case \"$1 $2\" in\n"
                         "  'route show') cat " + dir.file("route4") + " ;;\n"
                         "  '-6 route') cat " + dir.file("route6") + " ;;\n"
                         "  '-o addr') cat " + dir.file("addr") + " ;;\n"
                         "  'link show') cat " + dir.file("link") + " ;;\n"
                         "  *) echo \"ip $*\" >>" + log + " ;;\n"
                         "esac\n");
        write_fake("modprobe", "echo \"modprobe $*\" >>" + log + "\n");
        write_fake("dpdk-devbind.py", "echo \"dpdk-devbind.py $*\" >>" + log + "\n");
    }

    std::string pf_device() const { return sys_ + "/devices/pci0000:00/" + pf; }
    std::string sys() const { return sys_; }

    // VF i as the kernel made it: device 0000:3b:01.i, bound to driver (none
    // when empty), with a network interface when netdev is not empty.
    void add_vf(int i, const std::string& driver, const std::string& netdev = "") {
        const std::string bdf = "0000:3b:01." + std::to_string(i);
        const std::string dev = sys_ + "/devices/pci0000:00/" + bdf;
        fs::create_directories(dev);
        write_text(dev + "/driver_override", "(null)\n");
        fs::create_directory_symlink("../" + bdf, pf_device() + "/virtfn" + std::to_string(i));
        fs::create_directory_symlink("../../../devices/pci0000:00/" + bdf,
                                     sys_ + "/bus/pci/devices/" + bdf);
        if (!driver.empty()) {
            fs::create_directory_symlink("../../../bus/pci/drivers/" + driver, dev + "/driver");
        }
        if (!netdev.empty()) {
            fs::create_directories(dev + "/net/" + netdev);
        }
    }

    void set_numvfs(int n) const { write_text(pf_device() + "/sriov_numvfs", std::to_string(n) + "\n"); }
    std::string numvfs() const { return read_text(pf_device() + "/sriov_numvfs"); }

    // What ip answers for "ip link show dev ens1f0" (name: route4, route6, addr, link).
    void answer(const std::string& name, const std::string& text) const {
        write_text(dir_.file(name), text);
    }

    std::string calls() const { return read_text(dir_.file("calls.log")); }

    // extra_env (VAR=value ...) overrides the fakes.
    script_result run(const std::string& args, const std::string& extra_env = "") const {
        const std::string bin = dir_.file("bin");
        return run_script(dir_,
                          "SYSFS_ROOT=" + sys_ + " IP=" + bin + "/ip MODPROBE=" + bin +
                              "/modprobe DEVBIND=" + bin + "/dpdk-devbind.py " + extra_env,
                          "sriov-vf.sh", args);
    }

  private:
    void write_fake(const std::string& name, const std::string& body) const {
        const std::string path = dir_.file("bin/" + name);
        write_text(path, "#!/bin/sh\n" + body);
        fs::permissions(path, fs::perms::owner_all);
    }

    const temp_dir& dir_;
    std::string sys_;
};

TEST(SriovVf, ShowListsEachVfWithDriverMacVlanTrustAndSpoofCheck) {
    temp_dir dir;
    fake_sriov tree(dir);
    tree.set_numvfs(2);
    tree.add_vf(0, "vfio-pci");
    tree.add_vf(1, "iavf", "ens1f0v1");
    tree.answer("link",
                "4: ens1f0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP\n"
                "    link/ether 3c:fd:fe:12:34:56 brd ff:ff:ff:ff:ff:ff\n"
                "    vf 0     link/ether 02:fe:12:34:56:00 brd ff:ff:ff:ff:ff:ff, vlan 100, "
                "spoof checking off, link-state auto, trust on\n"
                "    vf 1     link/ether 02:fe:12:34:56:01 brd ff:ff:ff:ff:ff:ff, "
                "spoof checking on, link-state auto, trust off\n");
    const std::string expected =
        "PF 0000:3b:00.0 (ens1f0): driver ice, 2 VFs of 8\n"
        "VF  PCI address   driver     netdev          MAC               VLAN  trust spoofchk\n"
        "0   0000:3b:01.0  vfio-pci   -               02:fe:12:34:56:00 100   on    off\n"
        "1   0000:3b:01.1  iavf       ens1f0v1        02:fe:12:34:56:01 -     off   on\n";
    for (const std::string pf : {"ens1f0", "0000:3b:00.0", "3b:00.0"}) {
        const auto r = tree.run("show " + pf);
        EXPECT_EQ(r.rc, 0) << pf << ": " << r;
        EXPECT_EQ(r.out, expected) << pf << ": " << r;
    }
    EXPECT_EQ(tree.calls(), "");
}

TEST(SriovVf, ShowSaysWhenThePfHasNoSriov) {
    temp_dir dir;
    fake_sriov tree(dir);
    fs::remove(tree.pf_device() + "/sriov_totalvfs");
    const auto r = tree.run("show ens1f0");
    EXPECT_EQ(r.rc, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("PF 0000:3b:00.0 (ens1f0) does not support SR-IOV")) << r;
}

TEST(SriovVf, CreateDryRunPrintsEveryActionAndChangesNothing) {
    temp_dir dir;
    fake_sriov tree(dir);
    const auto r = tree.run("--dry-run create ens1f0 3 --vlan 100");
    ASSERT_EQ(r.rc, 0) << r;
    const std::string s = tree.sys() + "/bus/pci/devices/0000:3b:00.0";
    const std::string bin = dir.file("bin");
    EXPECT_EQ(r.out,
              "[dry-run] echo 3 > " + s + "/sriov_numvfs\n"
              "[dry-run] " + bin + "/ip link set dev ens1f0 vf 0 mac 02:fe:12:34:56:00 vlan 100 trust on spoofchk off\n"
              "[dry-run] " + bin + "/ip link set dev ens1f0 vf 1 mac 02:fe:12:34:56:01 vlan 100 trust on spoofchk off\n"
              "[dry-run] " + bin + "/ip link set dev ens1f0 vf 2 mac 02:fe:12:34:56:02 vlan 100 trust on spoofchk off\n"
              "[dry-run] " + bin + "/modprobe vfio-pci\n"
              "[dry-run] " + bin + "/dpdk-devbind.py -b vfio-pci 0000:3b:01.0 0000:3b:01.1 0000:3b:01.2\n"
              "sriov-vf.sh: 3 VFs of 0000:3b:00.0 (ens1f0) would have been bound to vfio-pci; "
              "pass these EAL arguments to dpdk-app:\n"
              "-a 0000:3b:01.0 -a 0000:3b:01.1 -a 0000:3b:01.2\n");
    EXPECT_EQ(tree.numvfs(), "0\n");
    EXPECT_EQ(tree.calls(), "");
}

TEST(SriovVf, CreateWritesZeroBeforeAnotherCountAndTakesMacBaseByPciAddress) {
    temp_dir dir;
    fake_sriov tree(dir);
    tree.set_numvfs(1);
    tree.add_vf(0, "iavf", "ens1f0v0");
    const auto r = tree.run(
        "create 3b:00.0 2 --dry-run --mac-base 02:00:00:00:00:ff --trust off --spoofchk on");
    ASSERT_EQ(r.rc, 0) << r;
    const std::string s = tree.sys() + "/bus/pci/devices/0000:3b:00.0";
    const std::string bin = dir.file("bin");
    EXPECT_EQ(r.out,
              "[dry-run] echo 0 > " + s + "/sriov_numvfs\n"
              "[dry-run] echo 2 > " + s + "/sriov_numvfs\n"
              "[dry-run] " + bin + "/ip link set dev ens1f0 vf 0 mac 02:00:00:00:00:ff trust off spoofchk on\n"
              "[dry-run] " + bin + "/ip link set dev ens1f0 vf 1 mac 02:00:00:00:01:00 trust off spoofchk on\n"
              "[dry-run] " + bin + "/modprobe vfio-pci\n"
              "[dry-run] " + bin + "/dpdk-devbind.py -b vfio-pci 0000:3b:01.0 0000:3b:01.1\n"
              "sriov-vf.sh: 2 VFs of 0000:3b:00.0 (ens1f0) would have been bound to vfio-pci; "
              "pass these EAL arguments to dpdk-app:\n"
              "-a 0000:3b:01.0 -a 0000:3b:01.1\n");
}

TEST(SriovVf, CreateWritesSysfsAndCallsIpModprobeAndDevbind) {
    temp_dir dir;
    fake_sriov tree(dir);
    // The VFs the kernel would make once sriov_numvfs is written.
    tree.add_vf(0, "iavf", "ens1f0v0");
    tree.add_vf(1, "iavf", "ens1f0v1");
    const auto r = tree.run("create ens1f0 2");
    ASSERT_EQ(r.rc, 0) << r;
    EXPECT_EQ(tree.numvfs(), "2\n");
    EXPECT_EQ(tree.calls(),
              "ip link set dev ens1f0 vf 0 mac 02:fe:12:34:56:00 trust on spoofchk off\n"
              "ip link set dev ens1f0 vf 1 mac 02:fe:12:34:56:01 trust on spoofchk off\n"
              "modprobe vfio-pci\n"
              "dpdk-devbind.py -b vfio-pci 0000:3b:01.0 0000:3b:01.1\n");
    EXPECT_THAT(r.out, HasSubstr("\n-a 0000:3b:01.0 -a 0000:3b:01.1\n")) << r;
}

TEST(SriovVf, CreateWithoutDevbindChangesNothing) {
    temp_dir dir;
    fake_sriov tree(dir);
    const auto r = tree.run("create ens1f0 2", "DEVBIND=" + dir.file("bin/no-such-devbind.py"));
    EXPECT_EQ(r.rc, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("no-such-devbind.py not found: install it (Debian: apt-get install dpdk)"))
        << r;
    EXPECT_EQ(tree.numvfs(), "0\n");
    EXPECT_EQ(tree.calls(), "");
}

TEST(SriovVf, DestroyHandsDpdkBoundVfsBackThenSetsZero) {
    temp_dir dir;
    fake_sriov tree(dir);
    tree.set_numvfs(2);
    tree.add_vf(0, "vfio-pci");
    tree.add_vf(1, "iavf", "ens1f0v1");
    const std::string d = tree.sys() + "/bus/pci/devices";

    const auto dry = tree.run("destroy ens1f0 --dry-run");
    ASSERT_EQ(dry.rc, 0) << dry;
    EXPECT_EQ(dry.out,
              "[dry-run] " + dir.file("bin") + "/dpdk-devbind.py -u 0000:3b:01.0\n"
              "[dry-run] echo '' > " + d + "/0000:3b:01.0/driver_override\n"
              "[dry-run] echo 0000:3b:01.0 > " + tree.sys() + "/bus/pci/drivers_probe\n"
              "[dry-run] echo 0 > " + d + "/0000:3b:00.0/sriov_numvfs\n"
              "sriov-vf.sh: the 2 VFs of 0000:3b:00.0 (ens1f0) would have been removed\n");
    EXPECT_EQ(tree.numvfs(), "2\n");

    const auto r = tree.run("destroy 0000:3b:00.0");
    ASSERT_EQ(r.rc, 0) << r;
    EXPECT_EQ(tree.calls(), "dpdk-devbind.py -u 0000:3b:01.0\n");
    EXPECT_EQ(read_text(d + "/0000:3b:01.0/driver_override"), "\n");
    EXPECT_EQ(read_text(d + "/0000:3b:01.1/driver_override"), "(null)\n");
    EXPECT_EQ(read_text(tree.sys() + "/bus/pci/drivers_probe"), "0000:3b:01.0\n");
    EXPECT_EQ(tree.numvfs(), "0\n");

    const auto again = tree.run("destroy ens1f0");
    EXPECT_EQ(again.rc, 0) << again;
    EXPECT_EQ(again.out, "sriov-vf.sh: 0000:3b:00.0 (ens1f0) has no VFs\n");
}

TEST(SriovVf, RefusesAPfWithTheDefaultRouteOrAddressesUnlessForced) {
    temp_dir dir;
    fake_sriov tree(dir);
    tree.set_numvfs(1);
    tree.add_vf(0, "vfio-pci");
    struct in_use_case {
        std::string file, answer, reason;
    };
    const std::vector<in_use_case> cases = {
        {"route4", "default via 192.0.2.1 dev ens1f0 proto static\n",
         "it carries the default route (default via 192.0.2.1 dev ens1f0 proto static)"},
        {"route6", "default via 2001:db8::1 dev ens1f0 metric 1024 pref medium\n",
         "it carries the default route (default via 2001:db8::1 dev ens1f0 metric 1024"},
        {"addr",
         "4: ens1f0    inet 192.0.2.7/24 brd 192.0.2.255 scope global ens1f0\\  valid_lft forever\n"
         "4: ens1f0    inet6 2001:db8::7/64 scope global \\       valid_lft forever\n",
         "it has the addresses 192.0.2.7/24 2001:db8::7/64"},
    };
    for (const auto& c : cases) {
        for (const auto& file : {"route4", "route6", "addr"}) {
            tree.answer(file, "");
        }
        tree.answer(c.file, c.answer);
        for (const std::string command : {"create ens1f0 2", "destroy ens1f0", "create 3b:00.0 1"}) {
            const auto r = tree.run(command);
            EXPECT_EQ(r.rc, 1) << command << ": " << r;
            EXPECT_THAT(r.err, HasSubstr("refusing to change the VFs of ens1f0: " + c.reason))
                << command << ": " << r;
            EXPECT_THAT(r.err, HasSubstr("pass --force")) << r;
            EXPECT_EQ(r.out, "") << command;
        }
        EXPECT_EQ(tree.numvfs(), "1\n");
        EXPECT_EQ(tree.calls(), "");

        const auto forced = tree.run("--force --dry-run create ens1f0 1");
        EXPECT_EQ(forced.rc, 0) << forced;
        EXPECT_THAT(forced.err, HasSubstr("warning: ens1f0: " + c.reason)) << forced;
        EXPECT_THAT(forced.out, HasSubstr("-a 0000:3b:01.0\n")) << forced;
    }
    // A default route through another interface is no reason.
    tree.answer("addr", "");
    tree.answer("route4", "default via 192.0.2.1 dev ens1f01 proto static\n");
    const auto other = tree.run("--dry-run create ens1f0 1");
    EXPECT_EQ(other.rc, 0) << other;
}

TEST(SriovVf, ArgumentErrorsSayWhatIsWrong) {
    temp_dir dir;
    fake_sriov tree(dir);
    expect_refused(tree, {
        {"", 2, "no command given"},
        {"list ens1f0", 2, "unknown command 'list'"},
        {"show", 2, "show takes one PF"},
        {"show ens1f0 ens1f1", 2, "show takes one PF"},
        {"create ens1f0", 2, "create takes a PF and a number of VFs"},
        {"create ens1f0 0", 2, "N must be a number of VFs > 0, got '0'"},
        {"create ens1f0 two", 2, "N must be a number of VFs > 0, got 'two'"},
        {"create ens1f0 2 --vlan 4095", 2, "--vlan must be a VLAN ID from 1 to 4094, got '4095'"},
        {"create ens1f0 2 --vlan", 2, "--vlan needs a value"},
        {"create ens1f0 2 --trust yes", 2, "--trust must be on or off, got 'yes'"},
        {"create ens1f0 2 --spoofchk 1", 2, "--spoofchk must be on or off, got '1'"},
        {"create ens1f0 2 --mac-base 02:00:00:00:01", 2, "--mac-base must be a MAC"},
        {"create ens1f0 2 --mac-base 03:00:00:00:00:01", 2, "is a multicast MAC"},
        {"create ens1f0 2 --bogus", 2, "unknown option '--bogus'"},
        {"create ens1f0 9", 1, "supports at most 8 VFs (sriov_totalvfs), asked for 9"},
        {"create ens1f0 2 --mac-base 02:ff:ff:ff:ff:ff", 1, "runs past 02:ff:ff:ff:ff:ff"},
        {"show eth9", 1, "no network interface eth9"},
        {"show 0000:3b:00.1", 1, "no PCI device 0000:3b:00.1"},
    });
    EXPECT_EQ(tree.numvfs(), "0\n");
    EXPECT_EQ(tree.calls(), "");
    const auto help = tree.run("--help");
    EXPECT_EQ(help.rc, 0) << help;
    EXPECT_THAT(help.out, HasSubstr("create PF N [--mac-base MAC]")) << help;
}

// ---------------------------------------------------------------- hugepages.sh

// A fake sysfs under dir/sys with 2 MB pages (and 1 GB pages when asked) on
// NUMA nodes 0 and 1, each node holding the given counts, and dir/mounts as
// /proc/mounts (hugetlbfs for 2 MB pages on /dev/hugepages).
class fake_hugepages {
  public:
    fake_hugepages(const temp_dir& dir, bool with_1g) : dir_(dir), sys_(dir.file("sys")) {
        std::vector<std::string> sizes = {"2048kB"};
        if (with_1g) {
            sizes.push_back("1048576kB");
        }
        for (const auto& size : sizes) {
            set(sys_ + "/kernel/mm/hugepages/hugepages-" + size, 0, 0);
            for (int node : {0, 1}) {
                set(node_dir(node, size), 0, 0);
            }
        }
        write_text(dir.file("mounts"),
                   "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
                   "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n");
    }

    std::string node_dir(int node, const std::string& size) const {
        return sys_ + "/devices/system/node/node" + std::to_string(node) + "/hugepages/hugepages-" +
               size;
    }
    std::string global_dir(const std::string& size) const {
        return sys_ + "/kernel/mm/hugepages/hugepages-" + size;
    }

    // Counters of one directory (node or global).
    void set(const std::string& dir, int total, int free) const {
        fs::create_directories(dir);
        write_text(dir + "/nr_hugepages", std::to_string(total) + "\n");
        write_text(dir + "/free_hugepages", std::to_string(free) + "\n");
        write_text(dir + "/surplus_hugepages", "0\n");
    }

    script_result run(const std::string& args) const {
        return run_script(dir_, "SYSFS_ROOT=" + sys_ + " PROC_MOUNTS=" + dir_.file("mounts"),
                          "hugepages.sh", args);
    }

    std::string sys() const { return sys_; }

  private:
    const temp_dir& dir_;
    std::string sys_;
};

TEST(HugePages, ArgumentErrorsSayWhatIsWrong) {
    temp_dir dir;
    fake_hugepages tree(dir, false);
    expect_refused(tree, {
        {"lots", 2, "PAGES must be a number, got 'lots'"},
        {"-5", 2, "unknown option '-5'"},
        {"4 8", 2, "one PAGES count only, got '4' and '8'"},
        {"--size 4M 8", 2, "--size must be 2M or 1G, got '4M'"},
        {"--size", 2, "--size needs a value"},
        {"--node one 8", 2, "--node must be a list of NUMA nodes like 0 or 0,1, got 'one'"},
        {"--node 0, 8", 2, "--node must be a list of NUMA nodes"},
        {"--status 8", 2, "--status takes no other option"},
        {"--release 8", 2, "--release takes no PAGES"},
        {"--bogus", 2, "unknown option '--bogus'"},
        {"--node 2 8", 1, "NUMA node 2 has no 2 MB pages (nodes: 0 1)"},
        {"--size 1G 1", 1, "this machine offers no 1 GB pages (sizes: 2 MB; 1 GB pages need a CPU with pdpe1gb)"},
    });
    EXPECT_EQ(read_text(tree.global_dir("2048kB") + "/nr_hugepages"), "0\n");
    const auto help = tree.run("--help");
    EXPECT_EQ(help.rc, 0) << help;
    EXPECT_THAT(help.out, HasSubstr("--release")) << help;
}

TEST(HugePages, StatusShowsEveryNodeAndSizeAndTheMounts) {
    temp_dir dir;
    fake_hugepages tree(dir, true);
    tree.set(tree.node_dir(0, "2048kB"), 512, 500);
    tree.set(tree.node_dir(1, "2048kB"), 256, 256);
    tree.set(tree.global_dir("2048kB"), 768, 756);
    tree.set(tree.node_dir(1, "1048576kB"), 2, 1);
    tree.set(tree.global_dir("1048576kB"), 2, 1);
    const auto r = tree.run("--status");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_EQ(r.out,
              "size   node      total     free\n"
              "2 MB   node0       512      500\n"
              "2 MB   node1       256      256\n"
              "2 MB   all         768      756\n"
              "1 GB   node0         0        0\n"
              "1 GB   node1         2        1\n"
              "1 GB   all           2        1\n"
              "hugetlbfs for 2 MB pages mounted on /dev/hugepages\n"
              "hugetlbfs for 1 GB pages not mounted\n")
        << r;
}

TEST(HugePages, DryRunPrintsTheWritesAndTheMount) {
    temp_dir dir;
    fake_hugepages tree(dir, true);
    const auto spread = tree.run("--dry-run 64");
    EXPECT_EQ(spread.rc, 0) << spread;
    EXPECT_EQ(spread.out, "[dry-run] echo 64 > " + tree.global_dir("2048kB") + "/nr_hugepages\n");

    const auto per_node = tree.run("--dry-run --size 1G --node 0,1 2");
    EXPECT_EQ(per_node.rc, 0) << per_node;
    EXPECT_EQ(per_node.out,
              "[dry-run] echo 2 > " + tree.node_dir(0, "1048576kB") + "/nr_hugepages\n"
              "[dry-run] echo 2 > " + tree.node_dir(1, "1048576kB") + "/nr_hugepages\n"
              "[dry-run] mkdir -p /dev/hugepages1G\n"
              "[dry-run] mount -t hugetlbfs -o pagesize=1G nodev /dev/hugepages1G\n");

    tree.set(tree.global_dir("2048kB"), 64, 64);
    tree.set(tree.global_dir("1048576kB"), 2, 2);
    const auto release = tree.run("--release --dry-run");
    EXPECT_EQ(release.rc, 0) << release;
    EXPECT_EQ(release.out,
              "[dry-run] echo 0 > " + tree.global_dir("2048kB") + "/nr_hugepages\n"
              "[dry-run] echo 0 > " + tree.global_dir("1048576kB") + "/nr_hugepages\n");
    EXPECT_EQ(read_text(tree.global_dir("2048kB") + "/nr_hugepages"), "64\n");
}

TEST(HugePages, ReservesReleasesAndSaysWhenTheKernelGaveLess) {
    temp_dir dir;
    fake_hugepages tree(dir, false);
    const auto r = tree.run("--node 1 16");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_EQ(read_text(tree.node_dir(1, "2048kB") + "/nr_hugepages"), "16\n");
    EXPECT_THAT(r.out, HasSubstr("2 MB pages: asked for 16 on each of node 1")) << r;

    const auto released = tree.run("--release --node 1");
    EXPECT_EQ(released.rc, 0) << released;
    EXPECT_EQ(read_text(tree.node_dir(1, "2048kB") + "/nr_hugepages"), "0\n");

    // A kernel that keeps none of what is asked of node 0.
    fs::remove(tree.node_dir(0, "2048kB") + "/nr_hugepages");
    fs::create_symlink("/dev/null", tree.node_dir(0, "2048kB") + "/nr_hugepages");
    const auto short_run = tree.run("--node 0 8");
    EXPECT_EQ(short_run.rc, 1) << short_run;
    EXPECT_THAT(short_run.err, HasSubstr("fewer 2 MB pages than asked: memory is too fragmented"))
        << short_run;
    EXPECT_THAT(short_run.err,
                HasSubstr("add 'hugepagesz=2M hugepages=0:8' to the kernel command line"))
        << short_run;
}

// The real kernel's 2 MB pages: the count there before, put back at the end
// (also when a test fails), written directly so that a broken script cannot
// leave it changed.
class real_hugepages {
  public:
    static constexpr const char* dir = "/sys/kernel/mm/hugepages/hugepages-2048kB";

    real_hugepages() : before_(count("nr_hugepages")) {}
    ~real_hugepages() { write_text(std::string(dir) + "/nr_hugepages", std::to_string(before_) + "\n"); }
    real_hugepages(const real_hugepages&) = delete;
    real_hugepages& operator=(const real_hugepages&) = delete;

    static bool writable() { return is_root() && ::access((std::string(dir) + "/nr_hugepages").c_str(), W_OK) == 0; }
    static int count(const std::string& name) {
        return std::stoi(read_text(std::string(dir) + "/" + name));
    }
    int before() const { return before_; }

  private:
    int before_;
};

TEST(HugePages, StatusOnThisMachineMatchesSysfs) {
    if (!fs::exists(real_hugepages::dir)) {
        GTEST_SKIP() << "this kernel has no 2 MB hugepages";
    }
    temp_dir dir;
    const auto r = run_script(dir, "", "hugepages.sh", "--status");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("size   node      total     free\n")) << r;
    EXPECT_THAT(r.out, ::testing::ContainsRegex("\n2 MB   (node0|all) +[0-9]+ +[0-9]+\n")) << r;
    EXPECT_THAT(r.out, HasSubstr("hugetlbfs for 2 MB pages ")) << r;
}

TEST(HugePages, ReserveRoundTripOnThisKernel) {
    if (!real_hugepages::writable()) {
        GTEST_SKIP() << "needs root and a writable " << real_hugepages::dir << "/nr_hugepages";
    }
    temp_dir dir;
    real_hugepages pages;
    const int more = pages.before() + 4;
    const auto r = run_script(dir, "", "hugepages.sh", "--size 2M " + std::to_string(more));
    ASSERT_EQ(r.rc, 0) << r;
    EXPECT_EQ(real_hugepages::count("nr_hugepages"), more);
    EXPECT_THAT(r.out, HasSubstr("2 MB pages: asked for " + std::to_string(more) +
                                 ", the kernel gave " + std::to_string(more) + " in all"))
        << r;
    const auto back = run_script(dir, "", "hugepages.sh", std::to_string(pages.before()));
    EXPECT_EQ(back.rc, 0) << back;
    EXPECT_EQ(real_hugepages::count("nr_hugepages"), pages.before());
}

TEST(HugePages, ReleaseRoundTripOnThisKernel) {
    if (!real_hugepages::writable()) {
        GTEST_SKIP() << "needs root and a writable " << real_hugepages::dir << "/nr_hugepages";
    }
    if (real_hugepages::count("free_hugepages") != real_hugepages::count("nr_hugepages")) {
        GTEST_SKIP() << "another process holds 2 MB hugepages: releasing the free ones could "
                        "starve it";
    }
    temp_dir dir;
    real_hugepages pages;
    const auto reserved = run_script(dir, "", "hugepages.sh", "--size 2M " + std::to_string(pages.before() + 4));
    ASSERT_EQ(reserved.rc, 0) << reserved;
    const auto r = run_script(dir, "", "hugepages.sh", "--release --size 2M");
    EXPECT_EQ(r.rc, 0) << r;
    EXPECT_EQ(real_hugepages::count("nr_hugepages"), 0);
    EXPECT_THAT(r.out, HasSubstr("2 MB pages: all released")) << r;
}

// ---------------------------------------------------------------- tap-demo.sh

const std::vector<std::string> tap_demo_tools = {"ip", "ping", "traceroute", "python3"};

// tap-demo.sh started in the background, its output in dir. On destruction
// it is killed if still running, and what it made and could not remove
// (its namespaces) is removed; a test sees what was left with left().
class tap_demo_run {
  public:
    explicit tap_demo_run(const temp_dir& dir)
        : out_path_(dir.file("out")),
          pid_(spawn({"env", std::string("DPDK_APP=") + DPDK_APP_BIN, "bash",
                      scripts_dir + "/tap-demo.sh"},
                     out_path_, "")),
          tag_("tap-demo-" + std::to_string(pid_)) {}
    ~tap_demo_run() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        for (const char* ns : {"-app", "-a", "-b"}) {
            sh("ip netns del " + tag_ + ns + " 2>/dev/null");
        }
    }
    tap_demo_run(const tap_demo_run&) = delete;
    tap_demo_run& operator=(const tap_demo_run&) = delete;

    bool started() const { return pid_ > 0; }
    void signal(int sig) const { ::kill(pid_, sig); }
    std::string out() const { return read_text(out_path_); }

    // Its exit status within limit (128 + signal when killed by one), -1
    // when it did not exit by then.
    int wait(std::chrono::seconds limit) {
        int status = 0;
        reaped_ = wait_for([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                           std::chrono::milliseconds(limit));
        if (!reaped_) {
            return -1;
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    // Its namespaces and dpdk-app processes still there.
    std::string left() const {
        // [t]: the pattern does not match the shell running pgrep.
        return sh_output("ip netns list | grep -- " + tag_ + "; pgrep -af -- '--file-prefix [t]" +
                         tag_.substr(1) + " '");
    }

  private:
    std::string out_path_;
    pid_t pid_;
    std::string tag_;
    bool reaped_ = false;
};

TEST(TapDemo, TourPingsAndTraceroutesThroughTheRouterAndCleansUp) {
    if (!can_use_netns(tap_demo_tools)) {
        GTEST_SKIP() << netns_requirements(tap_demo_tools);
    }
    temp_dir dir;
    tap_demo_run demo(dir);
    ASSERT_TRUE(demo.started());
    const int rc = demo.wait(std::chrono::seconds(120));
    const std::string out = demo.out();
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(occurrences(out, " 0% packet loss"), 3u) << out;
    EXPECT_THAT(out, HasSubstr("\n 1  192.0.2.1  ")) << out;
    EXPECT_THAT(out, HasSubstr("\n 2  198.51.100.2  ")) << out;
    EXPECT_THAT(out, HasSubstr("\n 1  2001:db8:1::1  ")) << out;
    EXPECT_THAT(out, HasSubstr("\n 2  2001:db8:2::2  ")) << out;
    // dpdk-app's own counters at exit, then the responder's events.
    EXPECT_THAT(out, ::testing::ContainsRegex("dpdk-app: [0-9.]+ s  rx [0-9]+  forwarded [0-9]+")) << out;
    EXPECT_THAT(out, HasSubstr("errors_time_exceeded 2")) << out;
    EXPECT_THAT(out, HasSubstr("tap-demo.sh: every step worked")) << out;
    EXPECT_EQ(demo.left(), "");
}

TEST(TapDemo, CtrlCStopsTheTourAndRemovesEverything) {
    if (!can_use_netns(tap_demo_tools)) {
        GTEST_SKIP() << netns_requirements(tap_demo_tools);
    }
    temp_dir dir;
    tap_demo_run demo(dir);
    ASSERT_TRUE(demo.started());
    const bool pinging = wait_for(
        [&] { return demo.out().find("\n$ ping -c 3") != std::string::npos; }, std::chrono::seconds(60));
    EXPECT_TRUE(pinging) << demo.out();
    EXPECT_NE(demo.left(), "") << "the namespaces and dpdk-app should be up while it pings";
    demo.signal(SIGINT);
    const int rc = demo.wait(std::chrono::seconds(30));
    EXPECT_EQ(rc, 130) << demo.out();
    EXPECT_THAT(demo.out(), HasSubstr("tap-demo.sh: interrupted, cleaning up")) << demo.out();
    EXPECT_EQ(demo.left(), "");
}

// ---------------------------------------------------------------- service and install

const std::string build_root = BUILD_ROOT;

TEST(Service, UnitPassesSystemdAnalyzeVerify) {
    if (sh("command -v systemd-analyze >/dev/null") != 0) {
        GTEST_SKIP() << "systemd-analyze is missing (Debian package systemd; scripts/setup.sh "
                        "installs it)";
    }
    const std::string unit = read_text(build_root + "/dist/dpdk-app.service");
    ASSERT_THAT(unit, HasSubstr("\nExecStart=")) << build_root << "/dist/dpdk-app.service";
    for (const char* line :
         {"\nAfter=dev-hugepages.mount", "\nRequires=dev-hugepages.mount",
          "\nExecReload=/bin/kill -HUP $MAINPID\n", "\nRestartPreventExitStatus=2\n",
          "\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n",
          "\nRuntimeDirectory=dpdk-app dpdk/dpdk-app\n", " --file-prefix dpdk-app "}) {
        EXPECT_THAT(unit, HasSubstr(line));
    }
    // Options that would cut DPDK off from /dev/vfio, /dev/hugepages or the
    // UIO resource files in /sys.
    for (const char* line : {"\nPrivateDevices=yes", "\nDevicePolicy=", "\nDeviceAllow=",
                             "\nProtectClock=yes", "\nProtectKernelTunables=yes"}) {
        EXPECT_THAT(unit, Not(HasSubstr(line)));
    }
    // verify wants the ExecStart binary to exist: the one under test stands in
    // for the installed one.
    const auto start = unit.find("\nExecStart=") + 11;
    const auto end = unit.find(' ', start);
    temp_dir dir;
    write_text(dir.file("dpdk-app.service"),
               unit.substr(0, start) + DPDK_APP_BIN + unit.substr(end));
    const std::string out =
        sh_output("systemd-analyze verify --man=no " + dir.file("dpdk-app.service") +
                  " 2>&1; echo \"rc=$?\"");
    EXPECT_EQ(out, "rc=0\n") << "systemd-analyze verify: warnings or errors";
}

TEST(Install, MesonInstallPutsEveryFileWhereTheDocsSay) {
    const nlohmann::json options =
        nlohmann::json::parse(sh_output("meson introspect " + build_root + " --buildoptions"));
    std::map<std::string, std::string> option;
    for (const auto& o : options) {
        if (o["value"].is_string()) {
            option[o["name"].get<std::string>()] = o["value"].get<std::string>();
        }
    }
    ASSERT_FALSE(option["prefix"].empty()) << "no prefix in meson introspect";
    const auto at = [&](const std::string& dir) { return (fs::path(option["prefix"]) / dir).string(); };
    const std::string unit_dir = option["systemdunitdir"].empty()
                                     ? at("lib/systemd/system")
                                     : option["systemdunitdir"];

    temp_dir dir;
    const std::string destdir = dir.file("root");
    const int rc = sh("meson install -C " + build_root + " --no-rebuild --quiet --destdir " +
                      destdir + " >" + dir.file("install.log") + " 2>&1");
    ASSERT_EQ(rc, 0) << read_text(dir.file("install.log"));

    struct installed {
        std::string path;
        bool executable;
    };
    const std::vector<installed> expected = {
        {at(option["bindir"]) + "/dpdk-app", true},
        {at(option["sysconfdir"]) + "/dpdk-app/default.toml", false},
        {at(option["sysconfdir"]) + "/dpdk-app/flow-export.toml", false},
        {at(option["datadir"]) + "/dpdk-app/scripts/hugepages.sh", true},
        {at(option["datadir"]) + "/dpdk-app/scripts/replay.sh", true},
        {at(option["datadir"]) + "/dpdk-app/scripts/sriov-vf.sh", true},
        {at(option["datadir"]) + "/dpdk-app/scripts/tap-demo.sh", true},
        {at(option["datadir"]) + "/dpdk-app/scripts/lib/system-changes.sh", false},
        {unit_dir + "/dpdk-app.service", false},
    };
    for (const auto& f : expected) {
        const std::string path = destdir + f.path;
        ASSERT_TRUE(fs::is_regular_file(path)) << f.path << " not installed; installed:\n"
                                               << sh_output("cd " + destdir + " && find . -type f");
        EXPECT_EQ(::access(path.c_str(), X_OK) == 0, f.executable) << f.path;
    }
    const std::string unit = read_text(destdir + unit_dir + "/dpdk-app.service");
    EXPECT_THAT(unit, HasSubstr("\nExecStart=" + at(option["bindir"]) + "/dpdk-app "));
    EXPECT_THAT(unit, HasSubstr("DPDK_APP_CONFIG=" + at(option["sysconfdir"]) + "/dpdk-app/dpdk-app.toml"));
    EXPECT_EQ(fs::file_size(destdir + at(option["bindir"]) + "/dpdk-app"), fs::file_size(DPDK_APP_BIN));
}

}  // namespace
