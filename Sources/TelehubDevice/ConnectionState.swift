public import TelehubCore

/// The life of a device's link to the hub, one attempt after another:
/// connecting → handshaking → streaming → backing off → connecting …
///
/// Pure state: `DeviceClient` tells it what happened and does the I/O it
/// implies. Every attempt has a number; a callback from an attempt that is no
/// longer the current one (it missed the handshake deadline, or ended) finds
/// itself outdated and must do nothing, because the WebSocket client cannot
/// cancel a connect in progress.
public struct ConnectionState: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case idle
        /// Opening TCP, TLS and the WebSocket upgrade.
        case connecting(attempt: Int)
        /// Upgraded; waiting for the hub's `hello`.
        case handshaking(attempt: Int)
        /// Greeted: the hub had everything up to `lastSeq`.
        case streaming(attempt: Int, lastSeq: Int64, maxBatch: Int)
        /// The attempt ended; why is not known yet.
        case ended
        case backingOff(until: ContinuousClock.Instant)
        case stopped
    }

    public private(set) var phase = Phase.idle
    public private(set) var backoff: Backoff
    /// Readings per message the device wants at most (the hub's `maxBatch` may lower it).
    public let batchSize: Int
    /// Attempts after the first.
    public private(set) var reconnects = 0
    /// Why the last attempt failed or the last connection ended.
    public private(set) var lastFailure: ConnectionFailure?
    private var attempt = 0
    private var startedAt: ContinuousClock.Instant?

    public init(backoff: Backoff, batchSize: Int) {
        self.backoff = backoff
        self.batchSize = batchSize
    }

    public var isStreaming: Bool {
        if case .streaming = phase { return true }
        return false
    }

    /// A new attempt starts; its number identifies it from now on.
    public mutating func begin(at now: ContinuousClock.Instant) -> Int {
        attempt += 1
        startedAt = now
        phase = .connecting(attempt: attempt)
        return attempt
    }

    /// Whether `attempt` is the one in progress (connecting, handshaking or streaming).
    public func isCurrent(_ attempt: Int) -> Bool {
        switch phase {
        case .connecting(let current), .handshaking(let current), .streaming(let current, _, _):
            return current == attempt
        case .idle, .ended, .backingOff, .stopped:
            return false
        }
    }

    /// The WebSocket upgrade succeeded.
    /// - Returns: false when the attempt is outdated.
    public mutating func upgraded(_ attempt: Int) -> Bool {
        guard case .connecting(attempt) = phase else { return false }
        phase = .handshaking(attempt: attempt)
        return true
    }

    /// The hub's `hello` came.
    /// - Returns: the batch size to send with, or nil when the attempt is outdated.
    public mutating func greeted(_ hello: ServerMessage.Hello, attempt: Int) -> Int? {
        switch phase {
        case .connecting(attempt), .handshaking(attempt):
            let maxBatch = max(1, min(batchSize, hello.maxBatch))
            phase = .streaming(attempt: attempt, lastSeq: hello.lastSeq, maxBatch: maxBatch)
            return maxBatch
        default:
            return nil
        }
    }

    /// The current attempt is over (it failed, timed out or its connection
    /// closed). Call it as soon as that is known, before anything that can
    /// suspend, so the attempt's own callbacks find it outdated.
    public mutating func end(at now: ContinuousClock.Instant) {
        guard isCurrent(attempt) else { return }
        if let startedAt { backoff.connectionEnded(after: now - startedAt) }
        phase = .ended
    }

    /// Why the attempt ended is known: wait before the next one. A refused
    /// token or a wrong address waits near the cap instead of hammering.
    /// - Returns: the wait, or nil when stopped.
    public mutating func backOff(
        _ failure: ConnectionFailure, at now: ContinuousClock.Instant, using generator: inout some RandomNumberGenerator
    ) -> Duration? {
        guard phase == .ended else { return nil }
        lastFailure = failure
        reconnects += 1
        let delay = failure.isPermanent
            ? backoff.nextAfterPermanentFailure(using: &generator) : backoff.next(using: &generator)
        phase = .backingOff(until: now + delay)
        return delay
    }

    /// The client was told to stop; nothing starts again.
    public mutating func stop() {
        phase = .stopped
    }
}
