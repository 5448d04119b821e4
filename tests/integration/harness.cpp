#include <gtest/gtest.h>

#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include <pcap/pcap.h>

extern char** environ;

namespace dpdk_app::testing {

namespace fs = std::filesystem;

temp_dir::temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "dpdk-app-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

pid_t spawn(std::vector<std::string> argv, const std::string& out_path,
            const std::string& err_path) {
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err_path.empty()) {
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
    }
    // Signals as on a terminal, whatever this process inherited: a test run
    // started in the background of a non-interactive shell (nohup, CI)
    // ignores SIGINT and SIGQUIT, and a shell script cannot trap a signal
    // ignored when it started.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGPIPE}) {
        sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

app_process::app_process(const std::vector<std::string>& args, const temp_dir& dir,
                         const std::vector<std::string>& prefix) {
    static std::atomic<int> n{0};
    const int id = n++;
    out_path_ = dir.file("app" + std::to_string(id) + ".out");
    err_path_ = dir.file("app" + std::to_string(id) + ".err");
    std::vector<std::string> argv = prefix;
    argv.push_back(app_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, out_path_, err_path_);
    if (pid_ < 0) {
        throw std::runtime_error("cannot start " + argv[0]);
    }
}

app_process::~app_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void app_process::signal(int sig) const {
    ::kill(pid_, sig);
}

bool app_process::running() {
    if (reaped_) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        result_.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return false;
    }
    return true;
}

run_result app_process::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            reaped_ = true;
            result_.timed_out = true;
            result_.exit_code = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    result_.out = slurp(out_path_);
    result_.err = slurp(err_path_);
    return result_;
}

std::string app_process::err_so_far() const {
    return slurp(err_path_);
}

run_result run_app(const std::vector<std::string>& args, const temp_dir& dir,
                   std::chrono::milliseconds timeout) {
    app_process p(args, dir);
    return p.wait(timeout);
}

std::string app_binary() {
    if (const char* env = std::getenv("DPDK_APP_BIN")) {
        return env;
    }
    return DPDK_APP_BIN;
}

std::vector<std::string> eal_base(const std::string& lcores_option) {
    static std::atomic<int> n{0};
    std::vector<std::string> args;
    std::istringstream words(lcores_option);
    for (std::string w; words >> w;) {
        args.push_back(w);
    }
    args.insert(args.end(), {"--no-pci", "--no-huge", "-m", "512", "--file-prefix",
                             "dpa_it_" + std::to_string(::getpid()) + "_" + std::to_string(n++)});
    return args;
}

