/// Who is asking, as far as one request tells: the connection's peer, the
/// `Host` it names, and what a proxy in front says about the client.
///
/// The hub trusts what a proxy writes (`X-Forwarded-Proto`) only from the
/// proxies it is told to trust (`trusted-proxies`), and treats a request as
/// coming from this machine only when nothing says it was forwarded: nginx
/// on the same box connects from 127.0.0.1 too, for clients anywhere.
public struct RequestOrigin: Sendable, Equatable {
    /// The connection's IP address.
    public var peer: String
    /// The `Host` header (or HTTP/2 `:authority`), port included; nil when absent.
    public var host: String?
    /// `X-Forwarded-For`, `Forwarded` or `X-Real-IP` is present.
    public var forwarded: Bool
    /// The first value of `X-Forwarded-Proto`, when present.
    public var forwardedProto: String?
    public var trustedProxies: Set<String>

    public init(peer: String, host: String?, forwarded: Bool, forwardedProto: String?, trustedProxies: Set<String>) {
        self.peer = peer
        self.host = host
        self.forwarded = forwarded
        self.forwardedProto = forwardedProto
        self.trustedProxies = trustedProxies
    }

    /// The peer is one of the proxies the hub trusts.
    public var fromTrustedProxy: Bool { trustedProxies.contains(peer) }

    /// A process on this machine asking directly: a loopback peer, no sign of
    /// a proxy, and a loopback `Host` (a page that rebinds its own name to
    /// 127.0.0.1 still sends its name).
    public var isLocal: Bool {
        Self.isLoopbackAddress(peer) && !forwarded && host.map(Self.isLoopbackHost) == true
    }

    /// What a hub that listens on loopback only answers: requests that name
    /// this machine, or that a trusted proxy forwarded. A browser led to
    /// 127.0.0.1 by DNS rebinding names the attacker's host and is refused.
    public var suitsLoopbackListener: Bool {
        guard let host else { return true }  // HTTP/1.0 without Host: not a browser
        return Self.isLoopbackHost(host) || (fromTrustedProxy && forwarded)
    }

    /// The client reached the hub over TLS: the hub serves TLS itself, or a
    /// trusted proxy says it terminated TLS.
    public func isSecure(hubServesTLS: Bool) -> Bool {
        hubServesTLS || (fromTrustedProxy && forwardedProto?.lowercased() == "https")
    }

    /// `localhost`, a name under `.localhost` (browsers resolve those to
    /// loopback themselves), `127.x.x.x` or `[::1]`, with or without a port.
    public static func isLoopbackHost(_ host: String) -> Bool {
        guard host.utf8.count <= 300 else { return false }
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return false }
            return isLoopbackAddress(String(name[name.index(after: name.startIndex)..<close]))
        }
        if let colon = name.lastIndex(of: ":") {
            guard name[name.index(after: colon)...].allSatisfy(\.isASCIIDigit) else { return false }
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        return name == "localhost" || name.hasSuffix(".localhost") || isLoopbackAddress(String(name))
    }

    /// `a.example:8080` and `a.example` name the same host when one side
    /// leaves the port out (a proxy's `Host $host` drops it).
    public static func sameHost(_ a: String, _ b: String) -> Bool {
        let a = a.lowercased(), b = b.lowercased()
        if a == b { return true }
        func split(_ text: String) -> (name: Substring, port: Substring?) {
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                let rest = text[text.index(after: close)...]
                return (text[...close], rest.hasPrefix(":") ? rest.dropFirst() : nil)
            }
            guard let colon = text.lastIndex(of: ":") else { return (Substring(text), nil) }
            return (text[..<colon], text[text.index(after: colon)...])
        }
        let (nameA, portA) = split(a), (nameB, portB) = split(b)
        return nameA == nameB && (portA == nil || portB == nil || portA == portB)
    }

    /// 127.0.0.0/8, `::1`, and 127.x as an IPv4-mapped IPv6 address.
    public static func isLoopbackAddress(_ address: String) -> Bool {
        let lowered = address.lowercased()
        if lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let v4 = lowered.hasPrefix("::ffff:") ? String(lowered.dropFirst(7)) : lowered
        let parts = v4.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part).map { $0 <= 255 } == true
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
