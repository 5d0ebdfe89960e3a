import Foundation
import Testing
import TelehubCore

@Suite struct ServerMessageTests {
    /// The contract's own examples, read and written back byte for byte (keys sorted).
    @Test(arguments: [
        #"{"device":"greenhouse-1","heartbeatSeconds":20,"lastSeq":1234,"maxBatch":1000,"maxMessageBytes":1048576,"type":"hello"}"#,
        #"{"seq":1236,"type":"ack"}"#,
        #"{"code":"rate_limited","message":"over 1000 readings/s","retryAfterMs":400,"retryable":true,"seq":1238,"type":"error"}"#,
        #"{"code":"invalid_json","message":"message is not valid JSON","retryable":false,"type":"error"}"#,
        #"{"id":"any","type":"pong"}"#,
        #"{"id":7,"type":"pong"}"#,
        #"{"id":2.5,"type":"pong"}"#,
        #"{"type":"pong"}"#,
    ])
    func readsAndWritesTheContractsMessages(_ json: String) throws {
        let message = try #require(ServerMessage(json: json))
        #expect(message.json == json)
    }

    /// Acks are written by hand for speed: byte for byte what the encoder writes.
    @Test(arguments: [Int64(1), 9, 10, 1236, 9_007_199_254_740_991])
    func handWrittenAcksAreTheEncodersText(_ seq: Int64) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoded = String(decoding: try encoder.encode(ServerMessage.ack(seq: seq)), as: UTF8.self)
        #expect(ServerMessage.ack(seq: seq).json == encoded)
    }

    @Test func readsWhatTheHubMeans() throws {
        let hello = ServerMessage(json: #"{"type":"hello","device":"d","lastSeq":9,"maxBatch":500,"maxMessageBytes":1024,"heartbeatSeconds":5}"#)
        guard case .hello(let fields)? = hello else { Issue.record("not a hello: \(String(describing: hello))"); return }
        #expect(fields.lastSeq == 9 && fields.maxBatch == 500 && fields.heartbeatSeconds == 5)
        let error = ServerMessage(json: #"{"type":"error","seq":3,"code":"overloaded","message":"busy","retryable":true}"#)
        guard case .error(let body)? = error else { Issue.record("not an error: \(String(describing: error))"); return }
        #expect(body.seq == 3 && body.retryable && body.retryAfterMs == nil && body.code == "overloaded")
    }

    @Test func readsCommandsAndDesiredStateAsTheHubWritesThem() throws {
        let record = CommandRecord(
            id: "cmd_9", device: "d", name: "set-interval", args: .object(["seconds": .number(5)]), status: .queued,
            priority: 5, createdAt: 1, expiresAt: 86_400_001)
        let command = CommandMessage(record)
        #expect(ServerMessage(json: command.json) == .command(command))
        let desired = DesiredMessage(VersionedState(version: 9, state: .object(["interval": .number(5)])))
        #expect(ServerMessage(json: desired.json) == .desired(desired))
        #expect(ServerMessage(json: ServerMessage.desired(desired).json) == .desired(desired))
    }

    @Test(arguments: [
        "", "[]", "null", #"{"type":"welcome"}"#, #"{"type":"ack"}"#, #"{"type":"ack","seq":"1"}"#,
        #"{"type":"hello","device":"d"}"#, #"{"seq":1}"#,
    ])
    func refusesWhatIsNotAHubMessage(_ json: String) {
        #expect(ServerMessage(json: json) == nil)
    }

    @Test func anErrorCarriesItsRejection() {
        let rejection = IngestRejection(.rateLimited, "slow down", seq: 4, retryAfterMs: 250)
        let body = ErrorBody(rejection)
        #expect(body.code == "rate_limited" && body.retryable && body.seq == 4 && body.retryAfterMs == 250)
        #expect(!ErrorBody(IngestRejection(.invalidName, "bad")).retryable)
    }
}
