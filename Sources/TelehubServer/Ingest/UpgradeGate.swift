import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Decides whether a WebSocket upgrade may go ahead before the upgrader sees
/// the request.
///
/// The WebSocket library answers a refused upgrade with a bare 400. The
/// contract wants 401 with a JSON body, so this handler sits between the HTTP
/// decoder and the upgrader: when the gate refuses, it strips the upgrade
/// headers and the request continues as plain HTTP to the router, which
/// answers 401. It handles the first request of a connection only (the only
/// one that can upgrade) and then removes itself.
final class UpgradeGateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// Answers whether the upgrade request with this head, from this client
    /// address, may proceed.
    typealias Decision = @Sendable (HTTPRequestHead, String) async -> Bool

    private let decide: Decision
    /// Completed with whether this connection is becoming a WebSocket.
    private let upgrading: EventLoopPromise<Bool>
    private var held: [HTTPServerRequestPart] = []
    private var deciding = false
    private var reported = false

    init(decide: @escaping Decision, upgrading: EventLoopPromise<Bool>) {
        self.decide = decide
        self.upgrading = upgrading
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        report(false)
    }

    private func report(_ upgrade: Bool) {
        guard !reported else { return }
        reported = true
        upgrading.succeed(upgrade)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if deciding {
            held.append(part)
            return
        }
        guard case .head(let head) = part, head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            report(false)
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        deciding = true
        let promise = context.eventLoop.makePromise(of: Bool.self)
        let decide = self.decide
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        promise.completeWithTask { await decide(head, address) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { allowed in
            let (handler, context) = bound.value
            handler.release(head: head, allowed: allowed, context: context)
        }
    }

    private func release(head: HTTPRequestHead, allowed: Bool, context: ChannelHandlerContext) {
        report(allowed)
        var head = head
        if !allowed {
            head.headers.remove(name: "upgrade")
            head.headers.remove(name: "connection")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        for part in held { context.fireChannelRead(wrapInboundOut(part)) }
        held = []
        deciding = false
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        context.read()
    }
}

/// `HTTP1WebSocketUpgradeChannel` with an `UpgradeGateHandler` in front of its upgrader.
///
/// It also owns how device connections end on shutdown. The WebSocket library
/// closes every socket with 1000 the moment graceful shutdown starts, before
/// the acks that are due could be sent. So an upgraded connection runs
/// outside the server's graceful-shutdown scope, and the shutdown signal
/// goes to `onShutdown` instead, which drains the connections: stop reading,
/// send the acks of what was committed, close with 1001.
struct GatedUpgradeChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let base: HTTP1WebSocketUpgradeChannel.Value
        let upgrading: EventLoopFuture<Bool>
        var channel: any Channel { base.channel }
    }

    let base: HTTP1WebSocketUpgradeChannel
    let decide: UpgradeGateHandler.Decision
    let onShutdown: @Sendable () -> Void
    let headTimeout: TimeAmount
    let onHeadRefused: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let upgrading = channel.eventLoop.makePromise(of: Bool.self)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let gate = UpgradeGateHandler(decide: decide, upgrading: upgrading)
            let headGuard = RequestHeadGuard(timeout: headTimeout, onRefused: onHeadRefused)
            try pipeline.addHandler(gate, position: .after(decoder))
            try pipeline.addHandler(headGuard, position: .after(decoder))
            // Reported before the upgrade request moves on, so the guard is gone
            // before the first WebSocket frame could reach it.
            upgrading.futureResult.assumeIsolated().whenSuccess { upgraded in
                if upgraded { channel.pipeline.syncOperations.removeHandler(headGuard, promise: nil) }
            }
            return Value(base: value, upgrading: upgrading.futureResult)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard (try? await value.upgrading.get()) == true else {
            return await base.handle(value: value.base, logger: logger)
        }
        let base = self.base
        // Detached: no task-locals, so the library's own shutdown handler never fires.
        let connection = Task.detached { await base.handle(value: value.base, logger: logger) }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await connection.value
            } onGracefulShutdown: {
                onShutdown()
            }
        } onCancel: {
            connection.cancel()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrade, where `decide` may refuse an upgrade
    /// so that the router answers the request as plain HTTP instead.
    static func gatedWebSocketUpgrade<WSResponderBuilder: HTTPResponderBuilder & _HB_SendableMetatype>(
        webSocketRouter: WSResponderBuilder,
        configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        decide: @escaping UpgradeGateHandler.Decision,
        onShutdown: @escaping @Sendable () -> Void,
        headTimeout: TimeAmount,
        onHeadRefused: @escaping @Sendable () -> Void
    ) -> HTTPServerBuilder where WSResponderBuilder.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            GatedUpgradeChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                decide: decide, onShutdown: onShutdown, headTimeout: headTimeout, onHeadRefused: onHeadRefused)
        }
    }
}
