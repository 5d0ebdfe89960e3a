import Foundation
import Testing
import TelehubCore

@Suite struct ExportFormatTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_732_200_000_123), "2024-11-21T14:40:00.123Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(4_102_444_799_999), "2099-12-31T23:59:59.999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func rfc3339(ms: Int64, text: String) {
        #expect(RFC3339.format(ms: ms) == text)
    }

    @Test func lines() {
        #expect(ExportFormat.csv.line(device: "d", metric: "m", ts: 0, value: 21.5) == "d,m,0,1970-01-01T00:00:00.000Z,21.5\n")
        #expect(ExportFormat.ndjson.line(device: "d", metric: "m", ts: 5, value: 3) == #"{"device":"d","metric":"m","ts":5,"value":3}"# + "\n")
    }
}
