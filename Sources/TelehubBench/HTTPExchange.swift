import NIOCore
import NIOHTTP1
import NIOPosix

/// One kept-alive HTTP/1.1 connection of the load generator: a request
/// written, its answer returned, one after the other. For the control API
/// (commands), where each request is a transaction of the hub's.
final class HTTPExchange: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
        var answer: EventLoopPromise<Answer>
    }

    struct Answer: Sendable {
        var status: Int
        var body: String
    }

    enum Failure: Error { case closed }

    private var waiting = CircularBuffer<EventLoopPromise<Answer>>()
    private var status = 0
    private var body = ByteBuffer()

    /// A connection to `host:port` ready for requests.
    static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchange())
                }
            }
            .connect(host: host, port: port).get()
    }

    /// Sends a request over `channel` and waits for its answer.
    static func send(
        _ channel: any Channel, _ method: HTTPMethod, _ path: String, token: String, json: String? = nil
    ) async throws -> Answer {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        let body = ByteBuffer(string: json ?? "")
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Authorization", value: "Bearer \(token)")
        head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        if json != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        let answer = channel.eventLoop.makePromise(of: Answer.self)
        channel.writeAndFlush(Request(head: head, body: body, answer: answer), promise: nil)
        return try await answer.futureResult.get()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.answer)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if request.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            waiting.popFirst()?.succeed(Answer(status: status, body: String(buffer: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let answer = waiting.popFirst() { answer.fail(Failure.closed) }
        context.fireChannelInactive()
    }
}
