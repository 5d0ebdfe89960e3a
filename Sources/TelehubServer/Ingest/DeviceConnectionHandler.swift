import Logging
import NIOCore
import NIOWebSocket
import TelehubCore
import CoreMetrics

/// One device's WebSocket connection, as a handler on its channel's event
/// loop: frames in (`WebSocketMessageAssembler`), each message through
/// `DeviceConnectionState`, messages to the ingest actor in the loop's batch,
/// and every reply, post-commit ack and close decided by `DeviceSocketState`.
///
/// A connection holds no task and no timer of its own (the loop's
/// `HeartbeatWheel` pings it), so an idle device costs its channel, its
/// buffers and this object (`telehub bench --ingest --sections idle`).
///
/// Ending a connection never stops reading the socket: closing a socket with
/// unread input makes the kernel send a reset, and a reset makes the device's
/// kernel discard the acks it has not read yet. So when the connection ends,
/// reading goes on while nothing more is submitted (the gate), until the
/// device answers the close or the close times out.
final class DeviceConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopIngestSource {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private enum Phase {
        case open
        /// Our close frame is out: waiting for the device's answer or the close timeout.
        case closing
        case closed
    }

    private let connections: DeviceConnections
    private let loop: LoopConnections
    private let opening: DeviceOpening
    private var connection: DeviceConnectionState
    private var socket = DeviceSocketState()
    private var frames: WebSocketMessageAssembler
    private let replies: ReplyBudget
    private var context: ChannelHandlerContext?
    private var phase = Phase.open
    /// Registered, hello sent, and its desired state and waiting commands
    /// sent: until then frames wait in `early`.
    private var ready = false
    private var closeRequested = false
    /// Closed when the connection starts ending: messages are read and dropped.
    private var submitting = true
    /// The device closed its side (a close frame, or half-closed input).
    private var deviceClosed = false
    /// Frames that arrived while opening, handled once open.
    private var early: [WebSocketFrame] = []
    /// Replies queued in this turn, written together.
    private var outgoing = OutgoingReplies()
    /// Set while the outbox hands over outcomes: it flushes once after all of them.
    private var holdingFlush = false
    /// Messages in the loop's batch not yet taken by the ingest actor; no
    /// read while there are `handOffsBeforeHold` of them.
    private var handOffs = 0
    /// One message waiting for the hand-off does not stop reading: NIO asks
    /// to read again at the end of the very turn that gathered it, and
    /// refusing then costs two `epoll_ctl` calls a message (read interest
    /// dropped, then restored after the hand-off). A second one does, so
    /// backpressure still reaches the socket within one more read.
    static let handOffsBeforeHold = 2
    private var readHeld = false
    private var connectionID: Int?
    private var drainTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var wheelSlot: Int?
    /// Heartbeat: a frame arrived since the wheel's last visit, and the
    /// visits in a row that found none.
    private var heard = true
    private var silentVisits = 0

    private var hub: Hub { connections.hub }

    init(connections: DeviceConnections, loop: LoopConnections, opening: DeviceOpening) {
        self.connections = connections
        self.loop = loop
        self.opening = opening
        let configuration = connections.hub.configuration
        self.connection = DeviceConnectionState(
            device: opening.device, limits: configuration.limits, errorLimit: configuration.errorWindow)
        self.frames = WebSocketMessageAssembler(
            maxMessageBytes: configuration.limits.maxMessageBytes,
            inflater: opening.inflate.map { PerMessageInflate(negotiation: $0, maxMessageBytes: configuration.limits.maxMessageBytes) })
        self.replies = ReplyBudget(maxCount: configuration.maxQueuedReplies, maxBytes: configuration.maxQueuedReplyBytes)
    }

