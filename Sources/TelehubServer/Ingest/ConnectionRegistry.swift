import NIOWebSocket
import Synchronization

/// Every live connection that authenticated with a token: devices' WebSocket
/// connections and stream readers. It answers which devices are online,
/// replaces an older connection of a device by a newer one, closes the
/// connections of a revoked token, and drains device connections on shutdown.
///
/// A lock rather than an actor: graceful-shutdown handlers and completion
/// callbacks must reach it synchronously.
final class ConnectionRegistry: Sendable {
    /// Why a connection is being ended.
    enum Ending: Sendable, Equatable {
        /// A newer connection of the same device (close 4000).
        case replaced
        /// The token was revoked or expired (close 1008).
        case tokenEnded
        /// The hub is shutting down (close 1001 after the acks that are due).
        case shutdown
    }

    enum Kind: Sendable {
        case device(String)
        case stream
    }

    struct Connection: Sendable {
        let id: Int
        let kind: Kind
        let tokenID: Int64
        /// Writes a text message to a device's connection (commands); false
        /// when the device has left too many replies unread to take more.
        let send: (@Sendable (String) -> Bool)?
        let end: @Sendable (Ending) -> Void
        /// A device connection takes commands from others (`sender`) only
        /// once it was sent what was waiting when it opened (`ready`).
        var ready = false
    }

    private struct State {
        var connections: [Int: Connection] = [:]
        /// Each device's connections on this hub, oldest first: a takeover
        /// looks at one device, not at every connection.
        var byDevice: [String: [Int]] = [:]
        var nextID = 0
        var shuttingDown = false

        func devices(_ name: String) -> [Connection] {
            byDevice[name, default: []].compactMap { connections[$0] }
        }
    }

    private let state = Mutex(State())

    /// Adds a connection. A device's connection replaces its older ones.
    /// - Returns: the connection id, and whether the device was offline before.
    func register(
        kind: Kind, tokenID: Int64, send: (@Sendable (String) -> Bool)? = nil, end: @escaping @Sendable (Ending) -> Void
    ) -> (id: Int, cameOnline: Bool) {
        let (id, replaced, cameOnline, shuttingDown) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            var replaced: [Connection] = []
            var cameOnline = false
            if case .device(let name) = kind {
                replaced = state.devices(name)
                cameOnline = replaced.isEmpty
                state.byDevice[name, default: []].append(id)
            }
            state.connections[id] = Connection(id: id, kind: kind, tokenID: tokenID, send: send, end: end)
            return (id, replaced, cameOnline, state.shuttingDown)
        }
        replaced.forEach { $0.end(.replaced) }
        if shuttingDown { end(.shutdown) }
        return (id, cameOnline)
    }

    /// Removes a connection. - Returns: true when it was its device's last one.
    @discardableResult
    func unregister(_ id: Int) -> Bool {
        state.withLock { state in
            guard let connection = state.connections.removeValue(forKey: id), case .device(let name) = connection.kind else {
                return false
            }
            state.byDevice[name]?.removeAll { $0 == id }
            guard state.byDevice[name]?.isEmpty ?? true else { return false }
            state.byDevice[name] = nil
            return true
        }
    }

    /// How to write to the device's newest connection on this hub, if it
    /// is ready: until then its opening sends what waits, and a command
    /// taken for an older connection that is closing would be stranded as
    /// `sent` (or, taken beside the opening's resend, sent twice).
    func sender(device: String) -> (@Sendable (String) -> Bool)? {
        state.withLock { state in
            guard let newest = state.byDevice[device]?.last.flatMap({ state.connections[$0] }), newest.ready
            else { return nil }
            return newest.send
        }
    }

    /// The connection has been sent what waited when it opened.
    func markReady(_ id: Int) {
        state.withLock { $0.connections[id]?.ready = true }
    }

    func onlineDevices() -> Set<String> {
        state.withLock { state in
            Set(state.byDevice.keys)
        }
    }

    /// Token ids with at least one live connection, for the revocation watcher.
    func liveTokenIDs() -> Set<Int64> {
        state.withLock { Set($0.connections.values.map(\.tokenID)) }
    }

    /// Ends every connection that authenticated with one of these tokens.
    func endConnections(of tokenIDs: Set<Int64>) {
        let ending = state.withLock { $0.connections.values.filter { tokenIDs.contains($0.tokenID) } }
        ending.forEach { $0.end(.tokenEnded) }
    }

    /// Ends this hub's connections of a device whose newer connection began on another hub.
    func endDevice(_ name: String) {
        let ending = state.withLock { $0.devices(name) }
        ending.forEach { $0.end(.replaced) }
    }

    /// Starts draining every connection; connections that register later are
    /// drained at once. Idempotent.
    func shutDown() {
        let connections = state.withLock { state -> [Connection] in
            guard !state.shuttingDown else { return [] }
            state.shuttingDown = true
            return Array(state.connections.values)
        }
        connections.forEach { $0.end(.shutdown) }
    }
}

extension ConnectionRegistry.Ending {
    var closeCode: WebSocketErrorCode {
        switch self {
        case .replaced: .init(codeNumber: 4000)
        case .tokenEnded: .policyViolation
        case .shutdown: .goingAway
        }
    }

    var reason: String {
        switch self {
        case .replaced: "replaced by a newer connection of this device"
        case .tokenEnded: "token revoked or expired"
        case .shutdown: "the hub is shutting down"
        }
    }
}
