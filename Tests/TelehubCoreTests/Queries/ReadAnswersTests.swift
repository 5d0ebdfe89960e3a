import Foundation
import Testing
import TelehubCore

@Suite struct SmallAnswerTests {
    @Test func theContractsSmallBodies() throws {
        func json(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoder.wire.encode(value), as: UTF8.self) }
        #expect(try json(HealthAnswer.ok) == #"{"status":"ok"}"#)
        #expect(try json(HealthAnswer.unavailable("disk full")) == #"{"reason":"disk full","status":"unavailable"}"#)
        #expect(try json(HTTPIngestAck(ack: 1236)) == #"{"ack":1236}"#)
        #expect(try json(HTTPIngestAck(ack: nil)) == #"{"ack":null}"#)
        #expect(try json(APIErrorAnswer(error: "not_found", message: nil)) == #"{"error":"not_found"}"#)
        #expect(try json(SessionState(authenticated: false)) == #"{"authenticated":false}"#)
        #expect(try json(PresenceEvent(device: "d", online: true, ts: 5)) == #"{"device":"d","online":true,"ts":5}"#)
    }
}
