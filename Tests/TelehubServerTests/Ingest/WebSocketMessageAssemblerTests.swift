import CompressNIO
import NIOCore
import NIOWebSocket
import Testing
@testable import TelehubServer

@Suite struct WebSocketMessageAssemblerTests {
    private func assembler(maxBytes: Int = 64, deflate: Bool = false) -> WebSocketMessageAssembler {
        let inflater = deflate
            ? PerMessageInflate(negotiation: InflateNegotiation(offer: [:], windowBits: 15)!, maxMessageBytes: maxBytes) : nil
        return WebSocketMessageAssembler(maxMessageBytes: maxBytes, inflater: inflater)
    }

    private func frame(_ text: String, _ opcode: WebSocketOpcode = .text, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(string: text))
    }

    @Test func aWholeTextFrameIsAMessage() {
        var frames = assembler()
        #expect(frames.receive(frame(#"{"type":"ping","id":1}"#)) == .text(#"{"type":"ping","id":1}"#))
    }

    @Test func fragmentsArePutTogether() {
        var frames = assembler()
        #expect(frames.receive(frame("{\"a\":", fin: false)) == .partial)
        #expect(frames.receive(frame("1", .continuation, fin: false)) == .partial)
        #expect(frames.receive(frame("}", .continuation)) == .text("{\"a\":1}"))
        // and the next message starts afresh
        #expect(frames.receive(frame("x")) == .text("x"))
    }

    @Test func controlFramesMayComeBetweenFragments() {
        var frames = assembler()
        #expect(frames.receive(frame("ab", fin: false)) == .partial)
        #expect(frames.receive(frame("p", .ping)) == .ping(ByteBuffer(string: "p")))
        #expect(frames.receive(frame("", .pong)) == .pong)
        #expect(frames.receive(frame("c", .continuation)) == .text("abc"))
    }

    @Test func outOfOrderFragmentsBreakTheProtocol() {
        var frames = assembler()
        #expect(frames.receive(frame("c", .continuation)) == .fail(.protocolError))
        var open = assembler()
        _ = open.receive(frame("a", fin: false))
        #expect(open.receive(frame("b")) == .fail(.protocolError))
    }

    @Test func messagesOverTheLimitAreTooLarge() {
        var frames = assembler(maxBytes: 8)
        #expect(frames.receive(frame(String(repeating: "x", count: 9))) == .tooLarge)
        #expect(frames.receive(frame("12345", fin: false)) == .partial)
        #expect(frames.receive(frame("6789", .continuation)) == .tooLarge)
    }

    @Test func binaryAndInvalidUTF8AreNamed() {
        var frames = assembler()
        #expect(frames.receive(frame("{}", .binary)) == .binary)
        let invalid = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7b, 0xff, 0x7d]))
        #expect(frames.receive(invalid) == .fail(.dataInconsistentWithMessage))
    }

    @Test func reservedBitsAndOpcodesBreakTheProtocol() {
        var frames = assembler()
        #expect(frames.receive(frame("x", rsv1: true)) == .fail(.protocolError))  // no extension negotiated
        #expect(frames.receive(WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 3)!, data: ByteBuffer())) == .fail(.protocolError))
        #expect(frames.receive(frame("p", .ping, rsv1: true)) == .fail(.protocolError))
    }

    @Test func compressedMessagesAreInflated() throws {
        var frames = assembler(maxBytes: 1000, deflate: true)
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 15))
        var input = ByteBuffer(string: #"{"type":"reading","seq":1,"metrics":{"t":1}}"#)
        let output = try input.compressStream(with: compressor, flush: .sync, allocator: ByteBufferAllocator())
        let data = output.getSlice(at: output.readerIndex, length: output.readableBytes - 4)!
        #expect(frames.receive(WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: data))
            == .text(#"{"type":"reading","seq":1,"metrics":{"t":1}}"#))
        #expect(frames.receive(frame("plain")) == .text("plain"))
    }

    @Test(arguments: [
        ([], WebSocketErrorCode.normalClosure),
        ([0x03, 0xe8], .normalClosure),  // 1000
        ([0x0f, 0xa0], .normalClosure),  // 4000, private use
        ([0x03], .protocolError),  // one byte is no code
        ([0x03, 0xe7], .protocolError),  // 999
        ([0x03, 0xe8, 0xff], .protocolError),  // reason not UTF-8
    ] as [([UInt8], WebSocketErrorCode)])
    func closeIsAnsweredByItsValidity(payload: [UInt8], answer: WebSocketErrorCode) {
        #expect(WebSocketMessageAssembler.answer(toClose: ByteBuffer(bytes: payload)) == answer)
    }
}
