// Faults from outside: what the operator's machine does to a run. Each case
// checks the exit code, the message and that nothing was lost silently.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <string>
#include <thread>

#include "harness.hpp"

using namespace dpdk_app::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

// A second instance on the prefix of a running one is refused with the
// holder's PID (EAL alone says "Cannot create lock"); once the first is
// killed with SIGKILL, leaving its runtime files, the prefix starts again.
TEST(Faults, APrefixInUseIsRefusedAndAKilledInstancesPrefixIsReused) {
    temp_dir dir;
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_null0", "--", "--quiet"});
    app_process first(args, dir);
    ASSERT_TRUE(wait_for([&] { return first.err_so_far().find("TELEMETRY") != std::string::npos; },
                         10s))
        << first.err_so_far();
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(first.running());
    auto again = args;
    again.insert(again.end(), {"--duration", "0.5"});
    temp_dir dir2;
    run_result r = run_app(again, dir2);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("is in use by process " + std::to_string(first.pid()) +
                                 " (another dpdk-app or DPDK primary process): give each "
                                 "instance its own --file-prefix"));
    first.signal(SIGKILL);
    first.wait(10s);
    temp_dir dir3;
    again.insert(again.end(), {"--stats-json", dir3.file("stats.json")});
    r = run_app(again, dir3);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir3.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_GT(stats["totals"]["rx"].get<uint64_t>(), 0u) << "the restart forwarded nothing";
}

// The tmpfs of one test, unmounted (and its directory removed) at the end.
class small_fs {
  public:
    small_fs(const std::string& path, const std::string& size) : path_(path) {
        mounted_ = sh("mkdir -p '" + path + "' && mount -t tmpfs -o size=" + size + " tmpfs '" +
                      path + "' 2>/dev/null") == 0;
    }
    ~small_fs() {
        if (mounted_) {
            sh("umount '" + path_ + "'");
        }
    }
    bool mounted() const { return mounted_; }

  private:
    std::string path_;
    bool mounted_ = false;
};

// net_pcap writes through libpcap, which says nothing when the disk fills:
// the frames its port counted as sent would vanish. dpdk-app compares each
// tx_pcap file with what its port sent, and fails the run, naming the file.
TEST(Faults, TxPcapOnAFullFileSystemFailsTheRunInsteadOfLosingFrames) {
    if (!is_root()) {
        GTEST_SKIP() << "mounting a tmpfs needs root";
    }
    temp_dir dir;
    small_fs fs(dir.file("small"), "128k");
    if (!fs.mounted()) {
        GTEST_SKIP() << "cannot mount a tmpfs here";
    }
    const auto in = make_frames(2000, 9);
    write_pcap(dir.file("in.pcap"), in);
    auto args = eal_base("-l 0");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("small/out.pcap"),
                             "--", "--idle-exit", "300", "--quiet", "--stats-json",
                             dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("net_pcap0: tx_pcap file '" + dir.file("small/out.pcap") +
                                 "' holds 131072 bytes of the "));
    EXPECT_THAT(r.err, HasSubstr("frames were lost; is its file system full?"));
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    EXPECT_EQ(stats["ports"][0]["opackets"], in.size()) << "the port counted them as sent";
    // The same run with room: exit 0, no message.
    auto roomy = args;
    for (auto& a : roomy) {
        if (a.find("tx_pcap=") != std::string::npos) {
            a = "--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" + dir.file("out.pcap");
        }
    }
    const run_result ok = run_app(roomy, dir);
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_THAT(ok.err, ::testing::Not(HasSubstr("frames were lost")));
    EXPECT_EQ(read_pcap(dir.file("out.pcap")), in);
}

// A pool far too small for four lcores and rings of 1,024: the driver runs
// out of mbufs and says so (rx_nombuf); every frame of the capture is
// either received or counted there, what was received comes out in order,
// and the pool is full again at the end.
TEST(Faults, ATinyMempoolCountsWhatTheDriverCouldNotTakeAndRecovers) {
    temp_dir dir;
    const auto in = make_frames(30000, 13);
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("tiny.toml")) << R"(
[mempool]
mbufs = 300
cache_size = 0
[pipeline]
ring_size = 1024
placement = [["rx"], ["parse", "bridge"], ["respond", "tx"]]
)";
    auto args = eal_base("--lcores (0-3)@(0-1)");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("out.pcap"),
                             "--", "-c", dir.file("tiny.toml"), "--idle-exit", "500", "--quiet",
                             "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    const auto& port = stats["ports"][0];
    const uint64_t rx = port["rx"];
    const uint64_t nombuf = port["rx_nombuf"];
    EXPECT_GT(nombuf, 0u) << "the pool did not run dry: make it smaller";
    EXPECT_EQ(rx + nombuf, in.size());
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
    EXPECT_THAT(r.out, HasSubstr("no-mbuf " + std::to_string(nombuf)));
    // What came out is what was received: the capture minus the frames the
    // driver dropped, in order.
    const auto out = read_pcap(dir.file("out.pcap"));
    ASSERT_EQ(out.size(), rx);
    std::size_t k = 0;
    for (const auto& f : in) {
        k += k < out.size() && out[k] == f;
    }
    EXPECT_EQ(k, out.size()) << "the output is not an in-order subsequence of the capture";
}

// Small inter-lcore rings under a replay on four lcores: with "drop" a full
// ring costs exactly the frames counted as ring_full (whatever the timing
// gives); with backpressure nothing at all.
class RingFull : public ::testing::TestWithParam<const char*> {};

TEST_P(RingFull, LosesExactlyWhatItCounts) {
    const std::string policy = GetParam();
    temp_dir dir;
    const auto in = make_frames(30000, 17);
    write_pcap(dir.file("in.pcap"), in);
    std::ofstream(dir.file("rings.toml")) << "[pipeline]\nring_size = 64\nring_full = \"" + policy +
                                                 "\"\nplacement = [[\"rx\"], [\"parse\", "
                                                 "\"bridge\"], [\"respond\", \"tx\"]]\n";
    auto args = eal_base("--lcores (0-3)@(0-1)");
    args.insert(args.end(), {"--vdev=net_pcap0,rx_pcap=" + dir.file("in.pcap") + ",tx_pcap=" +
                                 dir.file("out.pcap"),
                             "--", "-c", dir.file("rings.toml"), "--idle-exit", "500", "--quiet",
                             "--stats-json", dir.file("stats.json")});
    const run_result r = run_app(args, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto stats = read_json(dir.file("stats.json"));
    EXPECT_TRUE(conservation_holds(stats));
    const uint64_t full = stats["drops"]["ring_full"];
    const uint64_t rx = stats["ports"][0]["rx"];
    EXPECT_EQ(rx + stats["ports"][0]["rx_nombuf"].get<uint64_t>(), in.size());
    EXPECT_EQ(stats["totals"]["dropped"], full) << stats["drops"].dump();
    const auto out = read_pcap(dir.file("out.pcap"));
    EXPECT_EQ(out.size() + full, rx);
    if (policy == "backpressure") {
        EXPECT_EQ(full, 0u);
        EXPECT_EQ(out, in) << "backpressure loses nothing and keeps the order";
    }
    EXPECT_EQ(stats["mempool"]["in_use"], 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, RingFull, ::testing::Values("drop", "backpressure"));

}  // namespace
