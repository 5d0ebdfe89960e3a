import Testing
import TelehubCore

@Suite struct DeviceConnectionStateTests {
    @Test func repliesSubmitsAndClosesAfterTooManyErrors() {
        var connection = DeviceConnectionState(device: "d", limits: .init(), errorLimit: ErrorWindow(maxErrors: 2, windowMs: 1000))
        #expect(connection.receive(#"{"type":"ping","id":1}"#, now: 1) == [.reply(.pong(id: .integer(1)))])
        if case .submit(let message) = connection.receive(#"{"type":"reading","seq":1,"metrics":{"a":1}}"#, now: 1_732_200_000_000).first {
            #expect(message.seq == 1)
        } else {
            Issue.record("expected a submit")
        }
        #expect(connection.receive("x", now: 10).count == 1)
        #expect(connection.receive("x", now: 20).count == 1)
        #expect(connection.receive("x", now: 30).last == .closeForErrors)
        // A new window forgives earlier errors.
        #expect(connection.receive("x", now: 5000).count == 1)
    }
}
