import Foundation
import NIOCore
import NIOHTTP1
import TelehubCore

/// A whole HTTP response written by a handler before the router (431, 503),
/// followed by closing the connection.
enum RawHTTPAnswer {
    static func write(
        _ status: HTTPResponseStatus, _ body: APIErrorAnswer, headers extra: [(String, String)] = [],
        to context: ChannelHandlerContext
    ) {
        let buffer = ByteBuffer(bytes: (try? JSONEncoder.wire.encode(body)) ?? Data("{}".utf8))
        let headers = HTTPHeaders(
            [("Connection", "close"), ("Content-Type", "application/json"), ("Content-Length", String(buffer.readableBytes))]
                + extra)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
