import CompressNIO
import HummingbirdWSCompression
import NIOWebSocket
import WSCore

/// permessage-deflate from the WebSocket library, with one change: a message
/// that inflates past the size limit closes the connection with 1009 (message
/// too big), as an oversized uncompressed message does, instead of the 1011
/// (server error) the library reports for any failing extension.
struct DeflateSizeGuardBuilder: WebSocketExtensionBuilder {
    static var name: String { "permessage-deflate" }
    let base: any WebSocketExtensionBuilder

    static func factory(wrapping deflate: WebSocketExtensionFactory) -> WebSocketExtensionFactory {
        WebSocketExtensionFactory { DeflateSizeGuardBuilder(base: deflate.build()) }
    }

    func clientRequestHeader() -> String { base.clientRequestHeader() }

    func serverReponseHeader(to request: WebSocketExtensionHTTPParameters) -> String? {
        base.serverReponseHeader(to: request)
    }

    func serverExtension(from request: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? {
        try base.serverExtension(from: request).map(DeflateSizeGuard.init)
    }

    func clientExtension(from response: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? {
        try base.clientExtension(from: response).map(DeflateSizeGuard.init)
    }
}

struct DeflateSizeGuard: WebSocketExtension {
    let base: any WebSocketExtension

    var name: String { base.name }
    var reservedBits: WebSocketFrame.ReservedBits { base.reservedBits }

    func processReceivedFrame(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame {
        do {
            return try await base.processReceivedFrame(frame, context: context)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw NIOWebSocketError.invalidFrameLength  // the library closes with 1009 for this
        }
    }

    func processFrameToSend(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame {
        try await base.processFrameToSend(frame, context: context)
    }

    func shutdown() async {
        await base.shutdown()
    }
}
