import NIOCore
import NIOWebSocket

/// The frame layer of a device connection (RFC 6455 section 5), without a
/// socket: control frames, messages in fragments, permessage-deflate, the
/// size limit and UTF-8. The connection feeds it every decoded frame and acts on
/// what it returns; tests drive it with frames.
///
/// The frame decoder before it has already refused frames over the limit and
/// malformed control frames (closing with 1009 or 1002).
struct WebSocketMessageAssembler {
    enum Outcome: Equatable {
        /// A fragment, kept until its message is whole.
        case partial
        case text(String)
        /// A whole binary message: the contract takes JSON text only (close 1003).
        case binary
        /// A message over the limit once inflated or put together (close 1009).
        case tooLarge
        case ping(ByteBuffer)
        case pong
        /// The device's close frame, with its payload.
        case close(ByteBuffer)
        /// A broken rule of the protocol: close with this code.
        case fail(WebSocketErrorCode)
    }

    let maxMessageBytes: Int
    /// Set when permessage-deflate was negotiated.
    private let inflater: PerMessageInflate?
    /// The message being put together, and whether it is binary.
    private var message: ByteBuffer?
    private var messageIsBinary = false

    init(maxMessageBytes: Int, inflater: PerMessageInflate?) {
        self.maxMessageBytes = maxMessageBytes
        self.inflater = inflater
    }

    mutating func receive(_ frame: WebSocketFrame) -> Outcome {
        switch frame.opcode {
        case .ping, .pong, .connectionClose:
            guard frame.reservedBits.isEmpty else { return .fail(.protocolError) }
            return control(frame)
        case .text, .binary:
            guard message == nil else { return .fail(.protocolError) }  // a new message inside another
            messageIsBinary = frame.opcode == .binary
            return data(frame, first: true)
        case .continuation:
            guard message != nil else { return .fail(.protocolError) }
            return data(frame, first: false)
        default:
            return .fail(.protocolError)  // reserved opcodes
        }
    }

    private func control(_ frame: WebSocketFrame) -> Outcome {
        switch frame.opcode {
        case .ping: .ping(frame.unmaskedData)
        case .pong: .pong
        default: .close(frame.unmaskedData)
        }
    }

    private mutating func data(_ frame: WebSocketFrame, first: Bool) -> Outcome {
        var frame = frame
        if let inflater {
            guard !frame.rsv2, !frame.rsv3 else { return .fail(.protocolError) }
            do {
                frame = try inflater.receive(frame)
            } catch NIOWebSocketError.invalidFrameLength {
                message = nil
                return .tooLarge
            } catch {
                return .fail(.protocolError)
            }
        } else if !frame.reservedBits.isEmpty {
            return .fail(.protocolError)
        }
        var data = frame.unmaskedData
        if first, frame.fin { return whole(data) }  // the usual case: one frame, no copy
        var collected = message ?? ByteBuffer()
        guard collected.readableBytes + data.readableBytes <= maxMessageBytes else {
            message = nil
            return .tooLarge
        }
        collected.writeBuffer(&data)
        guard frame.fin else {
            message = collected
            return .partial
        }
        message = nil
        return whole(collected)
    }

    private func whole(_ data: ByteBuffer) -> Outcome {
        guard data.readableBytes <= maxMessageBytes else { return .tooLarge }
        if messageIsBinary { return .binary }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            return .fail(.dataInconsistentWithMessage)  // 1007
        }
        return .text(text)
    }

    /// The code of the close frame that answers the device's close (RFC 6455
    /// section 7.4): 1000 for a valid one, 1002 for a malformed one.
    static func answer(toClose payload: ByteBuffer) -> WebSocketErrorCode {
        var payload = payload
        guard payload.readableBytes != 0 else { return .normalClosure }
        guard let code = payload.readWebSocketErrorCode() else { return .protocolError }
        if payload.readableBytes > 0, String(validating: payload.readableBytesView, as: UTF8.self) == nil {
            return .protocolError
        }
        if case .unknown(let number) = code, number < 3000 || number > 4999 { return .protocolError }
        return .normalClosure
    }
}
