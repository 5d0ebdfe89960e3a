import Testing
import TelehubCore

@Suite struct TokenTests {
    @Test func tokensCarryTheirKindAndEnoughEntropy() {
        let device = TokenSecret.generate(.device)
        let read = TokenSecret.generate(.read)
        #expect(device.value.hasPrefix("thd_"))
        #expect(read.value.hasPrefix("thr_"))
        #expect(TokenKind(token: device.value) == .device)
        #expect(TokenKind(token: read.value) == .read)
        #expect(TokenKind(token: "abc") == nil)
        // 32 random bytes as base64url: 43 characters, 256 bits.
        #expect(device.value.count == 4 + 43)
        let unique = Set((0..<200).map { _ in TokenSecret.generate(.device).value })
        #expect(unique.count == 200)
    }

    @Test func hashIsSHA256() {
        // SHA-256("abc") from FIPS 180-2.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        let hex = Crypto.sha256("abc".utf8).map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == expected)
        let token = TokenSecret.generate(.read)
        #expect(token.hash == TokenSecret.hash(token.value))
        #expect(token.hash.count == 32)
    }

    @Test func constantTimeComparison() {
        let a = Crypto.sha256("one".utf8)
        #expect(Crypto.constantTimeEquals(a, Crypto.sha256("one".utf8)))
        #expect(!Crypto.constantTimeEquals(a, Crypto.sha256("two".utf8)))
        #expect(!Crypto.constantTimeEquals(a, Array(a.prefix(31))))
    }

    @Test func spans() {
        #expect(SpanParser.milliseconds("90s") == 90_000)
        #expect(SpanParser.milliseconds("15m") == 900_000)
        #expect(SpanParser.milliseconds("12h") == 43_200_000)
        #expect(SpanParser.milliseconds("30d") == 2_592_000_000)
        #expect(SpanParser.milliseconds("30") == nil)
        #expect(SpanParser.milliseconds("-1d") == nil)
        #expect(SpanParser.milliseconds("d") == nil)
    }
}

@Suite struct NameRulesTests {
    @Test(arguments: ["greenhouse-1", "a", "Pi.4_b", "0x", String(repeating: "x", count: 64)])
    func validDeviceNames(name: String) { #expect(NameRules.isValidDeviceName(name)) }

    @Test(arguments: ["", "-a", ".a", "a b", "ä", "a/b", String(repeating: "x", count: 65)])
    func invalidDeviceNames(name: String) { #expect(!NameRules.isValidDeviceName(name)) }

    @Test(arguments: ["temperature", "_x", "rssi.dbm", "a-b", "A9"])
    func validMetricNames(name: String) { #expect(NameRules.isValidMetricName(name)) }

    @Test(arguments: ["", "9a", "-a", ".a", "a b", "é", String(repeating: "m", count: 65)])
    func invalidMetricNames(name: String) { #expect(!NameRules.isValidMetricName(name)) }
}

@Suite struct DeviceSessionStateTests {
    @Test func repliesSubmitsAndClosesAfterTooManyErrors() {
        var session = DeviceSessionState(device: "d", limits: .init(), errorLimit: ErrorWindow(maxErrors: 2, windowMs: 1000))
        #expect(session.receive(#"{"type":"ping","id":1}"#, now: 1) == [.reply(.pong(id: .integer(1)))])
        if case .submit(let message) = session.receive(#"{"type":"reading","seq":1,"metrics":{"a":1}}"#, now: 1_732_200_000_000).first {
            #expect(message.seq == 1)
        } else {
            Issue.record("expected a submit")
        }
        #expect(session.receive("x", now: 10).count == 1)
        #expect(session.receive("x", now: 20).count == 1)
        #expect(session.receive("x", now: 30).last == .closeForErrors)
        // A new window forgives earlier errors.
        #expect(session.receive("x", now: 5000).count == 1)
    }
}
