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
        #expect(SpanParser.milliseconds("1500ms") == 1500)
        #expect(SpanParser.milliseconds("ms") == nil)
        #expect(SpanParser.format(2_592_000_000) == "30d" && SpanParser.format(90_000) == "90s" && SpanParser.format(1500) == "1500ms")
    }
}
