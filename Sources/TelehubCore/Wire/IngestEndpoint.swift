import Foundation

/// The WebSocket address of a hub's ingest endpoint, from whichever address
/// a person has at hand: the one `telehub serve` prints (`http://host:8080`),
/// `https://…` behind TLS, or a full `ws(s)://host/v1/ingest`.
///
/// `http` becomes `ws` and `https` becomes `wss`; a missing scheme means `ws`.
/// A path that does not end in `/v1/ingest` gets it appended, so a hub
/// behind a reverse proxy under `/telehub` is reached at `/telehub/v1/ingest`.
public struct IngestEndpoint: Sendable, Equatable, CustomStringConvertible {
    public static let path = "/v1/ingest"

    /// `ws` or `wss`.
    public let scheme: String
    /// Host and optional port, as given.
    public let authority: String
    /// Ends in `/v1/ingest`.
    public let path: String

    public var description: String { "\(scheme)://\(authority)\(path)" }
    /// The same endpoint over HTTP, for requests that are not WebSocket upgrades.
    public var httpURL: String { "\(scheme == "wss" ? "https" : "http")://\(authority)\(path)" }
    public var usesTLS: Bool { scheme == "wss" }

    public init(_ text: String) throws(IngestEndpointError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 2048 else { throw IngestEndpointError(text, "give the hub's address, e.g. http://127.0.0.1:8080") }
        var rest = Substring(trimmed)
        if let separator = rest.range(of: "://") {
            let given = rest[..<separator.lowerBound].lowercased()
            switch given {
            case "ws", "http": scheme = "ws"
            case "wss", "https": scheme = "wss"
            default: throw IngestEndpointError(text, "unsupported scheme \"\(given)\": use http, https, ws or wss")
            }
            rest = rest[separator.upperBound...]
        } else {
            scheme = "ws"
        }
        // The fragment and query mean nothing to the hub.
        rest = rest.prefix { $0 != "#" && $0 != "?" }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        authority = String(rest[..<slash])
        guard !authority.isEmpty, !authority.contains(where: { $0 == " " || $0 == "@" }) else {
            throw IngestEndpointError(text, "no host in the address")
        }
        var given = String(rest[slash...])
        while given.hasSuffix("/") { given.removeLast() }
        path = given.hasSuffix(Self.path) ? given : given + Self.path
    }
}

/// An address that cannot name a hub, with the reason.
public struct IngestEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public let address: String
    public let reason: String

    init(_ address: String, _ reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "invalid hub address \"\(address.prefix(200))\": \(reason)" }
}
