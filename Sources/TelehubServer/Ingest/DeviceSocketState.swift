import NIOWebSocket

/// The writer's side of a device connection, without sockets: what to do with
/// each event of the connection's queue. It counts the acks owed for messages
/// handed to the ingest actor, and decides when the connection may close:
/// at once when it is replaced, revoked or broken; on shutdown only once every
/// owed ack is out (or the drain time is up), so that what was committed is
/// acknowledged.
struct DeviceSocketState {
    enum Event: Sendable {
        /// A reply to send now (hello, pong, error).
        case reply(String)
        /// A message went to the ingest actor; its outcome is owed.
        case submitted
        /// The outcome of a submitted message (ack or error), if it has text to send.
        case completed(String?)
        /// Close now with this code (a broken rule, a drain that took too long).
        case close(WebSocketErrorCode, String)
        case end(ConnectionRegistry.Ending)
        /// The reader stopped: the device closed, broke the protocol (error), or was cancelled.
        case readerEnded((any Error)?)
        /// After the connection started ending, no more messages will be handed over.
        case submissionsOver
    }

    enum Action: Equatable {
        case write(String)
        /// Stop handing messages over; with `marker`, the reader's last event is `submissionsOver`.
        case stopReader(marker: Bool)
        /// Close after this long unless everything owed was sent first.
        case startDrainTimer(ConnectionRegistry.Ending)
        case close(WebSocketErrorCode, String)
        /// The connection is over without a close of ours (the device left).
        case finish
        /// The reader failed: end the connection with the error it ended with.
        case fail
    }

    private enum Phase: Equatable {
        case open
        /// Shutting down: sending what is owed, then closing with `ending`.
        case draining(ConnectionRegistry.Ending, submissionsOver: Bool)
        case over
    }

    private var phase = Phase.open
    /// Outcomes not yet sent for messages handed to the ingest actor.
    private(set) var owed = 0

    var isOver: Bool { phase == .over }

    /// Shutting down: owed acks still go out before the close.
    var isDraining: Bool {
        if case .draining = phase { true } else { false }
    }

    mutating func handle(_ event: Event) -> [Action] {
        guard phase != .over else { return [] }
        switch event {
        case .reply(let text):
            return [.write(text)]
        case .submitted:
            owed += 1
            return []
        case .completed(let text):
            owed -= 1
            var actions: [Action] = text.map { [.write($0)] } ?? []
            actions += closeIfDrained()
            return actions
        case .close(let code, let reason):
            phase = .over
            return [.stopReader(marker: false), .close(code, reason)]
        case .end(let ending) where ending != .shutdown:
            phase = .over
            return [.stopReader(marker: false), .close(ending.closeCode, ending.reason)]
        case .end(let ending):
            guard phase == .open else { return [] }
            phase = .draining(ending, submissionsOver: false)
            return [.stopReader(marker: true), .startDrainTimer(ending)]
        case .submissionsOver:
            if case .draining(let ending, _) = phase { phase = .draining(ending, submissionsOver: true) }
            return closeIfDrained()
        case .readerEnded(let error):
            if case .draining = phase { return [] }  // the device's answer to our close, or its leaving, while owed acks go out
            phase = .over
            if let error, !(error is CancellationError) { return [.fail] }
            return [.finish]
        }
    }

    private mutating func closeIfDrained() -> [Action] {
        guard case .draining(let ending, true) = phase, owed == 0 else { return [] }
        phase = .over
        return [.close(ending.closeCode, ending.reason)]
    }
}
