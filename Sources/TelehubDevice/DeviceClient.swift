import Foundation
import HTTPTypes
import WSClient
import WSCompression
import Logging
public import TelehubCore

/// A Telehub device connection that never loses or duplicates a reading.
///
/// Readings go to a durable buffer first (`send`), and leave it only when the
/// hub has acknowledged them. The client reconnects with backoff and full
/// jitter, resumes after `hello.lastSeq`, resends unacknowledged messages
/// unchanged, honours retryable errors (going back to the refused message),
/// paces backfill after an outage, and notices a dead link by heartbeat.
///
/// Commands from the hub go to the handler registered for their name
/// (`onCommand`), at most once even across a reboot, and their results reach
/// the hub at least once; desired state goes to `onDesiredState`, and what it
/// answers is reported (see `OfflineBuffer+Control.swift`).
///
/// ```swift
/// let client = try DeviceClient(configuration: .init(
///     url: "ws://hub.local:8080/v1/ingest", token: "thd_…", bufferPath: "/var/lib/sensor/buffer.sqlite"))
/// try await withThrowingDiscardingTaskGroup { group in
///     await client.onCommand("set-interval") { command in
///         guard let seconds = command.args["seconds"]?.number else { throw SensorError.badArguments }
///         await sensor.setInterval(seconds)
///         return .object(["interval": .number(seconds)])
///     }
///     group.addTask { await client.run() }
///     for await sample in sensor.samples {
///         try await client.send(["temperature": sample.celsius])
///     }
/// }
/// ```
public actor DeviceClient {
    public struct Configuration: Sendable {
        public var url: String
        public var token: String
        public var bufferPath: String
        /// Readings kept at most; when full the oldest unsent ones are dropped.
        public var bufferCapacity = 1_000_000
        /// Readings per message at most (the hub's `maxBatch` lowers it).
        public var batchSize = 100
        /// Unacknowledged messages in flight at most.
        public var window = 4
        /// Pace of sending, readings per second: a day of backlog must not
        /// flood the hub (its default limit per device is 2,000/s).
        public var readingsPerSecond: Double = 1000
        public var backoff = Backoff()
        /// Ping interval; a link silent for two intervals counts as dead.
        public var heartbeat: Duration = .seconds(20)
        public var compression = true
        /// fsync every buffered reading (see `OfflineBuffer`).
        public var syncEveryWrite = false
        /// Longest wait from connecting to `hello`.
        public var handshakeTimeout: Duration = .seconds(10)

        public init(url: String, token: String, bufferPath: String) {
            self.url = url
            self.token = token
            self.bufferPath = bufferPath
        }
    }

    public enum State: Sendable, Equatable {
        case connecting
        /// Connected; the hub had everything up to `lastSeq`.
        case connected(lastSeq: Int64)
        /// An attempt failed or a connection ended, and why.
        case failed(ConnectionFailure)
        case backingOff(Duration)

        /// The state's name in `devices/client-rules.json`, as the Python client reports it.
        public var name: String {
            switch self {
            case .connecting: "connecting"
            case .connected: "connected"
            case .failed: "disconnected"
            case .backingOff: "backing_off"
            }
        }
    }

    /// What happened so far, in readings (except `reconnects`).
    public struct Counters: Sendable, Equatable {
        public var sent = 0
        public var acked = 0
        /// Refused for good by the hub (a non-retryable error).
        public var rejected = 0
        /// Dropped because the buffer was full.
        public var droppedFull = 0
        public var buffered = 0
        public var reconnects = 0
        /// Commands this device ran (each at most once).
        public var commandsRun = 0
        /// Desired state versions applied.
        public var desiredApplied = 0
        /// Connected now (a `hello` came and the connection has not ended).
        public var connected = false
        /// Why the last connection attempt failed or the last connection ended.
        public var lastFailure: ConnectionFailure?

        public init() {}
    }

    public let configuration: Configuration
    /// Where `configuration.url` leads: any hub address works (see `IngestEndpoint`).
    public let endpoint: IngestEndpoint
    public nonisolated let states: AsyncStream<State>
    private let stateContinuation: AsyncStream<State>.Continuation
    private let buffer: OfflineBuffer
    private var counters = Counters()
    private var window = SendWindow(limit: 1)
    /// The sending pace, so a day of backlog does not flood the hub.
    private var pacer: TokenBucket
    /// Which attempt is current and how long to wait after it ends.
    private var link: ConnectionState
    private let wake = Wake()
    private var commandHandlers: [String: CommandHandler] = [:]
    private var desiredHandler: DesiredStateHandler?
    /// The last desired state handed to its handler: versions are applied one at a time, in order.
    private var applying: Task<Void, Never>?
    /// `command_ack`s to write before anything else; they carry no `seq`.
    private var unsequenced: [String] = []
    private let logger = Logger(label: "telehub.device")

    /// - Throws: `IngestEndpointError` for an address that names no hub.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        self.endpoint = try IngestEndpoint(configuration.url)
        self.buffer = try OfflineBuffer(
            path: configuration.bufferPath, capacity: configuration.bufferCapacity,
            syncEveryWrite: configuration.syncEveryWrite)
        self.pacer = TokenBucket(rate: configuration.readingsPerSecond, burst: Double(configuration.batchSize))
        self.link = ConnectionState(backoff: configuration.backoff, batchSize: configuration.batchSize)
        (states, stateContinuation) = AsyncStream.makeStream(of: State.self, bufferingPolicy: .bufferingNewest(16))
        counters.buffered = try buffer.count()
    }

    /// Stores a reading for sending; it survives restarts until acknowledged.
    /// - Parameter ts: milliseconds since the Unix epoch; now when nil.
    public func send(_ metrics: [String: Double], at ts: Int64? = nil) throws {
        let dropped = try buffer.append(ts: ts ?? EpochClock.nowMs(), metrics: metrics)
        counters.sent += 1
        counters.droppedFull += dropped
        counters.buffered += 1 - dropped
        wake.signal()
    }

    /// Registers the handler of the commands named `name`.
    public func onCommand(_ name: String, _ handler: @escaping CommandHandler) {
        commandHandlers[name] = handler
    }

    /// Registers the handler of desired state; without one, desired state is not reported.
    public func onDesiredState(_ handler: @escaping DesiredStateHandler) {
        desiredHandler = handler
    }

    /// Reports a change of the device's state (a merge patch over its reported state).
    /// - Throws: `OfflineBufferError.controlFull`, or `DeviceStateError` for a patch the hub would refuse.
    public func report(_ patch: JSONValue) throws {
        if let problem = DeviceState.problem(with: patch) { throw DeviceStateError.invalid(problem) }
        try buffer.report(StateReport(patch: patch))
        wake.signal()
    }

    /// Command results and state reports the hub has not acknowledged yet.
    public func pendingAnswers() throws -> Int {
        try buffer.pendingControl()
    }

    public func snapshot() -> Counters {
        var snapshot = counters
        snapshot.connected = link.isStreaming
        snapshot.reconnects = link.reconnects
        snapshot.lastFailure = link.lastFailure
        return snapshot
    }

    /// Connects and keeps connecting until the task is cancelled.
    public func run() async {
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            stateContinuation.yield(.connecting)
            let attempt = link.begin(at: .now)
            var failure: ConnectionFailure
            do {
                try await connectOnce(attempt)
                link.end(at: .now)
                failure = ConnectionFailure(.closed, "the hub closed the connection")
            } catch {
                link.end(at: .now)
                failure = await explain(error)
            }
            guard !Task.isCancelled else { break }  // stopped, not failed
            logger.debug("connection ended: \(failure)")
            stateContinuation.yield(.failed(failure))
            guard let delay = link.backOff(failure, at: .now, using: &generator) else { break }
            stateContinuation.yield(.backingOff(delay))
            try? await Task.sleep(for: delay)
        }
        link.stop()
        stateContinuation.finish()
    }

    /// What an error of a connection attempt means; a refused upgrade is
    /// explained by asking the hub over plain HTTP.
    private func explain(_ error: any Error) async -> ConnectionFailure {
        guard let error = error as? WebSocketClientError, error == .webSocketUpgradeFailed else {
            return ConnectionFailure.classify(error)
        }
        let answer = await UpgradeProbe.ask(endpoint, token: configuration.token, timeout: configuration.handshakeTimeout)
        return ConnectionFailure.classify(error, probe: answer)
    }

    // MARK: - One connection

    /// One connection attempt, with a deadline on the handshake: a link that
    /// stalls before `hello` must not keep the device from trying again.
    ///
    /// The WebSocket client offers no handshake timeout and its connect cannot
    /// be cancelled, so an attempt that misses the deadline is abandoned: its
    /// task ends on its own when the stalled connection finally fails, and
    /// finding itself outdated it sends nothing.
    private func connectOnce(_ current: Int) async throws {
        let (handshake, handshakeDone) = AsyncStream.makeStream(of: Void.self)
        let attempt = Task {
            defer { handshakeDone.finish() }
            try await self.connection(current, helloReceived: { handshakeDone.yield() })
        }
        // Greeted (true), ended before hello (false), or nil: the deadline came first.
        let greeted = await firstOf({
            var iterator = handshake.makeAsyncIterator()
            return await iterator.next() != nil
        }, orDeadline: .now + configuration.handshakeTimeout)
        if greeted == nil {
            attempt.cancel()
            link.end(at: .now)  // the abandoned attempt is outdated from now on
            throw DeviceClientError.handshakeTimedOut
        }
        // Greeted, or ended before hello: either way the attempt's own result
        // (its error says why it failed) is what counts.
        // The attempt is a task of its own (see above): pass cancellation on.
        try await withTaskCancellationHandler {
            try await attempt.value
        } onCancel: {
            attempt.cancel()
        }
    }

    private func connection(_ attempt: Int, helloReceived: @escaping @Sendable () -> Void) async throws {
        var settings = WebSocketClientConfiguration(
            maxFrameSize: 1 << 20, additionalHeaders: [.authorization: "Bearer \(configuration.token)"],
            extensions: configuration.compression ? [.perMessageDeflate(maxWindow: 10)] : [],
            autoPing: .enabled(timePeriod: configuration.heartbeat))
        settings.validateUTF8 = true
        try await WebSocketClient.connect(url: endpoint.description, configuration: settings, logger: logger) {
            inbound, outbound, _ in
            guard await self.upgraded(attempt) else { return }
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            guard case .text(let text)? = try await messages.next(), case .hello(let hello)? = ServerMessage(json: text),
                let maxBatch = try await self.connected(hello, attempt: attempt)
            else { return }
            helloReceived()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.sendLoop(outbound, maxBatch: maxBatch, attempt: attempt) }
                while let message = try await messages.next() {
                    if case .text(let text) = message { try await self.received(text, attempt: attempt) }
                }
                group.cancelAll()
            }
        }
    }

    private func upgraded(_ attempt: Int) -> Bool { link.upgraded(attempt) }

    /// - Returns: the batch size to use, or nil when the attempt is outdated.
    private func connected(_ hello: ServerMessage.Hello, attempt: Int) throws -> Int? {
        guard let maxBatch = link.greeted(hello, attempt: attempt) else { return nil }
        counters.acked += try buffer.acknowledge(upTo: hello.lastSeq)
        try buffer.advance(past: hello.lastSeq)
        counters.buffered = try buffer.count()
        window = SendWindow(limit: configuration.window, resend: try buffer.unacknowledged(after: hello.lastSeq))
        stateContinuation.yield(.connected(lastSeq: hello.lastSeq))
        return maxBatch
    }

    private func sendLoop(_ outbound: WebSocketOutboundWriter, maxBatch: Int, attempt: Int) async throws {
        while !Task.isCancelled, link.isCurrent(attempt) {
            switch try nextToSend(maxBatch: maxBatch) {
            case .send(let message):
                try await outbound.write(.text(message.json))
            case .sendUnsequenced(let text):
                try await outbound.write(.text(text))
            case .wait(let deadline):
                await wake.wait(until: deadline)
            }
        }
    }

    private enum Step {
        case send(OfflineBuffer.Message)
        case sendUnsequenced(String)
        case wait(until: ContinuousClock.Instant)
    }

    private func nextToSend(maxBatch: Int) throws -> Step {
        if !unsequenced.isEmpty { return .sendUnsequenced(unsequenced.removeFirst()) }
        let now = ContinuousClock.now
        guard window.canSend(at: now) else { return .wait(until: window.holdUntil.map { max($0, now) } ?? now + .seconds(1)) }
        let allowance = pacer.available(at: now)
        guard allowance >= 1 else { return .wait(until: pacer.instant(whenAvailable: 1)) }
        let message: OfflineBuffer.Message?
        if let seq = window.nextQueued() {
            message = try buffer.message(seq)
        } else {
            message = try buffer.nextMessage(limit: min(maxBatch, Int(allowance)))
        }
        guard let message else { return .wait(until: now + .seconds(1)) }
        pacer.spend(Double(message.readingCount), at: now)
        window.sent(message.seq)
        return .send(message)
    }

    /// Acks are facts about the store whichever connection brings them; the
    /// send window belongs to the current connection only.
    private func received(_ text: String, attempt: Int) throws {
        guard let reply = ServerMessage(json: text) else { return }
        let current = link.isCurrent(attempt)
        switch reply {
        case .ack(let seq):
            let removed = try buffer.acknowledge(upTo: seq)
            counters.acked += removed
            counters.buffered -= removed
            if current { window.acknowledged(upTo: seq) }
        case .error(let error):
            guard let seq = error.seq else { return }
            if error.retryable {
                let retryAfter = Duration.milliseconds(error.retryAfterMs ?? 1000)
                if current { window.refused(seq, retryable: true, retryAfter: retryAfter, now: .now) }
            } else {
                logger.warning("hub refused message \(seq) for good: \(error.message)")
                let removed = try buffer.drop(message: seq)
                counters.rejected += removed
                counters.buffered -= removed
                if current { window.refused(seq, retryable: false, retryAfter: .zero, now: .now) }
            }
        case .command(let command):
            try received(command)
        case .desired(let desired):
            received(desired)
        case .hello, .pong:
            return
        }
        wake.signal()
    }

    // MARK: - Commands and desired state

    /// Acknowledges a command and runs it, unless this device started it
    /// before: recorded first, so a reboot mid-run cannot run it twice.
    private func received(_ command: ReceivedCommand) throws {
        let isNew = try buffer.begin(command: command.id, expiresAt: command.expiresAt)
        unsequenced.append(JSONEncoder.wireText(CommandAnswer(id: command.id, kind: .ack)))
        guard isNew else { return }
        let handler = commandHandlers[command.name]
        if handler != nil { counters.commandsRun += 1 }
        Task {
            let answer = await CommandOutcome.answer(command, handler: handler)
            self.finished(answer)
        }
    }

    private func finished(_ answer: CommandAnswer) {
        do {
            try buffer.finish(command: answer)
        } catch {
            logger.error("could not store the result of command \(answer.id): \(error)")
        }
        wake.signal()
    }

    /// Hands a newer desired state to its handler, after any earlier one.
    private func received(_ desired: DesiredMessage) {
        guard let handler = desiredHandler else { return }
        let previous = applying
        applying = Task {
            await previous?.value
            await self.apply(desired, handler: handler)
        }
    }

    private func apply(_ desired: DesiredMessage, handler: DesiredStateHandler) async {
        do {
            guard desired.version > (try buffer.desiredApplied()) else { return }
            let reported = try await handler(desired.state, desired.version) ?? desired.state
            if let problem = DeviceState.problem(with: reported) { throw DeviceStateError.invalid(problem) }
            if try buffer.applied(desired: desired.version, report: StateReport(patch: reported, applied: desired.version)) {
                counters.desiredApplied += 1
            }
        } catch {
            logger.warning("desired state \(desired.version) not applied: \(error)")
        }
        wake.signal()
    }
}

/// A state report the hub would refuse.
public enum DeviceStateError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let problem): "not a state the hub accepts: \(problem)"
        }
    }
}

public enum DeviceClientError: Error, Equatable {
    /// No `hello` within `handshakeTimeout`.
    case handshakeTimedOut
}
