// What the responder and the neighbour resolver did, counted by name. These
// are events, not packet fates (those are drops / consumed / generated): one
// echo reply is one `echo_replies` event and one generated packet.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace dpdk_app {

// X(identifier, "description shown to operators")
#define DPDK_APP_EVENTS(X)                                                             \
    X(arp_replies, "ARP replies sent for the appliance's addresses")                   \
    X(arp_requests, "ARP requests sent to resolve or re-check a next hop")             \
    X(gratuitous_arps, "gratuitous ARP announcements sent")                            \
    X(echo_replies, "ICMP echo replies sent")                                          \
    X(echo6_replies, "ICMPv6 echo replies sent")                                       \
    X(neighbor_advertisements, "NDP neighbor advertisements sent")                     \
    X(neighbor_solicitations, "NDP neighbor solicitations sent")                       \
    X(errors_time_exceeded, "ICMP / ICMPv6 time exceeded sent")                        \
    X(errors_unreachable_net, "ICMP net unreachable / ICMPv6 no route sent")           \
    X(errors_unreachable_host, "ICMP host / ICMPv6 address unreachable sent")          \
    X(errors_unreachable_port, "ICMP / ICMPv6 port unreachable sent")                  \
    X(errors_prohibited, "ICMP / ICMPv6 administratively prohibited sent")             \
    X(tcp_resets, "TCP RSTs sent for firewall reject rules")                          \
    X(errors_too_big, "ICMP fragmentation needed / ICMPv6 packet too big sent")        \
    X(errors_rate_limited, "ICMP errors not sent: rate limit (global or per source)")  \
    X(errors_not_sent_about_error, "ICMP errors not sent: the packet is an ICMP error") \
    X(errors_not_sent_multicast, "ICMP errors not sent: broadcast / multicast packet")  \
    X(errors_not_sent_fragment, "ICMP errors not sent: non-first fragment")            \
    X(errors_not_sent_bad_source, "ICMP errors not sent: source not a unicast host")   \
    X(errors_not_sent_no_address, "ICMP errors not sent: no address on the port")      \
    X(neighbors_learned, "neighbour entries created or resolved by ARP / NDP")         \
    X(neighbors_updated, "neighbour entries refreshed or changed by ARP / NDP")        \
    X(neighbors_failed, "next hops that did not answer every retry")                   \
    X(neighbors_expired, "neighbour entries re-checked after neighbor_timeout_s")      \
    X(neighbor_table_full, "neighbours not learned: responder.neighbor_max reached")   \
    X(held_released, "held packets sent once their next hop resolved")                \
    X(learn_queue_full, "ARP / NDP learn messages lost: control queue full")           \
    X(connections_created, "connections the firewall started tracking")               \
    X(connections_expired, "tracked connections removed after their timeout")

enum class event : uint8_t {
#define DPDK_APP_X(id, text) id,
    DPDK_APP_EVENTS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::size_t event_count = 0
#define DPDK_APP_X(id, text) +1
    DPDK_APP_EVENTS(DPDK_APP_X)
#undef DPDK_APP_X
    ;

inline constexpr std::array<std::string_view, event_count> event_names = {
#define DPDK_APP_X(id, text) #id,
    DPDK_APP_EVENTS(DPDK_APP_X)
#undef DPDK_APP_X
};

inline constexpr std::array<std::string_view, event_count> event_texts = {
#define DPDK_APP_X(id, text) text,
    DPDK_APP_EVENTS(DPDK_APP_X)
#undef DPDK_APP_X
};

}  // namespace dpdk_app
