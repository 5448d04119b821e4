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

app_process::app_process(const std::vector<std::string>& args, const temp_dir& dir,
                         const std::vector<std::string>& prefix) {
    static std::atomic<int> n{0};
    const int id = n++;
    out_path_ = dir.file("app" + std::to_string(id) + ".out");
    err_path_ = dir.file("app" + std::to_string(id) + ".err");
    std::vector<std::string> argv_s = prefix;
    argv_s.push_back(app_binary());
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        throw std::runtime_error("cannot start " + argv_s[0]);
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

}  // namespace dpdk_app::testing
