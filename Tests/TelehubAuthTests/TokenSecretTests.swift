import Testing
import TelehubAuth
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
}

@Suite struct SessionCSRFTests {
    /// The CSRF value is the session's own, fixed for its life, different
    /// for another session, and never the session id itself.
    @Test func eachSessionHasItsOwnStableValue() throws {
        let one = SessionSecret.generate().value
        let other = SessionSecret.generate().value
        let value = try #require(SessionSecret.csrf(one))
        #expect(value.hasPrefix("thx_"))
        #expect(SessionSecret.csrf(one) == value)
        #expect(SessionSecret.csrf(other) != value)
        #expect(!value.contains(String(one.dropFirst(4))))
        #expect(SessionSecret.csrf("thr_notasession") == nil)
        #expect(SessionSecret.csrf("ths_" + String(repeating: "a", count: 100)) == nil)
    }
}
