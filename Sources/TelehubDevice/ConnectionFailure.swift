import NIOCore
import NIOPosix
import NIOSSL
import WSClient

/// Why a connection attempt failed, in words a person can act on, and
/// whether trying again soon can help.
public struct ConnectionFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Nothing listens at the address, or the network is down.
        case unreachable
        /// The TLS handshake failed (certificate, protocol, `ws` against `wss`).
        case tls
        /// The hub refused the token (401 or 403).
        case unauthorized
        /// No ingest endpoint at the address (404).
        case notFound
        /// Too many failed attempts from this address (429).
        case throttled
        /// Connected, but no `hello` in time.
        case handshakeTimeout
        /// A connection that worked ended (the hub restarted, the link dropped).
        case closed
        case other
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// Retrying soon cannot help: the token or the address must change. The
    /// client still retries (the operator may fix it), but at the backoff's cap.
    public var isPermanent: Bool { kind == .unauthorized || kind == .notFound }

    public var description: String { detail }

    /// The failure an error of the WebSocket client stands for; an upgrade
    /// refused is explained by `UpgradeProbe`'s answer when there is one.
    static func classify(_ error: any Error, probe: UpgradeProbe.Answer? = nil) -> ConnectionFailure {
        if let probe { return from(status: probe.status, body: probe.body) }
        switch error {
        case DeviceClientError.handshakeTimedOut:
            return ConnectionFailure(.handshakeTimeout, "connected, but the hub sent no hello in time")
        case let error as WebSocketClientError where error == .webSocketUpgradeFailed:
            return ConnectionFailure(.other, "the server refused the WebSocket upgrade; is this a Telehub hub?")
        case is NIOSSLError, is BoringSSLError:
            return ConnectionFailure(.tls, "TLS failed: \(error); does the address need ws:// instead of wss://, or a trusted certificate?")
        case let error as NIOConnectionError:
            return ConnectionFailure(.unreachable, "cannot connect: \(error.connectionErrors.first.map { "\($0.error)" } ?? "\(error)")")
        case let error as IOError:
            return ConnectionFailure(.unreachable, "cannot connect: \(error)")
        case is ChannelError:
            return ConnectionFailure(.closed, "the connection ended: \(error)")
        default:
            return ConnectionFailure(.other, "\(error)")
        }
    }

    /// The failure an HTTP status of the ingest endpoint stands for, in the
    /// words of `devices/client-rules.json`, which the Python client shares.
    static func from(status: Int, body: String) -> ConnectionFailure {
        switch status {
        case 401, 403:
            ConnectionFailure(
                .unauthorized,
                "the hub refused the token (HTTP \(status)): revoked, expired or mistyped; create one with `telehub token create --device NAME`")
        case 404: ConnectionFailure(.notFound, "no Telehub ingest endpoint at this address (HTTP 404)")
        case 429: ConnectionFailure(.throttled, "too many failed attempts from this address (HTTP 429); waiting")
        default:
            ConnectionFailure(.other, "the hub answered HTTP \(status) instead of upgrading" + (body.isEmpty ? "" : ": \(body.prefix(200))"))
        }
    }
}
