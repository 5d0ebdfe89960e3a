import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import TelehubCore
import CoreMetrics

/// Each accepted connection: HTTP/1.1 for the routes, or, for an admitted
/// upgrade of `/v1/ingest`, a device connection that lives on the channel's
/// event loop (`DeviceConnectionHandler`).
///
/// The server runs `handle` in a task per connection; for a device that task
/// ends as soon as the upgrade is done, so a connected device holds no task.
/// Its end on shutdown comes from the server's quiesce event, which every
/// connection receives: it drains (acks owed, then 1001), and the server waits
/// until every channel is closed.
struct DeviceUpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case device
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let connections: DeviceConnections
    let http1: HTTP1Channel.Configuration
    let decide: UpgradeGateHandler.Decision
    let headTimeout: TimeAmount
    let onHeadRefused: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture(withResultOf: {
            let descriptors = connections.hub.descriptors
            descriptors.opened()
            channel.closeFuture.whenComplete { _ in descriptors.closed() }
            let pipeline = channel.pipeline.syncOperations
            let admitted = NIOLoopBoundBox<TokenIdentity?>(nil, eventLoop: channel.eventLoop)
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(
                upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                    upgraders: [upgrader(admitted: admitted, attempted: upgradeAttempted)],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture { try plainHTTP(channel, logger: logger, attempted: upgradeAttempted) }
                    }))
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // Hummingbird answers errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates them
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let upgradeResult = try pipeline.configureUpgradableHTTPServerPipeline(configuration: configuration)
            try addGate(channel, admitted: admitted)
            return Value(upgradeResult: upgradeResult, channel: channel)
        })
    }

    /// The gate and the request-head guard, right after the HTTP decoder; the
    /// guard goes when the connection becomes a WebSocket.
    private func addGate(_ channel: any Channel, admitted: NIOLoopBoundBox<TokenIdentity?>) throws {
        let pipeline = channel.pipeline.syncOperations
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        let upgrading = channel.eventLoop.makePromise(of: Bool.self)
        let hub = connections.hub
        let gate = UpgradeGateHandler(
            decide: decide, hasRoom: { hub.descriptors.hasRoom }, onFull: { hub.metrics.connectionsRefused.increment() },
            upgrading: upgrading, admitted: admitted)
        let headGuard = RequestHeadGuard(timeout: headTimeout, onRefused: onHeadRefused)
        try pipeline.addHandler(gate, position: .after(decoder))
        try pipeline.addHandler(headGuard, position: .after(decoder))
        // Reported before the upgrade request moves on, so the guard is gone
        // before the first WebSocket frame could reach it.
        upgrading.futureResult.assumeIsolated().whenSuccess { upgraded in
            if upgraded { channel.pipeline.syncOperations.removeHandler(headGuard, promise: nil) }
        }
    }

    /// The WebSocket upgrader: the device's opening is settled before the
    /// 101 (its `lastSeq`, its extension), and the connection takes the channel after.
    private func upgrader(
        admitted: NIOLoopBoundBox<TokenIdentity?>, attempted: NIOLoopBoundBox<Bool>
    ) -> NIOTypedWebSocketServerUpgrader<UpgradeResult> {
        let connections = self.connections
        let opening = NIOLoopBoundBox<DeviceOpening?>(nil, eventLoop: admitted.eventLoop)
        return NIOTypedWebSocketServerUpgrader<UpgradeResult>(
            maxFrameSize: connections.hub.configuration.limits.maxMessageBytes,
            shouldUpgrade: { channel, head in
                attempted.value = true
                guard let identity = admitted.value else { return channel.eventLoop.makeSucceededFuture(nil) }
                let settled = channel.eventLoop.makePromise(of: DeviceOpening?.self)
                settled.completeWithTask { try await connections.opening(for: identity, head: head) }
                return settled.futureResult.map { settled -> HTTPHeaders? in
                    guard let settled else { return nil }
                    opening.value = settled
                    var headers = HTTPHeaders()
                    if let inflate = settled.inflate { headers.add(name: "Sec-WebSocket-Extensions", value: inflate.responseHeader) }
                    return headers
                }
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let settled = opening.value else { throw ChannelError.inappropriateOperationForState }
                    let loop = connections.loopConnections(on: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(
                        DeviceConnectionHandler(connections: connections, loop: loop, opening: settled))
                    return .device
                }
            })
    }

    /// Not an upgrade: the connection serves HTTP requests to the router.
    private func plainHTTP(_ channel: any Channel, logger: Logger, attempted: NIOLoopBoundBox<Bool>) throws -> UpgradeResult {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandlers(http1.additionalChannelHandlers())
        try pipeline.addHandler(
            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .nanoseconds($0.nanoseconds) }, logger: logger))
        // After the state handler, so it sees the loop's requests and answers as the router's.
        try pipeline.addHandler(
            LoopWriteHandler(
                hub: connections.hub, loop: connections.loopConnections(on: channel.eventLoop),
                peer: channel.remoteAddress?.ipAddress ?? "unknown"))
        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        return attempted.value ? .failedUpgrade(asyncChannel) : .notUpgraded(asyncChannel)
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .device:
                return  // the connection runs on the channel's event loop from here
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1):
                await Self.refuseUpgrade(http1, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("the connection closed during the upgrade")
        } catch {
            logger.debug("connection ended before its first request was answered: \(error)")
        }
    }

    /// The upgrader declined (the device went away between the gate and the upgrade): 400.
    private static func refuseUpgrade(_ channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await channel.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("could not answer a declined upgrade: \(error)")
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with device connections on `/v1/ingest`.
    static func deviceConnections(
        _ connections: DeviceConnections, http1: HTTP1Channel.Configuration, decide: @escaping UpgradeGateHandler.Decision,
        headTimeout: TimeAmount, onHeadRefused: @escaping @Sendable () -> Void
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            DeviceUpgradeChannel(
                responder: responder, connections: connections, http1: http1, decide: decide, headTimeout: headTimeout,
                onHeadRefused: onHeadRefused)
        }
    }
}
