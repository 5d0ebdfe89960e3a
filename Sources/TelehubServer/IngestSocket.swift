import HummingbirdWebSocket
import Logging
import NIOWebSocket
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Runs one device's WebSocket session: `hello`, then every message through
/// `DeviceSessionState` and the ingest actor, with replies and acks written
/// by a single writer task in the order they become due.
struct IngestSocket: Sendable {
    let store: any TelemetryStore
    let ingest: IngestActor
    let presence: PresenceRegistry
    let configuration: HubConfiguration

    func run(
        device: String, deviceID: Int64, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        logger: Logger
    ) async throws {
        let (replies, replyQueue) = AsyncStream.makeStream(of: Outbound.self)
        let lastSeq = try await store.lastSeq(deviceID: deviceID)
        let hello = ServerMessage.Hello(
            device: device, lastSeq: lastSeq, limits: configuration.limits,
            heartbeatSeconds: configuration.heartbeatSeconds)
        replyQueue.yield(.message(.hello(hello)))
        await presence.connected(device)
        do {
            try await converse(device: device, deviceID: deviceID, inbound: inbound, outbound: outbound, replies: replies, replyQueue: replyQueue)
        } catch {
            await presence.disconnected(device)
            throw error
        }
        await presence.disconnected(device)
    }

    private func converse(
        device: String, deviceID: Int64, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        replies: AsyncStream<Outbound>, replyQueue: AsyncStream<Outbound>.Continuation
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.write(replies, to: outbound) }
            defer { replyQueue.finish() }
            do {
                // Stop reading when the hub shuts down: a device that never
                // answers must not hold the shutdown open.
                try await cancelWhenGracefulShutdown {
                    try await read(inbound, device: device, deviceID: deviceID, replies: replyQueue)
                }
            } catch is CancellationError {
                // Shutting down; the library closes the socket after we return.
            }
            replyQueue.finish()
            try await group.waitForAll()
        }
    }

    private func read(
        _ inbound: WebSocketInboundStream, device: String, deviceID: Int64, replies: AsyncStream<Outbound>.Continuation
    ) async throws {
        var session = DeviceSessionState(device: device, limits: configuration.limits, errorLimit: configuration.errorWindow)
        for try await message in inbound.messages(maxSize: configuration.limits.maxMessageBytes) {
            guard case .text(let text) = message else {
                replies.yield(.close(.unacceptableData, "binary frames are not accepted; send JSON text"))
                return
            }
            let now = EpochClock.nowMs()
            if try await handle(session.receive(text, now: now), device: device, deviceID: deviceID, now: now, replies: replies) {
                return
            }
        }
    }

    /// - Returns: true when the connection must close.
    private func handle(
        _ actions: [DeviceSessionState.Action], device: String, deviceID: Int64, now: Int64,
        replies: AsyncStream<Outbound>.Continuation
    ) async throws -> Bool {
        for action in actions {
            switch action {
            case .reply(let message):
                replies.yield(.message(message))
            case .submit(let message):
                await ingest.submit(
                    .init(deviceID: deviceID, device: device, message: message, receivedAt: now) { outcome in
                        switch outcome {
                        case .committed(let seq): if let seq { replies.yield(.message(.ack(seq: seq))) }
                        case .rejected(let rejection): replies.yield(.message(.error(rejection)))
                        }
                    })
            case .closeForErrors:
                replies.yield(.close(.policyViolation, "too many invalid messages"))
                return true
            }
        }
        return false
    }

    enum Outbound: Sendable {
        case message(ServerMessage)
        case close(WebSocketErrorCode, String)
    }

    private static func write(_ replies: AsyncStream<Outbound>, to outbound: WebSocketOutboundWriter) async throws {
        for await reply in replies {
            switch reply {
            case .message(let message):
                try await outbound.write(.text(message.json))
            case .close(let code, let reason):
                try await outbound.close(code, reason: reason)
                return
            }
        }
    }
}
