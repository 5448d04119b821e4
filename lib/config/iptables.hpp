// iptables-save / ip6tables-save input for [firewall]: the *filter table's
// FORWARD chain, for the options that map onto firewall rules, so that an
// operator moving a box off iptables pastes their rules
// (firewall.rules_file_iptables). Anything else is an error naming the line
// and the option.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dpdk_app {

// Appends the FORWARD chain's rules to fw.rules in order; the chain policy
// (":FORWARD DROP [0:0]") sets *policy when given. source names the file in
// errors (file:line:col).
void parse_iptables_save(std::string_view text, const std::string& source, firewall_config& fw,
                         std::optional<firewall_action>& policy, std::vector<config_error>& errors);

}  // namespace dpdk_app
