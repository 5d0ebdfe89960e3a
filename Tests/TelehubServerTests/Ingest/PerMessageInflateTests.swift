import CompressNIO
import NIOCore
import NIOWebSocket
import Testing
@testable import TelehubServer

@Suite struct PerMessageInflateTests {
    // MARK: negotiation (RFC 7692 section 7)

    @Test func bareOfferGetsTheServerWindowsAndNoContextRules() throws {
        let settled = try #require(InflateNegotiation(offer: [:], windowBits: 10))
        #expect(settled.clientWindowBits == 15)  // unsaid: the client may use the protocol's 15
        #expect(!settled.clientNoContextTakeover)
        #expect(settled.responseHeader == "permessage-deflate;server_max_window_bits=10")
    }

    @Test func clientWindowIsTheSmallerOfBothAndBareMeansOurs() throws {
        let bare = try #require(InflateNegotiation(offer: ["client_max_window_bits": String?.none], windowBits: 10))
        #expect(bare.clientWindowBits == 10)
        #expect(bare.responseHeader == "permessage-deflate;client_max_window_bits=10;server_max_window_bits=10")
        let smaller = try #require(InflateNegotiation(offer: ["client_max_window_bits": "9"], windowBits: 12))
        #expect(smaller.clientWindowBits == 9)
        let larger = try #require(InflateNegotiation(offer: ["client_max_window_bits": "15"], windowBits: 12))
        #expect(larger.clientWindowBits == 12)
    }

    @Test func contextRulesAreEchoed() throws {
        let settled = try #require(InflateNegotiation(
            offer: ["client_no_context_takeover": String?.none, "server_no_context_takeover": String?.none, "server_max_window_bits": "9"],
            windowBits: 10))
        #expect(settled.clientNoContextTakeover)
        #expect(settled.responseHeader == "permessage-deflate;client_no_context_takeover;server_max_window_bits=9;server_no_context_takeover")
    }

    @Test func offerIsReadFromTheRequestHeader() throws {
        let settled = try #require(InflateNegotiation(
            requestHeaders: ["x-webkit-deflate-frame", "permessage-deflate; client_max_window_bits=16, permessage-deflate; client_no_context_takeover"],
            windowBits: 10))
        #expect(settled.clientNoContextTakeover)  // the first offer was invalid and declined
        #expect(InflateNegotiation(requestHeaders: ["x-webkit-deflate-frame"], windowBits: 10) == nil)
        #expect(InflateNegotiation(requestHeaders: [], windowBits: 10) == nil)
    }

    @Test(arguments: [
        ["client_max_window_bits": "7"], ["client_max_window_bits": "16"], ["client_max_window_bits": "ten"],
        ["server_max_window_bits": String?.none], ["server_max_window_bits": "0015"], ["mystery": String?.none],
    ] as [[String: String?]])
    func invalidOffersAreDeclined(offer: [String: String?]) {
        #expect(InflateNegotiation(offer: offer, windowBits: 10) == nil)
    }

    // MARK: inflating

    /// A message compressed as a client does it: raw deflate, sync flush,
    /// the trailing 00 00 ff ff dropped.
    private func deflated(_ text: String, compressor: ZlibCompressor) throws -> ByteBuffer {
        var input = ByteBuffer(string: text)
        let output = try input.compressStream(with: compressor, flush: .sync, allocator: ByteBufferAllocator())
        return output.getSlice(at: output.readerIndex, length: output.readableBytes - 4)!
    }

    private func frame(_ data: ByteBuffer, fin: Bool = true, rsv1: Bool = true, opcode: WebSocketOpcode = .text) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: data)
    }

    private func inflater(_ offer: [String: String?], maxBytes: Int = 1 << 16) throws -> PerMessageInflate {
        PerMessageInflate(negotiation: try #require(InflateNegotiation(offer: offer, windowBits: 10)), maxMessageBytes: maxBytes)
    }

    @Test func contextTakeoverKeepsStateAcrossMessages() throws {
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 10))
        let inflate = try inflater(["client_max_window_bits": String?.none])
        #expect(!inflate.holdsInflater)  // nothing until the first compressed message
        let first = #"{"type":"reading","seq":1,"ts":1,"metrics":{"t":21.5}}"#
        let second = #"{"type":"reading","seq":2,"ts":2,"metrics":{"t":21.5}}"#  // leans on the first's window
        var out = try inflate.receive(frame(deflated(first, compressor: compressor)))
        #expect(String(buffer: out.data) == first)
        #expect(!out.rsv1)
        #expect(inflate.holdsInflater)
        out = try inflate.receive(frame(deflated(second, compressor: compressor)))
        #expect(String(buffer: out.data) == second)
    }

    @Test func noContextTakeoverReleasesStateAfterEachMessage() throws {
        let inflate = try inflater(["client_no_context_takeover": String?.none])
        for seq in 1...3 {
            let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 15))
            let text = String(repeating: "{\"seq\":\(seq)}", count: 50)
            let out = try inflate.receive(frame(deflated(text, compressor: compressor)))
            #expect(String(buffer: out.data) == text)
            #expect(!inflate.holdsInflater)
        }
    }

    @Test func fragmentedMessageInflatesAcrossFrames() throws {
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 10))
        let inflate = try inflater([:])
        let text = String(repeating: "abcdefgh", count: 100)
        let whole = try deflated(text, compressor: compressor)
        let half = whole.readableBytes / 2
        let head = try inflate.receive(
            frame(whole.getSlice(at: whole.readerIndex, length: half)!, fin: false))
        let tail = try inflate.receive(
            frame(whole.getSlice(at: whole.readerIndex + half, length: whole.readableBytes - half)!, rsv1: false, opcode: .continuation))
        #expect(String(buffer: head.data) + String(buffer: tail.data) == text)
    }

    @Test func uncompressedMessagesPassUntouched() throws {
        let inflate = try inflater([:])
        let out = try inflate.receive(frame(ByteBuffer(string: "plain"), rsv1: false))
        #expect(String(buffer: out.data) == "plain")
        #expect(!inflate.holdsInflater)
    }

    @Test func inflatingPastTheLimitIsMessageTooBig() throws {
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 10))
        let inflate = try inflater([:], maxBytes: 1000)
        let bomb = try deflated(String(repeating: "0", count: 100_000), compressor: compressor)
        #expect(bomb.readableBytes < 1000)
        #expect(throws: NIOWebSocketError.invalidFrameLength) {
            try inflate.receive(frame(bomb))
        }
    }

    @Test func rsv1OnAContinuationIsAProtocolError() throws {
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: .init(windowSize: 10))
        let inflate = try inflater([:])
        _ = try inflate.receive(frame(deflated("part", compressor: compressor), fin: false))
        #expect(throws: NIOWebSocketError.fragmentedControlFrame) {
            try inflate.receive(frame(ByteBuffer(string: "x"), opcode: .continuation))
        }
    }
}