std::vector<frame> make_frames(std::size_t count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> size(60, 1514);
    std::vector<frame> frames;
    frames.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const int kind = static_cast<int>(i % 10);
        std::size_t len = static_cast<std::size_t>(size(rng));
        if (kind == 9) {
            len = 60;  // ARP, padded
        } else if (kind >= 6 && kind <= 7) {
            len = std::max<std::size_t>(len, 14 + 40 + 8);  // room for the UDP header
        }
        frame f(len);
        for (auto& b : f) {
            b = static_cast<uint8_t>(byte(rng));
        }
        const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
        const uint8_t src[6] = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(i)};
        std::copy(dst, dst + 6, f.begin());
        std::copy(src, src + 6, f.begin() + 6);
        std::size_t l3 = 14;
        uint16_t ethertype = kind == 9 ? 0x0806 : (kind >= 6 && kind <= 7 ? 0x86dd : 0x0800);
        if (kind == 8) {  // 802.1Q tagged IPv4
            f[12] = 0x81;
            f[13] = 0x00;
            f[14] = 0x00;
            f[15] = static_cast<uint8_t>(i % 4095 + 1);
            l3 = 18;
            ethertype = 0x0800;
        }
        f[l3 - 2] = static_cast<uint8_t>(ethertype >> 8);
        f[l3 - 1] = static_cast<uint8_t>(ethertype);
        if (ethertype == 0x0800) {
            f[l3] = 0x45;
            f[l3 + 1] = 0;
            const std::size_t total = len - l3;
            f[l3 + 2] = static_cast<uint8_t>(total >> 8);
            f[l3 + 3] = static_cast<uint8_t>(total);
            f[l3 + 6] = 0x40;  // DF, not a fragment
            f[l3 + 7] = 0;
            f[l3 + 8] = 64;
            const bool udp = kind % 2 == 0;
            f[l3 + 9] = udp ? 17 : 6;
            const std::size_t l4 = l3 + 20;
            if (udp) {
                const std::size_t udp_len = total - 20;
                f[l4 + 4] = static_cast<uint8_t>(udp_len >> 8);
                f[l4 + 5] = static_cast<uint8_t>(udp_len);
            } else {
                f[l4 + 12] = 0x50;  // data offset 5: no TCP options
            }
            // The header checksum (RFC 1071).
            f[l3 + 10] = f[l3 + 11] = 0;
            uint32_t sum = 0;
            for (std::size_t k = 0; k < 20; k += 2) {
                sum += static_cast<uint32_t>(f[l3 + k] << 8 | f[l3 + k + 1]);
            }
            sum = (sum & 0xffff) + (sum >> 16);
            sum = (sum & 0xffff) + (sum >> 16);
            f[l3 + 10] = static_cast<uint8_t>(~sum >> 8);
            f[l3 + 11] = static_cast<uint8_t>(~sum);
        } else if (ethertype == 0x86dd) {
            f[l3] = 0x60;
            const std::size_t payload = len - l3 - 40;
            f[l3 + 4] = static_cast<uint8_t>(payload >> 8);
            f[l3 + 5] = static_cast<uint8_t>(payload);
            f[l3 + 6] = 17;
            f[l3 + 7] = 64;
            f[l3 + 40 + 4] = static_cast<uint8_t>(payload >> 8);  // UDP length
            f[l3 + 40 + 5] = static_cast<uint8_t>(payload);
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

void write_pcap(const std::string& path, const std::vector<frame>& frames) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    if (d == nullptr) {
        pcap_close(dead);
        throw std::runtime_error("cannot write " + path);
    }
    for (std::size_t i = 0; i < frames.size(); ++i) {
        pcap_pkthdr h{};
        h.ts.tv_sec = 1700000000 + static_cast<long>(i / 1000000);
        h.ts.tv_usec = static_cast<long>(i % 1000000);
        h.caplen = h.len = static_cast<bpf_u_int32>(frames[i].size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, frames[i].data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

std::vector<frame> read_pcap(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (p == nullptr) {
        throw std::runtime_error("cannot read " + path + ": " + err);
    }
    std::vector<frame> frames;
    pcap_pkthdr* h;
    const u_char* data;
    while (pcap_next_ex(p, &h, &data) == 1) {
        frames.emplace_back(data, data + h->caplen);
    }
    pcap_close(p);
    return frames;
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return nlohmann::json::parse(in);
}

::testing::AssertionResult conservation_holds(const nlohmann::json& stats) {
    const auto& t = stats.at("totals");
    const uint64_t rx = t.at("rx"), fwd = t.at("forwarded"), drop = t.at("dropped"),
                   cons = t.at("consumed"), fl = t.at("in_flight"), gen = t.at("generated"),
                   gen_sent = t.at("generated_sent"), gen_drop = t.at("generated_dropped");
    uint64_t by_reason = 0;
    for (const auto& [k, v] : stats.at("drops").items()) {
        by_reason += v.get<uint64_t>();
    }
    // In flight packets may be either kind; at rest (final stats) both laws
    // hold on their own.
    const bool combined = rx + gen == fwd + drop + cons + gen_sent + gen_drop + fl;
    const bool at_rest = fl != 0 || (rx == fwd + drop + cons && gen == gen_sent + gen_drop);
    if (combined && at_rest && by_reason == drop + gen_drop) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "rx " << rx << " != forwarded " << fwd << " + dropped " << drop << " + consumed "
           << cons << " + in_flight " << fl << ", or generated " << gen << " != sent "
           << gen_sent << " + dropped " << gen_drop << " (drops by reason sum to " << by_reason
           << ")";
}

bool replace_file(const std::string& path, const std::string& text) {
    {
        std::ofstream out(path + ".new");
        out << text;
        if (!out.flush()) {
            return false;
        }
    }
    return std::rename((path + ".new").c_str(), path.c_str()) == 0;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

int sh(const std::string& command) {
    const int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string sh_output(const std::string& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        std::array<char, 4096> buf;
        std::size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
            out.append(buf.data(), n);
        }
        ::pclose(p);
    }
    return out;
}

bool is_root() {
    return ::geteuid() == 0;
}

netns_guard::netns_guard(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
        sh("ip netns del " + n + " 2>/dev/null");
        if (sh("ip netns add " + n) != 0) {
            throw std::runtime_error("ip netns add " + n + " failed");
        }
    }
}

netns_guard::~netns_guard() {
    for (const auto& n : names_) {
        sh("ip netns del " + n + " 2>/dev/null");
    }
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (cond()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return cond();
}

// ---------------------------------------------------------------- stats JSON

bool has_counter(const nlohmann::json& stats, const std::string& section, const std::string& key) {
    const auto s = stats.find(section);
    if (s == stats.end() || !s->is_object()) {
        return false;
    }
    const auto v = s->find(key);
    return v != s->end() && v->is_number_integer();
}

uint64_t counter(const nlohmann::json& stats, const std::string& section, const std::string& key) {
    return has_counter(stats, section, key) ? stats[section][key].get<uint64_t>() : 0;
}

uint64_t drops(const nlohmann::json& stats, const std::string& reason) {
    return counter(stats, "drops", reason);
}

uint64_t drops_other_than(const nlohmann::json& stats, const std::string& reason) {
    uint64_t other = 0;
    for (const auto& [r, n] : stats.at("drops").items()) {
        if (r != reason) {
            other += n.get<uint64_t>();
        }
    }
    return other;
}

std::string describe_stats(const nlohmann::json& stats, const std::vector<std::string>& sections) {
    std::string s;
    for (const auto& key : sections) {
        if (auto it = stats.find(key); it != stats.end()) {
            s += key + " " + it->dump() + "\n";
        } else {
            s += "(no " + key + ")\n";
        }
    }
    s += "non-zero drops {";
    if (auto d = stats.find("drops"); d != stats.end() && d->is_object()) {
        for (const auto& [k, v] : d->items()) {
            if (v.is_number() && v.get<uint64_t>() != 0) {
                s += " " + k + ": " + v.dump();
            }
        }
    }
    return s + " }";
}

nlohmann::json stats_snapshot(const app_process& app, const std::string& stats_path,
                              std::chrono::milliseconds timeout) {
    std::remove(stats_path.c_str());
    app.signal(SIGUSR1);
    nlohmann::json stats;
    wait_for(
        [&] {
            try {
                stats = read_json(stats_path);
                return true;
            } catch (...) {  // not there yet, or not written to the end
                return false;
            }
        },
        timeout);
    return stats;
}

// ---------------------------------------------------------------- network namespaces

bool can_use_netns(const std::vector<std::string>& tools) {
    if (!is_root() || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
        return false;
    }
    std::string lookups;
    for (const auto& tool : tools) {
        if (tool.find('/') != std::string::npos) {
            if (::access(tool.c_str(), X_OK) != 0) {
                return false;
            }
        } else {
            lookups += (lookups.empty() ? "command -v " : " && command -v ") + tool;
        }
    }
    return lookups.empty() || sh("{ " + lookups + "; } >/dev/null") == 0;
}

std::string netns_requirements(const std::vector<std::string>& tools) {
    std::string s = "needs root, /dev/net/tun";
    for (std::size_t i = 0; i < tools.size(); ++i) {
        s += (i + 1 == tools.size() ? " and " : ", ") + tools[i];
    }
    return s;
}

std::ostream& operator<<(std::ostream& os, const shell_result& r) {
    return os << "exit status " << r.rc << ", output:\n" << r.out;
}

shell_result run_in(const std::string& ns, const std::string& command, std::chrono::seconds limit) {
    // The exit status comes last, after a marker line.
    const std::string marker = "\n__rc=";
    const std::string out =
        sh_output("timeout " + std::to_string(limit.count()) + " ip netns exec " + ns + " sh -c '" +
                  command + "' 2>&1; printf '\\n__rc=%d\\n' $?");
    shell_result r;
    const auto at = out.rfind(marker);
    if (at == std::string::npos) {
        r.out = out;
        return r;
    }
    r.rc = std::atoi(out.c_str() + at + marker.size());
    r.out = out.substr(0, at);
    return r;
}

tap_lab::tap_lab(const std::string& tag)
    : tap_lab(tag, std::to_string(::getpid()), [] {
          static std::atomic<int> n{0};
          return n++;
      }()) {}

tap_lab::tap_lab(const std::string& tag, const std::string& pid, int n)
    : app_ns("dpa-" + tag + "-" + pid + "-" + std::to_string(n) + "-app"),
      a("dpa-" + tag + "-" + pid + "-" + std::to_string(n) + "-a"),
      b("dpa-" + tag + "-" + pid + "-" + std::to_string(n) + "-b"),
      tap_a(tag + std::to_string(n) + "a" + pid.substr(0, 8)),
      tap_b(tag + std::to_string(n) + "b" + pid.substr(0, 8)) {}

tap_lab::~tap_lab() = default;

void tap_lab::make_namespaces() {
    guard_ = std::make_unique<netns_guard>(std::vector<std::string>{app_ns, a, b});
}

void tap_lab::start_app(const std::vector<std::string>& app_args, const temp_dir& dir,
                        const std::string& context) {
    auto args = eal_base("-l 0-1");
    args.insert(args.end(),
                {"--vdev=net_tap0,iface=" + tap_a, "--vdev=net_tap1,iface=" + tap_b, "--"});
    args.insert(args.end(), app_args.begin(), app_args.end());
    app_ = std::make_unique<app_process>(args, dir,
                                         std::vector<std::string>{"ip", "netns", "exec", app_ns});
    const bool up = wait_for(
        [&] {
            if (!app_->running()) {
                return true;
            }
            const std::string links = sh_output("ip -n " + app_ns + " -o link show up 2>/dev/null");
            return links.find(tap_a) != std::string::npos && links.find(tap_b) != std::string::npos;
        },
        std::chrono::seconds(20));
    if (!app_->running()) {
        const run_result r = app_->wait(std::chrono::milliseconds(0));
        FAIL() << "dpdk-app exited (code " << r.exit_code << ", signal " << r.term_signal
               << ") before its taps came up; stderr:\n"
               << r.err << context;
    }
    ASSERT_TRUE(up) << "taps " << tap_a << " / " << tap_b
                    << " did not come up within 20 s (dpdk-app still running)";
}

void tap_lab::add_host(const std::string& tap, const std::string& ns, const lab_host& host) {
    std::vector<std::string> commands = {
        "ip -n " + app_ns + " link set " + tap + " netns " + ns,
        "ip -n " + ns + " link set lo up",
    };
    if (!host.sysctl.empty()) {
        commands.push_back("ip netns exec " + ns + " sysctl -qw " + host.sysctl);
    }
    for (const auto& address : host.addresses) {
        // nodad: usable at once instead of after ~1-2 s of DAD.
        const bool v6 = address.find(':') != std::string::npos;
        commands.push_back("ip -n " + ns + " addr add " + address + " dev " + tap +
                           (v6 ? " nodad" : ""));
    }
    commands.push_back("ip -n " + ns + " link set " + tap + " up");
    for (const auto& gateway : host.gateways) {
        const bool v6 = gateway.find(':') != std::string::npos;
        commands.push_back("ip -n " + ns + (v6 ? " -6" : "") + " route add default via " + gateway);
    }
    for (const auto& c : commands) {
        ASSERT_EQ(sh(c), 0) << c;
    }
}

void tap_lab::stop(const std::string& stats_path, nlohmann::json& stats,
                   const std::vector<std::string>& described_sections) {
    ASSERT_TRUE(app_) << "stop() without start_app()";
    app_->signal(SIGTERM);
    const run_result r = app_->wait(std::chrono::seconds(30));
    ASSERT_FALSE(r.timed_out) << "dpdk-app did not exit within 30 s of SIGTERM; stderr:\n" << r.err;
    ASSERT_EQ(r.exit_code, 0) << "signal " << r.term_signal << "; stderr:\n" << r.err;
    ASSERT_NO_THROW(stats = read_json(stats_path)) << r.err;
    const std::string described = describe_stats(stats, described_sections);
    EXPECT_TRUE(conservation_holds(stats)) << described;
    EXPECT_EQ(stats["mempool"]["in_use"], 0u) << "mbufs leaked\n" << described;
    std::printf("%s\n", described.c_str());
}

}  // namespace dpdk_app::testing
