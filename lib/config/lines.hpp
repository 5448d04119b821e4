// The line loop of the line-oriented inputs (routes files, exact-match
// files, iptables-save output): the text cut at '\n' into lines numbered
// from 1, for errors that name file:line:col. Internal to lib/config.
#pragma once

#include <cstdint>
#include <string_view>

namespace dpdk_app {

// Calls fn(line, line_no) for each line of text in order, line_no counting
// from 1. A line is what comes before a '\n' (without it; a '\r' stays), or
// the rest of the text after the last '\n' when it is not empty: "a\n" is
// one line, "a\n\n" two, "" none. Returns the number of lines.
template <typename Fn>
uint32_t for_each_line(std::string_view text, Fn&& fn) {
    uint32_t line_no = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        fn(line, line_no);
    }
    return line_no;
}

}  // namespace dpdk_app
