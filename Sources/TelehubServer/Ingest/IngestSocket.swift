import HummingbirdWebSocket
import NIOCore
import Logging
import NIOWebSocket
import Synchronization
import TelehubCore
import TelehubStore
import CoreMetrics

/// Runs one device's WebSocket connection: `hello`, then every message through
/// `DeviceConnectionState` and the ingest actor. Everything the connection sends
/// goes through one event queue, written in order by one writer: replies,
/// post-commit acks, and the close when the connection is replaced, its token
/// revoked, or the hub shuts down.
struct IngestSocket: Sendable {
    let hub: Hub

    /// What the writer acts on (see `DeviceSocketState`). Replies are encoded
    /// when queued, so their bytes count against the connection's `ReplyBudget`.
    typealias Event = DeviceSocketState.Event

    func run(identity: TokenIdentity, device: String, deviceID: Int64, channel: any Channel,
             inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (events, queue) = AsyncStream.makeStream(of: Event.self)
        let lastSeq = try await hub.store.lastSeq(deviceID: deviceID)
        queue.yield(.reply(ServerMessage.hello(.init(
            device: device, lastSeq: lastSeq, limits: hub.configuration.limits,
            heartbeatSeconds: hub.configuration.heartbeatSeconds)).json))
        let budget = ReplyBudget(maxCount: hub.configuration.maxQueuedReplies, maxBytes: hub.configuration.maxQueuedReplyBytes)
        let send: @Sendable (String) -> Bool = { text in
            guard ReplyBudget.admit(.reply(text), into: budget) else { return false }
            queue.yield(.reply(text))
            return true
        }
        let (connectionID, cameOnline) = hub.connections.register(kind: .device(device), tokenID: identity.tokenID, send: send) {
            queue.yield(.end($0))
        }
        hub.metrics.connections.increment()
        await hub.ingest.connectionStarted(deviceID: deviceID)
        if let feed = hub.feed {
            await feed.deviceConnected(device, deviceID: deviceID, connection: connectionID)
        } else if cameOnline {
            await hub.live.publishPresence(device: device, online: true, at: EpochClock.nowMs())
        }
        do {
            try await hub.states.connected(device, through: send)
            try await hub.commands.opened(device, through: send)
        } catch {
            Logger(label: "telehub.commands").error("could not send \(device) its commands: \(error)")
        }
        hub.connections.markReady(connectionID)
        try? await hub.commands.deliver(to: device)  // what was queued meanwhile (else CommandService's next look)
        let conversation = Conversation(
            hub: hub, device: device, deviceID: deviceID, queue: queue, replies: budget, channel: channel)
        let result: Result<Void, any Error>
        do {
            try await conversation.converse(events: events, inbound: inbound, outbound: outbound)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        hub.metrics.connections.decrement()
        if hub.connections.unregister(connectionID) {
            hub.states.disconnected(device)
            if let feed = hub.feed {
                await feed.deviceDisconnected(device, deviceID: deviceID, connection: connectionID)
            } else {
                await hub.live.publishPresence(device: device, online: false, at: EpochClock.nowMs())
            }
        }
        try result.get()
    }
}

/// One connection's reader and writer.
///
/// Ending a connection never stops reading the socket: closing a socket with
/// unread input makes the kernel send a reset, and a reset makes the device's
/// kernel discard the acks it has not read yet. So the reader is stopped at
/// the gate (it reads on but submits nothing more) until the device answers
/// the close, or the close times out.
private struct Conversation: Sendable {
    typealias Event = IngestSocket.Event
    let hub: Hub
    let device: String
    let deviceID: Int64
    let queue: AsyncStream<Event>.Continuation
    let replies: ReplyBudget
    let channel: any Channel
    let gate = ReaderGate()

