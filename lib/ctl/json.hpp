// A minimal streaming JSON writer for reports (no per-packet use).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpdk_app {

class json_writer {
  public:
    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    json_writer& key(std::string_view k);
    json_writer& value(std::string_view v);
    json_writer& value(const char* v) { return value(std::string_view(v)); }
    json_writer& value(uint64_t v);
    json_writer& value(int64_t v);
    json_writer& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
    json_writer& value(int v) { return value(static_cast<int64_t>(v)); }
    json_writer& value(double v);
    json_writer& value(bool v);
    template <typename T>
    json_writer& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    const std::string& str() const { return out_; }

  private:
    void separate();
    std::string out_;
    std::vector<bool> first_;  // per open container: no element written yet
    bool after_key_ = false;
};

std::string json_escape(std::string_view s);

}  // namespace dpdk_app
