import Foundation
import TelehubCore
import NIOCore
import NIOHTTP1

/// Bounds the wait for a request head: it must be complete within `timeout`
/// of the connection opening or of the previous response, or the connection
/// is closed. A client that trickles a head byte by byte (slowloris), or
/// connects and sends nothing, holds a connection for that long at most.
///
/// It also answers a head over the decoder's size limit with 431 instead of
/// a bare close. It sits right after the HTTP decoder and is removed when
/// the connection becomes a WebSocket.
final class RequestHeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private let onRefused: @Sendable () -> Void
    private var deadline: Scheduled<Void>?
    /// Requests whose head arrived and whose response has not ended.
    private var inFlight = 0

    init(timeout: TimeAmount, onRefused: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onRefused = onRefused
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
            inFlight += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError, error == .headerOverflow, inFlight == 0 {
            onRefused()
            let body = APIErrorAnswer(error: "request_header_fields_too_large", message: "the request head is over 16 KiB")
            RawHTTPAnswer.write(.requestHeaderFieldsTooLarge, body, to: context)
        }
        context.fireErrorCaught(error)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let onRefused = self.onRefused
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            onRefused()
            context.close(promise: nil)
        }
    }
}
