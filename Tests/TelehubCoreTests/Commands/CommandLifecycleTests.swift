import Testing
import TelehubCore

@Suite struct CommandLifecycleTests {
    /// Every (event, status) pair, against the contract's diagram.
    @Test func everyTransitionIsTheContractOne() {
        let events: [CommandLifecycle.Event] = [.send, .ack, .result(succeeded: true), .result(succeeded: false), .expire, .cancel]
        var moves: [String] = []
        for event in events {
            for status in CommandStatus.allCases {
                if case .moves(let next) = CommandLifecycle.apply(event, to: status) { moves.append("\(event) \(status)>\(next)") }
            }
        }
        #expect(Set(moves) == [
            "send queued>sent", "send sent>sent",
            "ack sent>delivered",
            "result(succeeded: true) sent>succeeded", "result(succeeded: true) delivered>succeeded",
            "result(succeeded: false) sent>failed", "result(succeeded: false) delivered>failed",
            "expire queued>expired", "expire sent>expired", "expire delivered>expired",
            "cancel queued>canceled", "cancel sent>canceled", "cancel delivered>canceled",
        ])
    }

    @Test func aFinalCommandNeverMovesAndACancelOfOneIsTold() {
        for status in CommandStatus.allCases where status.isFinal {
            for event: CommandLifecycle.Event in [.send, .ack, .result(succeeded: true), .expire] {
                #expect(CommandLifecycle.apply(event, to: status) == .ignored)
            }
            #expect(CommandLifecycle.apply(.cancel, to: status) == .final)
        }
    }

    /// Repeats and events that come too early change nothing and say nothing.
    @Test func repeatsAndEarlyEventsAreIgnored() {
        #expect(CommandLifecycle.apply(.ack, to: .delivered) == .ignored)
        #expect(CommandLifecycle.apply(.ack, to: .queued) == .ignored)  // never sent: an ack is a confusion
        #expect(CommandLifecycle.apply(.result(succeeded: true), to: .queued) == .ignored)
        #expect(CommandLifecycle.apply(.send, to: .delivered) == .ignored)  // delivered is never sent again
    }

    @Test func movesFromListsExactlyTheStatusesThatMove() {
        #expect(CommandLifecycle.movesFrom(.ack) == [.sent])
        #expect(CommandLifecycle.movesFrom(.result(succeeded: false)) == [.sent, .delivered])
        #expect(CommandLifecycle.movesFrom(.cancel) == CommandStatus.open)
        #expect(CommandStatus.open == [.queued, .sent, .delivered])
    }
}

@Suite struct CommandRequestTests {
    private func parse(_ text: String) throws(CommandRequestError) -> CommandRequest {
        let body: JSONValue
        do { body = try JSONValue.parse(text) } catch { throw .invalid("not JSON") }
        return try CommandRequest.parse(body)
    }

    @Test func defaultsAreTheContractOnes() throws {
        let request = try parse(#"{"name":"reboot"}"#)
        #expect(request == CommandRequest(name: "reboot", args: .object([:]), ttlMs: 86_400_000, priority: 5))
        let full = try parse(#"{"name":"set-interval","args":{"seconds":5},"ttl":3600000,"priority":9}"#)
        #expect(full.args == .object(["seconds": .number(5)]) && full.ttlMs == 3_600_000 && full.priority == 9)
    }

    @Test func eachBoundNamesItsField() {
        let cases: [(String, String)] = [
            (#"[]"#, "body"),
            (#"{}"#, "name:"),
            (#"{"name":"9lives"}"#, "name:"),
            (#"{"name":"x","args":[1]}"#, "args:"),
            (#"{"name":"x","args":{"a":"\#(String(repeating: "z", count: 8200))"}}"#, "args:"),
            (#"{"name":"x","args":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}}"#, "args:"),
            (#"{"name":"x","ttl":999}"#, "ttl:"),
            (#"{"name":"x","ttl":2592000001}"#, "ttl:"),
            (#"{"name":"x","ttl":1500.5}"#, "ttl:"),
            (#"{"name":"x","priority":10}"#, "priority:"),
            (#"{"name":"x","priority":"high"}"#, "priority:"),
        ]
        for (text, field) in cases {
            #expect(throws: CommandRequestError.self) { try parse(text) }
            do {
                _ = try parse(text)
            } catch {
                #expect(error.message.contains(field), "\(text.prefix(60)): \(error.message)")
            }
        }
        // The bounds themselves are allowed.
        #expect(throws: Never.self) {
            try parse(#"{"name":"x","ttl":1000,"priority":0,"args":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{}}}}}}}}}"#)
        }
    }
}

@Suite struct JSONValueTests {
    private func json(_ text: String) -> JSONValue { (try? JSONValue.parse(text)) ?? .null }

    /// RFC 7396's own examples (appendix A).
    @Test func mergePatchesAsTheRFCSays() {
        let cases: [(String, String, String)] = [
            (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
            (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
            (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
            (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
            (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
            (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
            (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
            (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
            (#"{"a":"foo"}"#, #"null"#, #"null"#),
            (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
            (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
            (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
            (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        ]
        for (target, patch, result) in cases {
            #expect(json(target).merging(json(patch)) == json(result), "\(target) + \(patch)")
        }
    }

    @Test func deltaHoldsWhatDesiredWantsAndReportedLacks() {
        #expect(json(#"{"interval":5,"mode":"eco"}"#).delta(from: json(#"{"interval":10,"mode":"eco"}"#)) == json(#"{"interval":5}"#))
        #expect(json(#"{"a":{"b":1,"c":2}}"#).delta(from: json(#"{"a":{"b":1,"c":3}}"#)) == json(#"{"a":{"c":2}}"#))
        #expect(json(#"{"a":1}"#).delta(from: json(#"{"a":1,"extra":true}"#)) == nil)
        #expect(json(#"{"a":{"b":1}}"#).delta(from: json(#"{"a":7}"#)) == json(#"{"a":{"b":1}}"#))
        #expect(json(#"{"a":1}"#).delta(from: json(#"{}"#)) == json(#"{"a":1}"#))
    }

    @Test func textIsCompactWithSortedKeysAndDepthCountsNesting() {
        #expect(json(#"{ "b" : 1, "a" : [true, null, "x/y"] }"#).text == #"{"a":[true,null,"x/y"],"b":1}"#)
        #expect(json("3").depth == 0 && json("{}").depth == 1 && json(#"{"a":[{}]}"#).depth == 3)
    }
}
