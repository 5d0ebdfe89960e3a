import Testing
import TelehubCore

@Suite struct SpanTests {
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
