import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

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

    /// Answers whether the upgrade request with this head may proceed.
    typealias Decision = @Sendable (HTTPRequestHead) async -> Bool

    private let decide: Decision
    private var held: [HTTPServerRequestPart] = []
    private var deciding = false

    init(decide: @escaping Decision) {
        self.decide = decide
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if deciding {
            held.append(part)
            return
        }
        guard case .head(let head) = part, head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        deciding = true
        let promise = context.eventLoop.makePromise(of: Bool.self)
        let decide = self.decide
        promise.completeWithTask { await decide(head) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { allowed in
            let (handler, context) = bound.value
            handler.release(head: head, allowed: allowed, context: context)
        }
    }

    private func release(head: HTTPRequestHead, allowed: Bool, context: ChannelHandlerContext) {
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
struct GatedUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let decide: UpgradeGateHandler.Decision

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(UpgradeGateHandler(decide: decide), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrade, where `decide` may refuse an upgrade
    /// so that the router answers the request as plain HTTP instead.
    static func gatedWebSocketUpgrade<WSResponderBuilder: HTTPResponderBuilder & _HB_SendableMetatype>(
        webSocketRouter: WSResponderBuilder,
        configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        decide: @escaping UpgradeGateHandler.Decision
    ) -> HTTPServerBuilder where WSResponderBuilder.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            GatedUpgradeChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                decide: decide)
        }
    }
}
