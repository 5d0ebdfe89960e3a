import CompressNIO
import NIOCore
import NIOWebSocket
import HTTPTypes
import WSCore

/// What a client's permessage-deflate offer settles, by RFC 7692 section 7.
/// A plain value, so the negotiation is tested without a socket.
struct InflateNegotiation: Equatable, Sendable {
    /// The window the client compresses with, which the inflater must match.
    var clientWindowBits: Int
    /// The client starts every message with a fresh window.
    var clientNoContextTakeover: Bool
    var responseHeader: String

    /// Nil declines the offer: a window outside 8–15 or an unknown parameter
    /// is not an offer the hub can accept (section 7: decline, do not fail).
    /// - Parameter offer: each parameter and its value, nil for a bare one.
    init?(offer: [String: String?], windowBits: Int) {
        let known: Set<String> = [
            "client_max_window_bits", "client_no_context_takeover", "server_max_window_bits", "server_no_context_takeover",
        ]
        guard offer.keys.allSatisfy(known.contains) else { return nil }
        var header = "permessage-deflate"
        clientWindowBits = 15
        if let client = offer["client_max_window_bits"] {
            // Bare: the client lets the server choose.
            guard let bits = Self.bits(client ?? String(windowBits)) else { return nil }
            clientWindowBits = min(bits, windowBits)
            header += ";client_max_window_bits=\(clientWindowBits)"
        }
        clientNoContextTakeover = offer["client_no_context_takeover"] != nil
        if clientNoContextTakeover { header += ";client_no_context_takeover" }
        var serverBits = windowBits
        if let server = offer["server_max_window_bits"] {
            guard let value = server, let bits = Self.bits(value) else { return nil }
            serverBits = min(bits, windowBits)
        }
        // The hub sends nothing compressed, so any window and either context
        // rule holds; saying them keeps clients that expect an answer content.
        header += ";server_max_window_bits=\(serverBits)"
        if offer["server_no_context_takeover"] != nil { header += ";server_no_context_takeover" }
        responseHeader = header
    }

    /// The first permessage-deflate offer of a `Sec-WebSocket-Extensions`
    /// request header this hub accepts, or nil.
    init?(requestHeaders values: [String], windowBits: Int) {
        var fields = HTTPFields()
        // Offers are separated by commas, in one header or several (RFC 7692 section 5).
        for offer in values.flatMap({ $0.split(separator: ",") }) {
            fields.append(HTTPField(name: .secWebSocketExtensions, value: String(offer)))
        }
        let offers = WebSocketExtensionHTTPParameters.parseHeaders(fields).filter { $0.name == "permessage-deflate" }
        for offer in offers {
            if let settled = InflateNegotiation(offer: offer.parameters.mapValues(\.optional), windowBits: windowBits) {
                self = settled
                return
            }
        }
        return nil
    }

    private static func bits(_ text: String) -> Int? {
        guard text.count <= 2, let bits = Int(text), (8...15).contains(bits) else { return nil }
        return bits
    }
}

/// permessage-deflate (RFC 7692) for the device socket, receiving side only.
///
/// The WebSocket library's extension builds a compressor and a decompressor
/// for every connection when it opens: 27 KiB of zlib state an idle device
/// holds for nothing (`telehub bench --ingest --sections idle`, BENCHMARKS.md).
/// The hub's own messages are acks of about 20 bytes, which compression does
/// not make meaningfully smaller, and RFC 7692 lets an endpoint send any
/// message uncompressed; so the hub never compresses, and inflates with state
/// made at the first compressed message. A client that offers
/// `client_no_context_takeover` starts every message afresh, so its state is
/// released at the end of each message.
///
/// A message that inflates past the size limit closes the connection with
/// 1009 (message too big), as an oversized uncompressed message does.
///
/// One connection's inflater, used on the connection's event loop only.
final class PerMessageInflate {
    private enum Phase { case idle, plain, compressed }
    private struct State: ~Copyable {
        var phase = Phase.idle
        var inflater: ZlibDecompressor?
    }

    let negotiation: InflateNegotiation
    let maxMessageBytes: Int
    private var state = State()

    init(negotiation: InflateNegotiation, maxMessageBytes: Int) {
        self.negotiation = negotiation
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether zlib state is held now (for tests: released between messages
    /// when the client offered `client_no_context_takeover`).
    var holdsInflater: Bool { state.inflater != nil }

    /// One received frame, inflated when its message is compressed.
    func receive(_ frame: WebSocketFrame) throws -> WebSocketFrame {
        try inflate(frame, &state)
    }

    private func inflate(_ frame: WebSocketFrame, _ state: inout State) throws -> WebSocketFrame {
        if state.phase == .idle {
            state.phase = frame.rsv1 ? .compressed : .plain
        } else if frame.rsv1 {
            // RSV1 marks a message's first frame only; the library answers this error with 1002.
            throw NIOWebSocketError.fragmentedControlFrame
        }
        guard state.phase == .compressed else {
            if frame.fin { state.phase = .idle }
            return frame
        }
        let inflater = try state.inflater ?? ZlibDecompressor(algorithm: .deflate, windowSize: Int32(max(9, negotiation.clientWindowBits)))
        state.inflater = inflater
        var data = frame.unmaskedData
        if frame.fin {
            // The sender drops the final empty block's 00 00 ff ff (section 7.2.1).
            data.writeBytes([0, 0, 0xff, 0xff])
            state.phase = .idle
        }
        var result = frame
        do {
            result.data = try data.decompressStream(with: inflater, maxSize: maxMessageBytes, allocator: ByteBufferAllocator())
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw NIOWebSocketError.invalidFrameLength  // the library closes with 1009 for this
        }
        result.maskKey = nil
        result.rsv1 = false
        if frame.fin, negotiation.clientNoContextTakeover { state.inflater = nil }
        return result
    }
}
