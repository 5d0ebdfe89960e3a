import HummingbirdWebSocket
import Logging
import NIOWebSocket
import TelehubCore
import TelehubStore

/// Runs one device's WebSocket session: `hello`, then every message through
/// `DeviceSessionState` and the ingest actor. Everything the session sends
/// goes through one event queue, written in order by one writer: replies,
/// post-commit acks, and the close when the session is replaced, its token
/// revoked, or the hub shuts down.
struct IngestSocket: Sendable {
    let hub: Hub

    /// What the writer acts on.
    enum Event: Sendable {
        case reply(ServerMessage)
        /// A message went to the ingest actor; its outcome is owed.
        case submitted
        /// The outcome of a submitted message (ack or error).
        case completed(ServerMessage?)
        case close(WebSocketErrorCode, String)
        case end(SessionRegistry.Ending)
        /// The reader stopped: the device closed, broke the protocol (error), or was cancelled.
        case readerEnded((any Error)?)
    }

    func run(identity: TokenIdentity, device: String, deviceID: Int64, inbound: WebSocketInboundStream,
             outbound: WebSocketOutboundWriter) async throws {
        let (events, queue) = AsyncStream.makeStream(of: Event.self)
        let lastSeq = try await hub.store.lastSeq(deviceID: deviceID)
        queue.yield(.reply(.hello(.init(
            device: device, lastSeq: lastSeq, limits: hub.configuration.limits,
            heartbeatSeconds: hub.configuration.heartbeatSeconds))))
        let (sessionID, cameOnline) = hub.sessions.register(kind: .device(device), tokenID: identity.tokenID) {
            queue.yield(.end($0))
        }
        hub.metrics.connections.increment()
        if cameOnline { await hub.live.publishPresence(device: device, online: true, at: EpochClock.nowMs()) }
        let session = Conversation(hub: hub, device: device, deviceID: deviceID, queue: queue)
        let result: Result<Void, any Error>
        do {
            try await session.converse(events: events, inbound: inbound, outbound: outbound)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        hub.metrics.connections.decrement()
        if hub.sessions.unregister(sessionID) {
            await hub.live.publishPresence(device: device, online: false, at: EpochClock.nowMs())
        }
        try result.get()
    }
}

/// One session's reader and writer.
private struct Conversation: Sendable {
    typealias Event = IngestSocket.Event
    let hub: Hub
    let device: String
    let deviceID: Int64
    let queue: AsyncStream<Event>.Continuation

    func converse(events: AsyncStream<Event>, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter)
        async throws
    {
        // The reader is its own task so that it can be stopped alone while the
        // writer goes on sending the acks that are due.
        let reader = Task {
            do {
                try await read(inbound)
                queue.yield(.readerEnded(nil))
            } catch {
                queue.yield(.readerEnded(error))
            }
        }
        do {
            try await withTaskCancellationHandler {
                try await write(events, outbound: outbound, stopReading: { reader.cancel() })
            } onCancel: {
                reader.cancel()
            }
        } catch {
            reader.cancel()
            await reader.value
            throw error
        }
        reader.cancel()
        await reader.value
    }

    private func write(_ events: AsyncStream<Event>, outbound: WebSocketOutboundWriter, stopReading: () -> Void)
        async throws
    {
        try await withThrowingTaskGroup(of: Void.self) { timers in
            defer {
                queue.finish()
                timers.cancelAll()
            }
            var owed = 0
            var draining: SessionRegistry.Ending?
            for await event in events {
                switch event {
                case .reply(let message):
                    try await outbound.write(.text(message.json))
                case .submitted:
                    owed += 1
                case .completed(let message):
                    owed -= 1
                    if let message { try await outbound.write(.text(message.json)) }
                    if let draining, owed == 0 { return try await close(draining, outbound) }
                case .close(let code, let reason):
                    return try await outbound.close(code, reason: reason)
                case .end(let ending):
                    stopReading()
                    guard ending == .shutdown, owed > 0 else { return try await close(ending, outbound) }
                    // Send the acks that are due, but never hold the shutdown for long.
                    draining = ending
                    let limit = hub.configuration.drainTimeout
                    timers.addTask {
                        try? await Task.sleep(for: limit)
                        queue.yield(.close(ending.closeCode, ending.reason))
                    }
                case .readerEnded(let error):
                    if draining != nil { continue }
                    if let error, !(error is CancellationError) { throw error }
                    return
                }
            }
        }
    }

    private func close(_ ending: SessionRegistry.Ending, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.close(ending.closeCode, reason: ending.reason)
    }

    private func read(_ inbound: WebSocketInboundStream) async throws {
        var session = DeviceSessionState(device: device, limits: hub.configuration.limits, errorLimit: hub.configuration.errorWindow)
        for try await message in inbound.messages(maxSize: hub.configuration.limits.maxMessageBytes) {
            guard case .text(let text) = message else {
                hub.metrics.rejected(device: device, reason: "binary_frame")
                queue.yield(.close(.unacceptableData, "binary frames are not accepted; send JSON text"))
                return
            }
            // The frame limit applies to compressed frames; this bounds what a deflated message expands to.
            guard text.utf8.count <= hub.configuration.limits.maxMessageBytes else {
                hub.metrics.rejected(device: device, reason: "message_too_large")
                queue.yield(.close(.messageTooLarge, "message over \(hub.configuration.limits.maxMessageBytes) bytes"))
                return
            }
            let now = EpochClock.nowMs()
            for action in session.receive(text, now: now) {
                switch action {
                case .reply(let reply):
                    if case .error(let rejection) = reply { hub.metrics.rejected(device: device, reason: rejection.code.rawValue) }
                    queue.yield(.reply(reply))
                case .submit(let ingest):
                    if let limited = hub.rateLimiter.admit(deviceID: deviceID, readings: ingest.readings.count, seq: ingest.seq) {
                        hub.metrics.rejected(device: device, reason: limited.code.rawValue)
                        queue.yield(.reply(.error(limited)))
                        continue
                    }
                    try await submit(ingest, at: now)
                case .closeForErrors:
                    hub.metrics.rejected(device: device, reason: "too_many_errors")
                    queue.yield(.close(.policyViolation, "too many invalid messages"))
                    return
                }
            }
            try Task.checkCancellation()
        }
    }

    private func submit(_ message: IngestMessage, at now: Int64) async throws {
        queue.yield(.submitted)
        let queue = self.queue
        let device = self.device
        let metrics = hub.metrics
        await hub.ingest.submit(.init(deviceID: deviceID, device: device, message: message, receivedAt: now) { outcome in
            switch outcome {
            case .committed(let seq):
                queue.yield(.completed(seq.map { .ack(seq: $0) }))
            case .rejected(let rejection):
                metrics.rejected(device: device, reason: rejection.code.rawValue)
                queue.yield(.completed(.error(rejection)))
            }
        })
    }
}
