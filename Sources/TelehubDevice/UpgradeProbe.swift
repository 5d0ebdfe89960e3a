import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TelehubCore

/// Asks the hub over plain HTTP why a WebSocket upgrade was refused. The
/// WebSocket client reports only that the upgrade failed, not the status, and
/// a person needs to know whether the token (401) or the address (404) is wrong.
enum UpgradeProbe {
    struct Answer: Sendable, Equatable {
        var status: Int
        /// The start of the body, for the hub's `error` code.
        var body: String
    }

    /// `GET` of the ingest path with the device's token; nil when the hub
    /// cannot be asked (the connection fails too) within `timeout`.
    static func ask(_ endpoint: IngestEndpoint, token: String, timeout: Duration) async -> Answer? {
        await firstOf({ try? await request(endpoint, token: token) }, orDeadline: .now + timeout) ?? nil
    }

    private static func request(_ endpoint: IngestEndpoint, token: String) async throws -> Answer? {
        let (host, port) = HostAndPort.split(endpoint.authority, defaultPort: endpoint.usesTLS ? 443 : 80)
        let tls = endpoint.usesTLS ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: HostAndPort.isIPAddress(host) ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let headers = HTTPHeaders([("Host", endpoint.authority), ("Authorization", "Bearer \(token)"), ("Connection", "close")])
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.path, headers: headers)))
            try await outbound.write(.end(nil))
            var answer: Answer?
            for try await part in inbound {
                switch part {
                case .head(let head): answer = Answer(status: Int(head.status.code), body: "")
                case .body(let buffer) where (answer?.body.utf8.count ?? 0) < 1024:
                    answer?.body += String(buffer: buffer)
                case .body: break
                case .end: return answer
                }
            }
            return answer
        }
    }
}

/// `host:port`, `[v6]:port` or a bare host.
enum HostAndPort {
    static func split(_ authority: String, defaultPort: Int) -> (host: String, port: Int) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? defaultPort : defaultPort)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = Int(parts[1]) else { return (authority, defaultPort) }
        return (String(parts[0]), port)
    }

    /// An IP literal, which TLS may not send as the server name.
    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0 == "." || $0.isNumber })
    }
}
