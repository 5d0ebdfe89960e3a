import Testing
import TelehubCore

@Suite struct IngestEndpointTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ingest"),
        ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/v1/ingest"),
        ("ws://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ingest"),
        ("ws://127.0.0.1:8080/v1/ingest", "ws://127.0.0.1:8080/v1/ingest"),
        ("ws://127.0.0.1:8080/v1/ingest/", "ws://127.0.0.1:8080/v1/ingest"),
        ("https://hub.example.org", "wss://hub.example.org/v1/ingest"),
        ("WSS://hub.example.org:8443/v1/ingest", "wss://hub.example.org:8443/v1/ingest"),
        ("hub.local:8080", "ws://hub.local:8080/v1/ingest"),
        ("  http://hub.local:8080  ", "ws://hub.local:8080/v1/ingest"),
        ("https://proxy.example.org/telehub/", "wss://proxy.example.org/telehub/v1/ingest"),
        ("http://[::1]:8080?x=1#top", "ws://[::1]:8080/v1/ingest"),
    ])
    func readsTheAddressesPeopleHave(_ given: String, _ expected: String) throws {
        #expect(try IngestEndpoint(given).description == expected)
    }

    @Test func theHTTPAddressOfTheSameEndpoint() throws {
        #expect(try IngestEndpoint("wss://h/v1/ingest").httpURL == "https://h/v1/ingest")
        #expect(try IngestEndpoint("http://h:1").httpURL == "http://h:1/v1/ingest")
    }

    @Test(arguments: ["", "   ", "ftp://hub", "http://", "http:///v1/ingest", "http://user@hub", "mqtt://hub:1883"])
    func refusesWhatNamesNoHub(_ given: String) {
        #expect(throws: IngestEndpointError.self) { try IngestEndpoint(given) }
    }
}
