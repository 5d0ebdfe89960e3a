import Testing
import TelehubCore

@Suite struct ExportRecordTests {
    @Test func exportLinesReadBack() throws {
        for format in ExportFormat.allCases {
            let line = format.line(device: "gh-1", metric: "temperature", ts: 1_732_200_000_123, value: 21.37)
            #expect(try ExportRecord.parse(line.dropLast()[...], format: format)
                == ExportRecord(device: "gh-1", metric: "temperature", ts: 1_732_200_000_123, value: 21.37))
        }
        #expect(try ExportRecord.parse("device,metric,ts,time,value", format: .csv) == nil)
        #expect(try ExportRecord.parse("  \r", format: .ndjson) == nil)
    }

    @Test func badLinesSayWhatIsWrong() {
        let cases: [(String, ExportFormat, String)] = [
            ("a,b,1", .csv, "expected 5 fields"),
            ("a,t,12x,-,1", .csv, "is not a whole number"),
            ("a,t,1732200000000,-,warm", .csv, "is not a number"),
            ("a b,t,1732200000000,-,1", .csv, "invalid device name"),
            ("a,9t,1732200000000,-,1", .csv, "invalid metric name"),
            ("a,t,5,-,1", .csv, "ts 5 is outside"),
            ("a,t,1732200000000,-,1e300", .csv, "larger than 1e100"),
            ("a,t,1732200000000,-,nan", .csv, "not finite"),
            (#"{"device":"a","metric":"t","ts":1}"#, .ndjson, "not a"),
            (String(repeating: "x", count: 5000), .csv, "longer than 4096 bytes"),
        ]
        for (line, format, message) in cases {
            #expect(throws: ExportRecordError.self) { try ExportRecord.parse(line[...], format: format) }
            do {
                _ = try ExportRecord.parse(line[...], format: format)
            } catch {
                #expect(error.reason.contains(message), "\(line.prefix(40)): \(error.reason)")
            }
        }
    }
}