    func converse(events: AsyncStream<Event>, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter)
        async throws
    {
        let reader = Task {
            do {
                try await read(inbound)
                queue.yield(.readerEnded(nil))
            } catch {
                queue.yield(.readerEnded(error))
            }
        }
        let result: Result<Void, any Error>
        do {
            try await withTaskCancellationHandler {
                try await write(events, outbound: outbound)
            } onCancel: {
                reader.cancel()
            }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        await finish(reader, within: hub.configuration.closeTimeout)
        try result.get()
    }

    /// Lets the reader see the device's answer to the close; a device that
    /// never answers is cut off after `limit`.
    private func finish(_ reader: Task<Void, Never>, within limit: Duration) async {
        // Not `firstOf`: waiting for a task's value ignores cancellation, so the
        // reader itself must be cancelled at the deadline.
        let deadline = Task {
            try? await Task.sleep(for: limit)
            reader.cancel()
        }
        await reader.value
        deadline.cancel()
    }

    private func write(_ events: AsyncStream<Event>, outbound: WebSocketOutboundWriter) async throws {
        try await withThrowingTaskGroup(of: Void.self) { timers in
            defer {
                queue.finish()
                timers.cancelAll()
            }
            var state = DeviceSocketState()
            for await event in events {
                for action in state.handle(event) {
                    switch action {
                    case .write(let text):
                        try await outbound.write(.text(text))
                        replies.release(text.utf8.count)
                    case .stopReader(let marker):
                        gate.stop(yielding: marker ? .submissionsOver : nil, to: queue)
                    case .startDrainTimer(let ending):
                        // Send the acks of everything already handed over, but never hold the shutdown for long.
                        let limit = hub.configuration.drainTimeout
                        timers.addTask {
                            try? await Task.sleep(for: limit)
                            queue.yield(.close(ending.closeCode, ending.reason))
                        }
                    case .close(let code, let reason):
                        try await outbound.close(code, reason: reason)
                    case .finish:
                        break
                    case .fail:
                        if case .readerEnded(let error?) = event { throw error }
                    }
                }
                if state.isOver { return }
            }
        }
    }

    private func read(_ inbound: WebSocketInboundStream) async throws {
        var connection = DeviceConnectionState(device: device, limits: hub.configuration.limits, errorLimit: hub.configuration.errorWindow)
        for try await message in inbound.messages(maxSize: hub.configuration.limits.maxMessageBytes) {
            guard gate.isOpen else { continue }  // ending: read on, act on nothing
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
            for action in connection.receive(text, now: now) {
                switch action {
                case .reply(let reply):
                    if case .error(let rejection) = reply { hub.metrics.rejected(device: device, reason: rejection.code) }
                    guard send(.reply(reply.json)) else { return }
                case .submit(let ingest):
                    await submit(ingest, at: now)
                case .closeForErrors:
                    hub.metrics.rejected(device: device, reason: "too_many_errors")
                    queue.yield(.close(.policyViolation, "too many invalid messages"))
                    return
                }
            }
        }
    }

    /// Queues a reply, unless the device has left too many unread: then its
    /// connection is closed with 1008 (its replies would otherwise pile up
    /// in the hub without bound). - Returns: false when the connection is cut off.
    private func send(_ event: Event) -> Bool {
        if ReplyBudget.admit(event, into: replies) {
            queue.yield(event)
            return true
        }
        cutOff()
        return false
    }

    private func cutOff() {
        guard replies.markCutOff() else { return }
        hub.metrics.unreadRepliesClosed.increment()
        hub.metrics.rejected(device: device, reason: "unread_replies")
        gate.stop(to: queue)
        UnreadRepliesCutOff.close(channel, within: hub.configuration.closeTimeout)
    }

    private func submit(_ message: IngestMessage, at now: Int64) async {
        // Counted as owed under the gate's lock, so the writer knows exactly
        // which acks are due when the connection ends.
        guard gate.pass(yielding: .submitted, to: queue) else { return }
        let device = self.device
        let metrics = hub.metrics
        await hub.ingest.submit(.init(deviceID: deviceID, device: device, message: message, receivedAt: now) { outcome in
            switch outcome {
            case .committed(let seq):
                _ = send(.completed(seq.map { ServerMessage.ack(seq: $0).json }))
            case .rejected(let rejection):
                metrics.rejected(device: device, reason: rejection.code.rawValue)
                _ = send(.completed(ServerMessage.error(ErrorBody(rejection)).json))
            }
        })
    }
}

/// Where the reader hands messages over, closed when the connection ends.
final class ReaderGate: Sendable {
    private let closed = Mutex(false)

    var isOpen: Bool { !closed.withLock { $0 } }

    /// Yields `event` and returns true while the gate is open.
    func pass(yielding event: IngestSocket.Event, to queue: AsyncStream<IngestSocket.Event>.Continuation) -> Bool {
        closed.withLock { closed in
            if !closed { queue.yield(event) }
            return !closed
        }
    }

    /// Closes the gate. The marker is yielded under the same lock, so it comes
    /// after every hand-over that got through.
    func stop(yielding marker: IngestSocket.Event? = nil, to queue: AsyncStream<IngestSocket.Event>.Continuation) {
        closed.withLock { closed in
            closed = true
            if let marker { queue.yield(marker) }
        }
    }
}
