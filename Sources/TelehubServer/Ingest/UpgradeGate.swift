import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import TelehubCore

/// Decides whether a WebSocket upgrade may go ahead before the upgrader sees
/// the request.
///
/// The WebSocket upgrader answers a refused upgrade with a bare 400. The
/// contract wants 401 with a JSON body, so this handler sits between the HTTP
/// decoder and the upgrader: when the gate refuses, it strips the upgrade
/// headers and the request continues as plain HTTP to the router, which
/// answers 401. When the hub holds as many connections as it may open, it
/// answers 503 itself and closes. It handles the first request of a
/// connection only (the only one that can upgrade) and then removes itself.
final class UpgradeGateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// Answers whether the upgrade request with this head, from this client
    /// address, may proceed, and as whom: nil refuses it.
    typealias Decision = @Sendable (HTTPRequestHead, String) async -> TokenIdentity?

    private let decide: Decision
    /// Whether the hub may take one more connection.
    private let hasRoom: @Sendable () -> Bool
    private let onFull: @Sendable () -> Void
    /// Completed with whether this connection is becoming a WebSocket.
    private let upgrading: EventLoopPromise<Bool>
    /// The device token's identity, for the upgrader.
    private let admitted: NIOLoopBoundBox<TokenIdentity?>
    private var held: [HTTPServerRequestPart] = []
    private var deciding = false
    private var reported = false
    /// Answered 503: what follows of the request is dropped.
    private var full = false

    init(
        decide: @escaping Decision, hasRoom: @escaping @Sendable () -> Bool, onFull: @escaping @Sendable () -> Void,
        upgrading: EventLoopPromise<Bool>, admitted: NIOLoopBoundBox<TokenIdentity?>
    ) {
        self.decide = decide
        self.hasRoom = hasRoom
        self.onFull = onFull
        self.upgrading = upgrading
        self.admitted = admitted
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
        if full { return }
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
        guard hasRoom() else { return refuseForRoom(head, context: context) }
        deciding = true
        let promise = context.eventLoop.makePromise(of: TokenIdentity?.self)
        let decide = self.decide
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        promise.completeWithTask { await decide(head, address) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { identity in
            let (handler, context) = bound.value
            handler.admitted.value = identity
            handler.release(head: head, allowed: identity != nil, context: context)
        }
    }

    /// 503 and close: every descriptor the process may open is in use, so
    /// the device is told to come back instead of being left to time out.
    private func refuseForRoom(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        onFull()
        full = true
        report(false)
        let answer = APIErrorAnswer(
            error: "overloaded", message: "the hub holds as many connections as it may open; connect again later")
        RawHTTPAnswer.write(.serviceUnavailable, answer, headers: [("Retry-After", "5")], to: context)
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
