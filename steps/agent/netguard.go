package agent

import "net/netip"

// Address ranges that are not on the public internet beyond what netip's predicates
// cover.
var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // RFC 1122 "this network"
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 carrier-grade NAT
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// specialAddr names the kind of a non-public address (loopback, private, link-local,
// unspecified, multicast, ...), or returns "" for an address on the public internet.
// An HTTP tool may dial a non-public address only when allowed_hosts names it.
func specialAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case sharedSpace.Contains(ip):
		return "shared (carrier-grade NAT)"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsUnspecified(), thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsMulticast():
		return "multicast"
	case ip == broadcast:
		return "broadcast"
	}
	return ""
}
