// Flow collectors for tests: nfcapd (the collector operators run, Debian
// package nfdump) started on 127.0.0.1 with nfdump reading back what it
// stored, and udp_sink, the test's own UDP socket that keeps every datagram
// (for tshark, or for reading headers directly). Header-only: the unit and
// the integration tests both use it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace dpdk_app::collectors {

inline uint16_t be16(const std::vector<uint8_t>& m, std::size_t at) {
    return static_cast<uint16_t>(m.at(at) << 8 | m.at(at + 1));
}
inline uint32_t be32(const std::vector<uint8_t>& m, std::size_t at) {
    return static_cast<uint32_t>(be16(m, at)) << 16 | be16(m, at + 2);
}

// What a shell command prints on stdout.
inline std::string command_output(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
            out.append(buf, n);
        }
        ::pclose(p);
    }
    return out;
}

// A UDP port on 127.0.0.1 that was free a moment ago.
inline uint16_t free_udp_port() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// nfcapd on 127.0.0.1:port writing into dir; stop() (or the destructor)
// ends it with SIGTERM, on which it writes its file and a summary line
// ("Flows: N, ... Sequence Errors: N") to its log.
class nfcapd {
  public:
    nfcapd(const std::filesystem::path& dir, uint16_t port) : dir_(dir) {
        std::filesystem::create_directories(dir);
        pid_ = ::fork();
        if (pid_ == 0) {
            std::freopen((dir / "log").c_str(), "w", stdout);
            std::freopen((dir / "log").c_str(), "a", stderr);
            const std::string p = std::to_string(port);
            ::execlp("nfcapd", "nfcapd", "-w", dir.c_str(), "-p", p.c_str(), "-b", "127.0.0.1",
                     "-t", "3600", static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~nfcapd() { stop(); }
    nfcapd(const nfcapd&) = delete;
    nfcapd& operator=(const nfcapd&) = delete;

    bool ready() const {
        for (int i = 0; i < 250; ++i) {
            if (log().find("Startup nfcapd") != std::string::npos) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    std::string stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
        return log();
    }
    std::string log() const {
        std::ifstream in(dir_ / "log");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    // What nfdump lists from the stored file (after stop()), one
    // "src,sport,dst,dport,proto,packets,bytes" per flow record; an ICMP
    // flow's destination port reads "type.code".
    std::multiset<std::string> listed() const {
        std::multiset<std::string> out;
        std::string file;
        for (const auto& e : std::filesystem::directory_iterator(dir_)) {
            if (e.path().filename().string().rfind("nfcapd.2", 0) == 0) {
                file = e.path().string();
            }
        }
        std::istringstream lines(command_output(
            "nfdump -q -r '" + file + "' -o 'fmt:%sa,%sp,%da,%dp,%pr,%pkt,%byt' -N 2>&1"));
        for (std::string l; std::getline(lines, l);) {
            std::string clean;
            for (char c : l) {
                if (c != ' ') {
                    clean += c;
                }
            }
            if (!clean.empty()) {
                out.insert(clean);
            }
        }
        return out;
    }

  private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

// A UDP socket on 127.0.0.1 (an ephemeral port) whose thread keeps every
// datagram that arrives.
class udp_sink {
  public:
    udp_sink() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        int big = 8 << 20;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        thread_ = std::thread([this] {
            std::vector<uint8_t> buf(65536);
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 20) <= 0) {
                    continue;
                }
                const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
                if (n > 0) {
                    std::lock_guard lock(mutex_);
                    got_.emplace_back(buf.begin(), buf.begin() + n);
                }
            }
        });
    }
    ~udp_sink() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    udp_sink(const udp_sink&) = delete;
    udp_sink& operator=(const udp_sink&) = delete;

    uint16_t port() const { return port_; }
    // Every datagram so far, in arrival order; waits settle first for
    // what is still on its way.
    std::vector<std::vector<uint8_t>> messages(
        std::chrono::milliseconds settle = std::chrono::milliseconds(0)) {
        std::this_thread::sleep_for(settle);
        std::lock_guard lock(mutex_);
        return got_;
    }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::vector<uint8_t>> got_;
    std::thread thread_;
};

}  // namespace dpdk_app::collectors
