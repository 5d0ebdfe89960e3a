import NIOCore

/// Just enough of RFC 6455 for a load generator: client text frames built
/// once, before the clock starts, and the server's frames split out of the
/// byte stream. A generator written for speed, not a WebSocket library: the
/// hub's side of the protocol is what is measured.
enum WebSocketFrames {
    /// A final text frame, masked with the all-zero key (legal, and the
    /// payload goes out as it is); `compressed` sets RSV1 for permessage-deflate.
    static func clientText(_ payload: ByteBuffer, compressed: Bool) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(payload.readableBytes + 14)
        frame.writeInteger(UInt8(compressed ? 0xC1 : 0x81))
        let length = payload.readableBytes
        if length < 126 {
            frame.writeInteger(UInt8(0x80 | length))
        } else if length <= 0xFFFF {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeInteger(UInt32(0))
        var payload = payload
        frame.writeBuffer(&payload)
        return frame
    }

    /// A masked close frame with code 1000.
    static let clientClose: ByteBuffer = {
        var frame = ByteBuffer()
        frame.writeBytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8])
        return frame
    }()

    /// A masked pong answering a ping's payload.
    static func clientPong(_ payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.writeInteger(UInt8(0x8A))
        frame.writeInteger(UInt8(0x80 | min(payload.readableBytes, 125)))
        frame.writeInteger(UInt32(0))
        frame.writeBytes(payload.readableBytesView.prefix(125))
        return frame
    }

    struct ServerFrame {
        var opcode: UInt8
        /// RSV1: the payload is permessage-deflate compressed.
        var compressed: Bool
        var payload: ByteBuffer
    }

    /// The next whole frame at the front of `buffer`, consumed, or nil until
    /// more bytes arrive. Server frames are never masked.
    static func nextServerFrame(_ buffer: inout ByteBuffer) -> ServerFrame? {
        let view = buffer.readableBytesView
        guard view.count >= 2 else { return nil }
        let first = view[view.startIndex]
        var length = Int(view[view.startIndex + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard view.count >= 4, let long = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else { return nil }
            length = Int(long)
            header = 4
        } else if length == 127 {
            guard view.count >= 10, let long = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self) else { return nil }
            length = Int(truncatingIfNeeded: long)
            header = 10
        }
        guard view.count >= header + length else { return nil }
        buffer.moveReaderIndex(forwardBy: header)
        guard let payload = buffer.readSlice(length: length) else { return nil }
        return ServerFrame(opcode: first & 0x0F, compressed: first & 0x40 != 0, payload: payload)
    }
}
