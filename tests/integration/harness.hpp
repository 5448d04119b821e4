// Integration test harness: runs the real dpdk-app binary on real vdevs,
// writes and reads pcaps with libpcap, and reads the stats JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dpdk_app::testing {

using frame = std::vector<uint8_t>;

// A temporary directory removed (with its content) on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

struct run_result {
    int exit_code = -1;  // -1: did not exit by itself (killed at the deadline)
    int term_signal = 0;
    std::string out;
    std::string err;
    bool timed_out = false;
};

// A dpdk-app process started in the background.
class app_process {
  public:
    // args: the full argument list after the program name. stdout and stderr
    // go to files in dir. prefix wraps the command (e.g. {"ip","netns","exec","ns"}).
    app_process(const std::vector<std::string>& args, const temp_dir& dir,
                const std::vector<std::string>& prefix = {});
    ~app_process();
    app_process(const app_process&) = delete;
    app_process& operator=(const app_process&) = delete;

    int pid() const { return pid_; }
    void signal(int sig) const;
    // Waits until the process exits or the timeout passes (then kills it).
    run_result wait(std::chrono::milliseconds timeout);
    bool running();
    // What the process wrote to stderr so far.
    std::string err_so_far() const;

  private:
    int pid_ = -1;
    std::string out_path_, err_path_;
    bool reaped_ = false;
    run_result result_;
};

// Runs dpdk-app to completion.
run_result run_app(const std::vector<std::string>& args, const temp_dir& dir,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Path of the dpdk-app binary under test.
std::string app_binary();

// EAL arguments every test uses: no PCI, no hugepages, its own file prefix.
std::vector<std::string> eal_base(const std::string& lcores_option);

// Deterministic mix of Ethernet frames: IPv4/UDP, IPv4/TCP, IPv6/UDP, ARP and
// 802.1Q-tagged frames, sizes 60..1514, random payloads. The headers are
// well-formed (IPv4 checksum, TCP data offset, UDP length) so that the parse
// stage forwards every frame.
std::vector<frame> make_frames(std::size_t count, uint32_t seed);

void write_pcap(const std::string& path, const std::vector<frame>& frames);
std::vector<frame> read_pcap(const std::string& path);

nlohmann::json read_json(const std::string& path);

// rx + generated == forwarded + dropped + consumed + generated_sent +
// generated_dropped + in_flight, and with nothing in flight
// rx == forwarded + dropped + consumed and generated == generated_sent +
// generated_dropped; the drops by reason sum to dropped + generated_dropped.
::testing::AssertionResult conservation_holds(const nlohmann::json& stats);

// Replaces path's content at once (a temporary file renamed over it), as an
// operator's editor does: a reload never reads half a file. False on failure.
bool replace_file(const std::string& path, const std::string& text);

// How often what occurs in text (e.g. verdict lines on stderr).
std::size_t occurrences(const std::string& text, const std::string& what);

// Runs a shell command; returns its exit status.
int sh(const std::string& command);
std::string sh_output(const std::string& command);

bool is_root();

// Network namespaces made by one test (deleted first if left over), deleted
// again on destruction, also when the test fails.
class netns_guard {
  public:
    explicit netns_guard(std::vector<std::string> names);
    ~netns_guard();
    netns_guard(const netns_guard&) = delete;
    netns_guard& operator=(const netns_guard&) = delete;

  private:
    std::vector<std::string> names_;
};

// Polls cond every 50 ms until it holds or timeout passes; its last answer.
bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

}  // namespace dpdk_app::testing
