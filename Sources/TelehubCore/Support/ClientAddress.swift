/// Which address a request comes from, for counting failed logins per client
/// (`auth-fail-limit`) when hubs sit behind a load balancer.
///
/// Behind a proxy every connection comes from the proxy, so one client that
/// fails often would get every client refused. The proxy says who its client
/// was in `X-Forwarded-For`; the hub believes that only from the proxies it is
/// told to trust (`trusted-proxies`), since anyone else can write the header.
public enum ClientAddress {
    /// Longest `X-Forwarded-For` value looked at, and most hops taken from it.
    public static let maxHeaderBytes = 1024
    public static let maxHops = 16

    /// - Parameters:
    ///   - peer: the address the connection comes from.
    ///   - forwardedFor: the `X-Forwarded-For` values, in order.
    ///   - trusted: proxy addresses whose header is believed.
    /// - Returns: the first address from the right that is not a trusted
    ///   proxy (each trusted proxy appends the address it got the request
    ///   from), the peer when it is not trusted or the header is absent or malformed.
    public static func resolve(peer: String, forwardedFor: [String], trusted: Set<String>) -> String {
        guard trusted.contains(peer), !forwardedFor.isEmpty else { return peer }
        let joined = forwardedFor.joined(separator: ",")
        guard joined.utf8.count <= maxHeaderBytes else { return peer }
        let hops = joined.split(separator: ",", omittingEmptySubsequences: false).map { String($0.trimmingSpaces) }
        guard !hops.isEmpty, hops.count <= maxHops, hops.allSatisfy({ isAddress(Substring($0)) }) else { return peer }
        return hops.last { !trusted.contains($0) } ?? hops.first ?? peer
    }

    /// An IPv4 or IPv6 address as text: digits, hex letters, '.', ':' (no
    /// ports, no names), at most 45 characters.
    public static func isAddress(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 45 else { return false }
        return text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
