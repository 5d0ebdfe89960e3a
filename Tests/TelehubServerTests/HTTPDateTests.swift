import Foundation
import Testing
@testable import TelehubServer

@Suite struct HTTPDateTests {
    @Test func formatsAsRFC9110Says() {
        #expect(HTTPDate.format(epochSecond: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSecond: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSecond: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func agreesWithFoundationOverManyDays() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var second: Int64 = 946_684_800  // 2000-01-01
        while second < 4_102_444_800 {  // 2100-01-01
            #expect(HTTPDate.format(epochSecond: second) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(second))))
            second += 86_400 * 37 + 3_671
        }
    }
}
