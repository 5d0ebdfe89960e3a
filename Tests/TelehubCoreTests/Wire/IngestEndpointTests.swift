import Foundation
import Testing
import TelehubCore

@Suite struct IngestEndpointTests {
    /// The address cases shared with the Python client's tests.
    struct Cases: Decodable {
        var valid: [[String]]
        var invalid: [String]

        static func load() throws -> Cases {
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Fixtures/ingest-addresses.json")
            return try JSONDecoder().decode(Cases.self, from: Data(contentsOf: file))
        }
    }

    @Test func readsTheAddressesPeopleHave() throws {
        let cases = try Cases.load()
        #expect(cases.valid.count >= 10)
        for pair in cases.valid {
            #expect(try IngestEndpoint(pair[0]).description == pair[1], "\(pair[0])")
        }
    }

    @Test func refusesWhatNamesNoHub() throws {
        for given in try Cases.load().invalid {
            #expect(throws: IngestEndpointError.self, "\(given)") { try IngestEndpoint(given) }
        }
    }

    @Test func theHTTPAddressOfTheSameEndpoint() throws {
        #expect(try IngestEndpoint("wss://h/v1/ingest").httpURL == "https://h/v1/ingest")
        #expect(try IngestEndpoint("http://h:1").httpURL == "http://h:1/v1/ingest")
    }
}
