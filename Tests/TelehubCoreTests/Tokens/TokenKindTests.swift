import Testing
import TelehubCore

@Suite struct TokenKindTests {
    @Test func thePrefixTellsTheKind() {
        #expect(TokenKind(token: "thd_x") == .device)
        #expect(TokenKind(token: "thr_x") == .read)
        #expect(TokenKind(token: "thc_x") == .control)
        #expect(TokenKind(token: "ths_x") == nil)  // a session id is no token
        #expect(TokenKind(token: "THC_x") == nil)
        for kind in TokenKind.allCases { #expect(TokenKind(token: kind.prefix + "abc") == kind) }
    }

    /// read < control; device tokens ingest and do nothing else; nothing else ingests.
    @Test func controlGrantsReadAndNothingElseCrosses() {
        let granted = TokenKind.allCases.flatMap { held in TokenKind.allCases.filter(held.grants).map { "\(held)>\($0)" } }
        #expect(Set(granted) == ["device>device", "read>read", "control>read", "control>control"])
    }
}
