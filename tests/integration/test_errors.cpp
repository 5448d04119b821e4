// Bad input: each mistake a user makes gets a clear message and its exit code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

TEST(Errors, MissingPcapFile) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(),
                {"--vdev=net_pcap0,rx_pcap=" + dir.file("nope.pcap"), "--", "--idle-exit", "100"});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("rx_pcap file '" + dir.file("nope.pcap") + "' does not exist"));
}

TEST(Errors, TxPcapIntoMissingDirectory) {
    temp_dir dir;
    write_pcap(dir.file("in.pcap"), make_frames(10, 1));
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") +
                                 ",tx_pcap=" + dir.file("no/such/dir/out.pcap"),
                             "--", "--idle-exit", "100"});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("cannot write tx_pcap file"));
}

TEST(Errors, BadEalArguments) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--no-such-eal-option", "--vdev=net_null0"});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("EAL initialisation failed"));
    EXPECT_THAT(r.err, HasSubstr("check the EAL arguments"));
}

TEST(Errors, UnknownApplicationOption) {
    temp_dir dir;
    const run_result r = run_app({"--no-pci", "--", "--frobnicate"}, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown option '--frobnicate'"));
}

TEST(Errors, BadOptionValue) {
    temp_dir dir;
    const run_result r = run_app({"--", "--duration", "soon"}, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("--duration: expected a number of seconds"));
}

TEST(Errors, ZeroPorts) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--", "--idle-exit", "100"});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("no ports: give EAL a device"));
}

TEST(Errors, ConfigErrorsAreAllListedWithPositionsAndNothingStarts) {
    temp_dir dir;
    const std::string conf = dir.file("bad.toml");
    std::ofstream(conf) << "[dataplane]\nmode = \"teleport\"\nburst_size = 1000\n"
                           "[pipeline]\nring_size = 1000\ncolour = \"blue\"\n";
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "-c", conf});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(conf + ":2:8: dataplane.mode: expected one of \"bridge\""));
    EXPECT_THAT(r.err,
                HasSubstr(conf + ":3:14: dataplane.burst_size: expected an integer in 1..64"));
    EXPECT_THAT(r.err, HasSubstr(conf + ":5:13: pipeline.ring_size: expected a power of two"));
    EXPECT_THAT(r.err, HasSubstr(conf + ":6:1: unknown key 'pipeline.colour'"));
    EXPECT_THAT(r.err, HasSubstr("4 configuration error(s); nothing was started"));
    // Rejected before EAL: no EAL banner was printed.
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("EAL: Detected")));
}

TEST(Errors, TomlSyntaxError) {
    temp_dir dir;
    const std::string conf = dir.file("syntax.toml");
    std::ofstream(conf) << "[dataplane]\nlanes = = 2\n";
    const run_result r = run_app({"--", "--check-config", "-c", conf}, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(conf + ":2:"));
}

TEST(Errors, CheckConfigAcceptsAValidFile) {
    temp_dir dir;
    const std::string conf = dir.file("ok.toml");
    std::ofstream(conf) << "[dataplane]\nmode = \"bridge\"\n[[port]]\nname = \"net_tap0\"\n";
    const run_result r = run_app({"--", "--check-config", "-c", conf}, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("configuration is valid"));
}

// Every example configuration shipped in conf/ (and installed under
// /etc/dpdk-app) passes --check-config.
TEST(Errors, CheckConfigOfTheShippedExamples) {
    temp_dir dir;
    std::vector<std::string> examples;
    for (const auto& e : std::filesystem::directory_iterator(std::string(SOURCE_ROOT) + "/conf")) {
        if (e.path().extension() == ".toml") {
            examples.push_back(e.path().string());
        }
    }
    ASSERT_FALSE(examples.empty()) << "no conf/*.toml";
    for (const auto& conf : examples) {
        const run_result r = run_app({"--", "--check-config", "-c", conf}, dir);
        EXPECT_EQ(r.exit_code, 0) << conf << ":\n" << r.err;
        EXPECT_THAT(r.out, HasSubstr(conf + ": configuration is valid")) << conf;
    }
}

TEST(Errors, MissingConfigFile) {
    temp_dir dir;
    const run_result r = run_app({"--", "--check-config", "-c", dir.file("absent.toml")}, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(dir.file("absent.toml") + ": cannot read the configuration file"));
}

TEST(Errors, ConfiguredPortThatEalDidNotFind) {
    temp_dir dir;
    const std::string conf = dir.file("port.toml");
    std::ofstream(conf) << "[[port]]\nname = \"net_tap7\"\n";
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "-c", conf});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(
        r.err,
        HasSubstr(conf + ":1:1: port 'net_tap7' was not found by EAL (available: net_null0)"));
}

TEST(Errors, MoreLanesThanWorkers) {
    temp_dir dir;
    const std::string conf = dir.file("lanes.toml");
    std::ofstream(conf) << "[dataplane]\nlanes = 4\n";
    auto args = eal_base("-l 0-1");
    args.insert(args.end(), {"--vdev=net_null0", "--", "-c", conf});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("dataplane.lanes = 4 needs at least 4 worker lcores, EAL gave 1"));
}

// Without hugepages and without --no-huge the app says what to do. The test
// hides the machine's hugepages in a private mount namespace.
TEST(Errors, NoHugepages) {
    if (!is_root() || sh("command -v unshare >/dev/null") != 0) {
        GTEST_SKIP() << "needs root and unshare to hide hugepages";
    }
    temp_dir dir;
    const std::string cmd =
        "unshare -m sh -c 'mount -t tmpfs none /sys/kernel/mm/hugepages && exec " + app_binary() +
        " --no-pci -l 0 --file-prefix dpa_nohuge_" + std::to_string(::getpid()) +
        " --vdev=net_null0' 2>" + dir.file("err") + " >/dev/null";
    const int rc = sh(cmd);
    std::ifstream in(dir.file("err"));
    const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 1) << err;
    EXPECT_THAT(err,
                HasSubstr("no hugepages available: run scripts/hugepages.sh or pass --no-huge"));
}

TEST(Cli, HelpAndVersion) {
    temp_dir dir;
    const run_result h = run_app({"--", "--help"}, dir);
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_THAT(h.out, HasSubstr("--stats-json FILE"));
    const run_result v = run_app({"--", "--version"}, dir);
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_THAT(v.out, HasSubstr("dpdk-app "));
    EXPECT_THAT(v.out, HasSubstr("DPDK 22.11"));
}

}  // namespace

namespace {

// --preflight with this machine's real /sys: vdevs only pass; a configured
// port no vdev provides fails with its fix; nothing is started either way
// (EAL is not initialised).
TEST(Preflight, ChecksTheMachineAndTheConfigurationWithoutStarting) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "--preflight"});
    run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("ok    hugepages: not used (--no-huge)"));
    EXPECT_THAT(r.out, HasSubstr("ok    pci: not probed (--no-pci)"));
    EXPECT_THAT(r.out, HasSubstr("preflight: a start would get past these checks"));
    std::ofstream(dir.file("two.toml")) << "[[port]]\nname = \"net_null0\"\n[[port]]\nname = \"net_tap9\"\n";
    args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "-c", dir.file("two.toml"), "--preflight"});
    r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("FAIL  port net_tap9: in the configuration, but EAL will not "
                                 "probe such a device\n      fix: --vdev=net_tap9,..."));
    EXPECT_THAT(r.out, HasSubstr("preflight: 1 problem(s) would stop a start"));
}

}  // namespace
