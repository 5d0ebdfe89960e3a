import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import Testing
import TelehubCore
import TelehubServer
import TelehubSQLite
import TelehubStore
import TelehubPostgres
import TelehubAuth
import NIOHTTP1
import NIOWebSocket

/// End to end through real sockets: the app from `buildApplication`, a real
/// SQLite file, a WebSocket device and an SSE reader.
@Suite struct LiveHubServerTests {
    struct Fixture {
        let store: SQLiteStore
        let deviceToken: String
        let readToken: String
        let configuration: HubConfiguration
    }

    func makeFixture() async throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("hub.sqlite").path)
        let device = try await store.mintToken(kind: .device, device: "gh-1", label: nil, expiresAt: nil).0.value
        let read = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil).0.value
        var configuration = HubConfiguration()
        configuration.port = 0
        configuration.publicDirectory = directory.path
        return Fixture(store: store, deviceToken: device, readToken: read, configuration: configuration)
    }

    /// Sends `messages` in order on one connection and collects every reply
    /// until `done` says enough.
    func converse(
        port: Int, token: String, messages: [String], until done: @escaping @Sendable ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let replies = Replies()
        try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/v1/ingest",
            configuration: .init(additionalHeaders: [.authorization: "Bearer \(token)"]),
            logger: Logger(label: "test-device")
        ) { inbound, outbound, _ in
            // A hub that never sends what `done` waits for fails the test instead of hanging the run.
            let deadline = Task {
                try await Task.sleep(for: .seconds(30))
                await replies.timeOut()
                try await outbound.close(.normalClosure, reason: "the test timed out")
            }
            defer { deadline.cancel() }
            var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            if let hello = try await iterator.next(), case .text(let text) = hello { await replies.append(text) }
            for message in messages { try await outbound.write(.text(message)) }
            while !done(Self.parse(await replies.texts)), let next = try await iterator.next() {
                if case .text(let text) = next { await replies.append(text) }
            }
        }
        let texts = await replies.texts
        if await replies.timedOut, !done(Self.parse(texts)) { Issue.record("no awaited reply within 30 s; got \(texts)") }
        return Self.parse(texts)
    }

    actor Replies {
        var texts: [String] = []
        private(set) var timedOut = false
        func append(_ text: String) { texts.append(text) }
        func timeOut() { timedOut = true }
    }

    static func parse(_ texts: [String]) -> [[String: Any]] {
        texts.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func helloAckAfterCommitDuplicatesAndErrors() async throws {
        let fixture = try await makeFixture()
        let app = try buildApplication(configuration: fixture.configuration, store: fixture.store)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let messages = [
                #"{"type":"reading","seq":1,"metrics":{"temperature":21.5}}"#,
                #"{"type":"reading","seq":2,"metrics":{"temperature":"hot"}}"#,
                #"{"type":"batch","seq":3,"readings":[{"metrics":{"temperature":22}},{"metrics":{"humidity":40}}]}"#,
                #"{"type":"reading","seq":1,"metrics":{"temperature":99}}"#,
                #"{"type":"ping","id":"p"}"#,
            ]
            // Acks are cumulative: 1 and 3 may come as one ack of 3; the
            // duplicate's ack of 1 comes last, since it queued behind 3.
            let replies = try await converse(port: port, token: fixture.deviceToken, messages: messages) { replies in
                let acks = replies.compactMap { $0["type"] as? String == "ack" ? $0["seq"] as? Int : nil }
                return replies.contains { $0["type"] as? String == "pong" } && acks.contains(3) && acks.last == 1
            }
            let hello = try #require(replies.first)
            #expect(hello["type"] as? String == "hello")
            #expect(hello["device"] as? String == "gh-1")
            #expect(hello["lastSeq"] as? Int == 0)
            let error = try #require(replies.first { $0["type"] as? String == "error" })
            #expect(error["code"] as? String == "invalid_value")
            #expect(error["seq"] as? Int == 2)
            #expect(error["message"] as? String == "metrics.temperature: expected a finite number")
            let acks = replies.compactMap { $0["type"] as? String == "ack" ? $0["seq"] as? Int : nil }
            #expect(Set(acks) == [1, 3])
            // The duplicate seq 1 was acknowledged again but did not overwrite the stored value.
            let status = try #require(try await fixture.store.deviceStatus(named: "gh-1"))
            #expect(status.lastSeq == 3)
            #expect(status.metrics["temperature"]?.value == 22)
            #expect(status.metrics["humidity"]?.value == 40)
        }
    }

    @Test func acksMeanTheDataIsInTheFile() async throws {
        let fixture = try await makeFixture()
        let app = try buildApplication(configuration: fixture.configuration, store: fixture.store)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let messages = (1...50).map { #"{"type":"reading","seq":\#($0),"ts":\#(1_732_200_000_000 + $0),"metrics":{"v":\#($0)}}"# }
            let replies = try await converse(port: port, token: fixture.deviceToken, messages: messages) { replies in
                replies.contains { $0["type"] as? String == "ack" && $0["seq"] as? Int == 50 }
            }
            #expect(replies.last?["seq"] as? Int == 50)
            // A second, independent connection to the file sees every acknowledged row.
            let reopened = try SQLiteStore(path: fixture.store.path)
            #expect(try await reopened.lastSeq(deviceID: try await reopened.ensureDevice(named: "gh-1")) == 50)
        }
    }

    @Test func credentialsAreRefused() async throws {
        let fixture = try await makeFixture()
        let app = try buildApplication(configuration: fixture.configuration, store: fixture.store)
        try await app.test(.live) { client in
            let upgrade: HTTPFields = [
                .upgrade: "websocket", .connection: "Upgrade", .secWebSocketVersion: "13",
                .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
            ]
            // The test client keeps one connection, and only a connection's first
            // request can upgrade: one refused upgrade here, the read token below.
            var headers = upgrade
            headers[.authorization] = "Bearer thd_wrong"
            let response = try await client.execute(uri: "/v1/ingest", method: .get, headers: headers)
            #expect(response.status == .unauthorized)
            #expect(String(buffer: response.body) == #"{"error":"unauthorized"}"#)
            let port = try #require(client.port)
            await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
                _ = try await converse(port: port, token: fixture.readToken, messages: []) { _ in true }
            }
            let devices = try await client.execute(
                uri: "/v1/devices", method: .get, headers: [.authorization: "Bearer \(fixture.deviceToken)"])
            #expect(devices.status == .unauthorized)
            let readable = try await client.execute(
                uri: "/v1/devices", method: .get, headers: [.authorization: "Bearer \(fixture.readToken)"])
            #expect(readable.status == .ok)
        }
    }

    @Test func streamDeliversCommittedReadings() async throws {
        let fixture = try await makeFixture()
        let app = try buildApplication(configuration: fixture.configuration, store: fixture.store)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/stream?device=gh-1")
            request.headers.add(name: "Authorization", value: "Bearer \(fixture.readToken)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var body = ""
            var chunks = response.body.makeAsyncIterator()
            while !body.contains("event: snapshot"), let chunk = try await chunks.next() { body += String(buffer: chunk) }
            _ = try await converse(
                port: port, token: fixture.deviceToken,
                messages: [#"{"type":"reading","seq":1,"ts":1732200000123,"metrics":{"temperature":21.5}}"#]
            ) { $0.contains { $0["type"] as? String == "ack" } }
            while !body.contains("event: reading"), let chunk = try await chunks.next() { body += String(buffer: chunk) }
            while !body.hasSuffix("\n\n"), let chunk = try await chunks.next() { body += String(buffer: chunk) }
            #expect(body.contains(#"data: {"device":"gh-1","ts":1732200000123,"metrics":{"temperature":21.5}}"#))
        }
    }

    /// Reads an SSE response until `done` holds for what has arrived.
    static func read(_ chunks: inout HTTPClientResponse.Body.AsyncIterator, into body: inout String, until done: (String) -> Bool)
        async throws
    {
        while !done(body), let chunk = try await chunks.next() { body += String(buffer: chunk) }
    }

    /// Two hubs on one PostgreSQL database: a reading committed through one
    /// reaches the other's stream within a second, with the same id on both.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TELEHUB_TEST_POSTGRES"] != nil, "TELEHUB_TEST_POSTGRES names no server"))
    func aReadingCommittedThroughOneHubReachesAnothersStream() async throws {
        let base = try #require(ProcessInfo.processInfo.environment["TELEHUB_TEST_POSTGRES"])
        let url = try PostgresURL(base + (base.contains("?") ? "&" : "?") + "schema=s\(UUID().uuidString.prefix(8).lowercased())")
        let (storeA, storeB) = (try await PostgresStore.open(url), try await PostgresStore.open(url))
        let device = try await storeA.mintToken(kind: .device, device: "gh-1", label: nil, expiresAt: nil).0.value
        let read = try await storeA.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil).0.value
        var configuration = HubConfiguration()
        configuration.port = 0
        configuration.publicDirectory = FileManager.default.temporaryDirectory.path
        let (appA, appB) = (try buildApplication(configuration: configuration, store: storeA), try buildApplication(configuration: configuration, store: storeB))
        try await appA.test(.live) { clientA in
            try await appB.test(.live) { clientB in
                let (portA, portB) = (try #require(clientA.port), try #require(clientB.port))
                var iterators: [HTTPClientResponse.Body.AsyncIterator] = []
                var bodies: [String] = []
                for port in [portA, portB] {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/stream")
                    request.headers.add(name: "Authorization", value: "Bearer \(read)")
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    var chunks = response.body.makeAsyncIterator()
                    var body = ""
                    try await Self.read(&chunks, into: &body) { $0.contains("event: snapshot") }
                    iterators.append(chunks)
                    bodies.append(body)
                }
                let sent = ContinuousClock.now
                _ = try await converse(
                    port: portA, token: device,
                    messages: [#"{"type":"reading","seq":1,"ts":1732200000123,"metrics":{"temperature":21.5}}"#]
                ) { $0.contains { $0["type"] as? String == "ack" } }
                var ids: [String] = []
                for index in iterators.indices {
                    var chunks = iterators[index]
                    var body = bodies[index]
                    try await Self.read(&chunks, into: &body) { body in
                        body.range(of: "event: reading\ndata: ") != nil && body.hasSuffix("\n\n")
                    }
                    #expect(body.contains(#"data: {"device":"gh-1","ts":1732200000123,"metrics":{"temperature":21.5}}"#))
                    let idLine = body.split(separator: "\n").last { $0.hasPrefix("id: ") }
                    ids.append(String(idLine ?? ""))
                }
                #expect(ContinuousClock.now - sent < .seconds(1))
                #expect(ids[0] == ids[1] && ids[0].hasPrefix("id: "), "\(ids)")
            }
        }
    }
}
