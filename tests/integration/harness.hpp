// Integration test harness: runs the real dpdk-app binary on real vdevs,
// writes and reads pcaps with libpcap, and reads the stats JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <sys/types.h>

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

// Starts argv[0] (looked up in PATH) with argv in the background: stdin from
// /dev/null, stdout to out_path and stderr to err_path, or to out_path as well
// where err_path is empty (files made or truncated). Its pid, -1 when it could
// not be started.
pid_t spawn(std::vector<std::string> argv, const std::string& out_path,
            const std::string& err_path);

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

// ---------------------------------------------------------------- stats JSON

// Whether stats[section][key] is an integer counter.
bool has_counter(const nlohmann::json& stats, const std::string& section, const std::string& key);

// stats[section][key], 0 when the JSON has no such counter.
uint64_t counter(const nlohmann::json& stats, const std::string& section, const std::string& key);

// stats.drops[reason], 0 when the JSON has no such reason.
uint64_t drops(const nlohmann::json& stats, const std::string& reason);

// The sum of stats.drops over every reason but the one named: what was
// dropped other than by the verdict a test provokes.
uint64_t drops_other_than(const nlohmann::json& stats, const std::string& reason);

// The interesting part of a stats JSON, for failure messages: each of the
// sections named on a line of its own ("(no <section>)" where it is missing),
// then the drop reasons that are not zero.
std::string describe_stats(const nlohmann::json& stats, const std::vector<std::string>& sections);

// The stats of a running dpdk-app as they are now: removes stats_path, sends
// SIGUSR1 and polls until a complete JSON stands there or timeout passes.
// Null when none came.
nlohmann::json stats_snapshot(const app_process& app, const std::string& stats_path,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

// ---------------------------------------------------------------- network namespaces

// Whether tests that put dpdk-app's taps into network namespaces can run:
// root, /dev/net/tun, and every one of tools (a command looked up with
// `command -v`, or a path that must be executable).
bool can_use_netns(const std::vector<std::string>& tools);

// The skip message where can_use_netns(tools) is false, e.g.
// "needs root, /dev/net/tun, ip and ping".
std::string netns_requirements(const std::vector<std::string>& tools);

// A shell command's exit status and output (stdout and stderr together).
struct shell_result {
    int rc = -1;  // -1: no exit status came back
    std::string out;
};

std::ostream& operator<<(std::ostream& os, const shell_result& r);

// Runs command (no single quotes in it) with sh inside network namespace ns,
// killed after limit (rc 124 then, as timeout(1) says).
shell_result run_in(const std::string& ns, const std::string& command, std::chrono::seconds limit);

// How one kernel end of a tap_lab is made a host in its namespace.
struct lab_host {
    std::vector<std::string> addresses;      // with prefix length; IPv6 ones without DAD
    std::vector<std::string> gateways = {};  // default routes (IPv6 where it has a ':')
    std::string sysctl = {};                 // sysctl settings made first, none when empty
};

// dpdk-app on two net_tap vdevs through the kernel: dpdk-app runs in
// namespace app_ns with net_tap0 and net_tap1, whose kernel ends tap_a and
// tap_b are moved into namespaces a and b and made hosts there. On
// destruction (also when a test fails) dpdk-app is killed, then the
// namespaces are deleted.
//
// Use: make_namespaces(), anything else the app's namespace needs, then
// start_app(), add_host() for tap_a in a and tap_b in b, the test, and stop().
class tap_lab {
  public:
    // tag (two characters) tells a test file's labs apart: namespaces
    // "dpa-<tag>-<pid>-<n>-app" / "-a" / "-b", taps "<tag><n>a<pid>" /
    // "<tag><n>b<pid>" (interface names are per namespace; these only need to
    // be unique within one run, and at most 15 characters).
    explicit tap_lab(const std::string& tag);
    ~tap_lab();
    tap_lab(const tap_lab&) = delete;
    tap_lab& operator=(const tap_lab&) = delete;

    // Makes app_ns, a and b (deleting leftovers of the same names first).
    void make_namespaces();

    // Starts dpdk-app in app_ns (EAL "-l 0-1", net_tap0 on tap_a, net_tap1 on
    // tap_b, then "--" and app_args; its output goes to dir) and waits up to
    // 20 s for both taps to be up. A fatal failure when dpdk-app exits first
    // (with its stderr, then context, e.g. its configuration) or the taps do
    // not come up.
    void start_app(const std::vector<std::string>& app_args, const temp_dir& dir,
                   const std::string& context = "");

    // Moves tap from app_ns into namespace ns and makes it a host there:
    // lo up, host.sysctl, the addresses, the link up, the default routes.
    // A fatal failure names the first command that fails.
    void add_host(const std::string& tap, const std::string& ns, const lab_host& host);

    // SIGTERM, then what every run must keep: an exit status 0 within 30 s,
    // the final stats JSON at stats_path (read into stats) that adds up
    // (conservation_holds), no mbuf left in use. Messages and the printed
    // summary describe the given sections of the stats.
    void stop(const std::string& stats_path, nlohmann::json& stats,
              const std::vector<std::string>& described_sections);

    app_process& app() { return *app_; }

    const std::string app_ns, a, b, tap_a, tap_b;

  private:
    tap_lab(const std::string& tag, const std::string& pid, int n);

    // Declared before app_: the app is killed before its namespaces go.
    std::unique_ptr<netns_guard> guard_;
    std::unique_ptr<app_process> app_;
};

}  // namespace dpdk_app::testing