    // MARK: - Opening and closing

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let configuration = hub.configuration
        let hello = ServerMessage.hello(.init(
            device: opening.device, lastSeq: opening.lastSeq, limits: configuration.limits,
            heartbeatSeconds: configuration.heartbeatSeconds)).json
        outgoing.append(hello)
        _ = replies.take(hello.utf8.count)
        flushReplies()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let replies = self.replies
        let send: @Sendable (String) -> Bool = { text in
            guard replies.take(text.utf8.count) else {
                eventLoop.execute { bound.value.cutOff() }
                return false
            }
            eventLoop.execute { bound.value.handle(.reply(text), admitted: true) }
            return true
        }
        let (id, cameOnline) = hub.connections.register(
            kind: .device(opening.device), tokenID: opening.tokenID, send: send
        ) { ending in
            eventLoop.execute { bound.value.handle(.end(ending)) }
        }
        connectionID = id
        hub.metrics.connections.increment()
        wheelSlot = loop.wheel.add(self)
        // The server stopped listening before this connection got here: drain at once.
        if context.channel.parent?.isActive == false { hub.connections.shutDown() }
        let connections = self.connections
        let opening = self.opening
        connections.open {
            await connections.announce(opening, connection: id, cameOnline: cameOnline, send: send)
            eventLoop.execute { bound.value.opened() }
        }
    }

    private func opened() {
        ready = true
        // Closed while opening: its leaving is announced after its arrival.
        guard phase != .closed else { return announceLeaving() }
        let waiting = early
        early = []
        for frame in waiting where phase != .closed { receive(frame) }
        flushReplies()
        resumeReading()
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        drainTimer?.cancel()
        closeTimer?.cancel()
        if let wheelSlot { loop.wheel.remove(self, slot: wheelSlot) }
        wheelSlot = nil
        _ = outgoing.removeAll()
        if ready { announceLeaving() }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private func announceLeaving() {
        guard let id = connectionID else { return }
        connectionID = nil
        hub.metrics.connections.decrement()
        guard hub.connections.unregister(id) else { return }
        hub.states.disconnected(opening.device)
        let connections = self.connections
        let opening = self.opening
        Task { await connections.announceLeaving(opening, connection: id) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is stopping: every device connection drains (acks owed, then 1001).
            hub.connections.shutDown()
        case let event as ChannelEvent where event == .inputClosed:
            deviceClosed = true
            handle(.readerEnded(nil))
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Frame errors were answered by the protocol error handler (1002, 1009); the socket is done.
        handle(.readerEnded(error))
        closeChannel()
    }

    // MARK: - Reading

    func read(context: ChannelHandlerContext) {
        if !ready || handOffs >= Self.handOffsBeforeHold {
            readHeld = true
            return
        }
        context.read()
    }

    private func resumeReading() {
        guard readHeld, ready, handOffs < Self.handOffsBeforeHold, let context else { return }
        readHeld = false
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heard = true
        if !ready {
            early.append(frame)
        } else if phase != .closed {
            receive(frame)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushReplies()
        context.fireChannelReadComplete()
    }

    private func receive(_ frame: WebSocketFrame) {
        let limit = hub.configuration.limits.maxMessageBytes
        switch frames.receive(frame) {
        case .partial, .pong:
            break
        case .text(let text):
            message(text)
        case .ping(let data):
            guard phase == .open, let context else { return }
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: data)), promise: nil)
        case .close(let payload):
            deviceClosed = true
            if phase == .closing { return closeChannel() }
            if socket.isDraining {
                handle(.readerEnded(nil))  // the acks owed still go out, then our close
            } else {
                writeClose(WebSocketMessageAssembler.answer(toClose: payload), reason: nil)
                handle(.readerEnded(nil))
            }
        case .binary:
            hub.metrics.rejected(device: opening.device, reason: "binary_frame")
            handle(.close(.unacceptableData, "binary frames are not accepted; send JSON text"))
        case .tooLarge:
            hub.metrics.rejected(device: opening.device, reason: "message_too_large")
            handle(.close(.messageTooLarge, "message over \(limit) bytes"))
        case .fail(let code):
            handle(.close(code, ""))
        }
    }

    private func message(_ text: String) {
        guard submitting else { return }  // ending: read on, act on nothing
        let now = EpochClock.nowMs()
        for action in connection.receive(text, now: now) {
            switch action {
            case .reply(let reply):
                if case .error(let rejection) = reply { hub.metrics.rejected(device: opening.device, reason: rejection.code) }
                guard send(.reply(reply.json)) else { return }
            case .submit(let ingest):
                submit(ingest, at: now)
            case .closeForErrors:
                hub.metrics.rejected(device: opening.device, reason: "too_many_errors")
                handle(.close(.policyViolation, "too many invalid messages"))
                return
            }
        }
    }

    private func submit(_ message: IngestMessage, at now: Int64) {
        guard submitting, let context else { return }
        handle(.submitted)
        handOffs += 1
        let connection = NIOLoopBound<any LoopIngestSource>(self, eventLoop: context.eventLoop)
        let outbox = loop.outbox
        loop.gather(
            .init(deviceID: opening.deviceID, device: opening.device, message: message, receivedAt: now) { outcome in
                outbox.deliver(.init(connection: connection, outcome: outcome))
            }, from: self)
    }

    /// The loop's batch with one of this connection's messages was taken by the ingest actor.
    func handedOff() {
        handOffs -= 1
        resumeReading()
    }

    /// A submitted message was committed or refused. Its reply is written
    /// but not flushed: the outbox flushes each connection once for all the
    /// outcomes of a commit (one `writev` instead of one per message).
    /// - Returns: true when this outcome gave the connection its first reply to flush.
    func completed(_ outcome: IngestActor.Outcome) -> Bool {
        let hadReplies = !outgoing.isEmpty
        holdingFlush = true
        defer { holdingFlush = false }
        switch outcome {
        case .committed(let seq?):
            acknowledge(seq)
        case .committed(nil):
            _ = send(.completed(nil))
        case .rejected(let rejection):
            hub.metrics.rejected(device: opening.device, reason: rejection.code.rawValue)
            _ = send(.completed(ServerMessage.error(ErrorBody(rejection)).json))
        }
        return !hadReplies && !outgoing.isEmpty
    }

    /// Queues the ack of a committed message, in place of the ack queued
    /// just before it, if any (`OutgoingReplies`).
    private func acknowledge(_ seq: Int64) {
        if let replaced = outgoing.removeAck(coveredBy: seq) {
            replies.release(count: 1, bytes: replaced.utf8.count)
        }
        let queued = outgoing.count
        guard send(.completed(ServerMessage.ack(seq: seq).json)) else { return }
        if outgoing.count > queued { outgoing.lastIsAck(seq) }
    }

    // MARK: - Writing

    /// Queues a reply, unless the device has left too many unread: then its
    /// connection is closed with 1008 (its replies would otherwise pile up
    /// in the hub without bound). - Returns: false when it was cut off.
    private func send(_ event: DeviceSocketState.Event) -> Bool {
        guard ReplyBudget.admit(event, into: replies) else {
            cutOff()
            return false
        }
        handle(event, admitted: true)
        return true
    }

    /// Carries out what the connection's state says to `event`.
    /// - Parameter admitted: a reply's bytes were counted in the budget.
    private func handle(_ event: DeviceSocketState.Event, admitted: Bool = false) {
        var next: DeviceSocketState.Event? = event
        while let event = next {
            next = nil
            let actions = socket.handle(event)
            if actions.isEmpty, admitted, case .reply(let text) = event { replies.release(count: 1, bytes: text.utf8.count) }
            for action in actions {
                switch action {
                case .write(let text):
                    if phase == .closed || phase == .closing {
                        replies.release(count: 1, bytes: text.utf8.count)
                    } else {
                        outgoing.append(text)
                    }
                case .stopReader(let marker):
                    submitting = false
                    if marker { next = .submissionsOver }  // on the loop nothing can be handed over after this
                case .startDrainTimer(let ending):
                    // Send the acks of everything already handed over, but never hold the shutdown for long.
                    drainTimer = context?.eventLoop.assumeIsolated().scheduleTask(in: hub.configuration.drainTimeout.timeAmount) {
                        self.handle(.close(ending.closeCode, ending.reason))
                    }
                case .close(let code, let reason):
                    writeReplies()  // the acks owed go out before the close, held or not
                    writeClose(code, reason: reason)
                case .finish, .fail:
                    writeReplies()
                    closeChannel()
                }
            }
        }
        flushReplies()
    }

    /// Writes the replies queued, unless the outbox holds them for one flush.
    func flushReplies() {
        guard !holdingFlush else { return }
        writeReplies()
    }

    private func writeReplies() {
        guard !outgoing.isEmpty, let context, phase != .closed else { return }
        var bytes = 0
        let texts = outgoing.removeAll()
        let count = texts.count
        for (index, text) in texts.enumerated() {
            bytes += text.utf8.count
            let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: text))
            guard index == count - 1 else {
                context.write(wrapOutboundOut(frame), promise: nil)
                continue
            }
            // Written in order: when the last is out of the hub, all are.
            let replies = self.replies
            let total = bytes
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in replies.release(count: count, bytes: total) }
            context.write(wrapOutboundOut(frame), promise: promise)
        }
        context.flush()
    }

    /// Our close frame; the channel closes when the device answers, or after the close timeout.
    private func writeClose(_ code: WebSocketErrorCode, reason: String?) {
        guard phase == .open, let context else { return }
        phase = .closing
        submitting = false
        var data = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        data.write(webSocketErrorCode: code)
        if let reason { data.writeString(reason) }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        if deviceClosed { return closeChannel() }
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: hub.configuration.closeTimeout.timeAmount) {
            self.closeChannel()
        }
    }

    private func closeChannel() {
        guard phase != .closed, !closeRequested, let context else { return }
        closeRequested = true
        context.close(promise: nil)
    }

    /// The device does not read its replies: close with 1008 at once. The
    /// socket may be full, so the channel is closed when the close frame is
    /// out or after the close timeout, whichever comes first.
    private func cutOff() {
        guard replies.markCutOff(), phase != .closed, let context else { return }
        hub.metrics.unreadRepliesClosed.increment()
        hub.metrics.rejected(device: opening.device, reason: "unread_replies")
        submitting = false
        phase = .closing
        _ = outgoing.removeAll()
        let reason = "replies not read"
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: .policyViolation)
        data.writeString(reason)
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.assumeIsolated().whenComplete { _ in self.closeChannel() }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: closed)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: hub.configuration.closeTimeout.timeAmount) {
            self.closeChannel()
        }
    }

    // MARK: - Heartbeat

    /// A visit of the loop's wheel, once an interval: a ping, or the end of a
    /// device that showed no traffic for two intervals (two visits in a row
    /// found nothing since the one before: between two and three intervals).
    func heartbeat() {
        guard phase == .open, let context else { return }
        silentVisits = heard ? 0 : silentVisits + 1
        heard = false
        if silentVisits >= 2 {
            writeClose(.goingAway, reason: "no traffic for two heartbeat intervals")
            return closeChannel()
        }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
    }
}
