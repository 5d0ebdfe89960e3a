import Synchronization
import TelehubCore

/// The `Date` header as the router writes it (IMF-fixdate, RFC 9110:
/// `Sun, 06 Nov 1994 08:49:37 GMT`), for answers written on an event loop.
/// Made once a second; formatting a date per answer would cost more than
/// the answer.
enum HTTPDate {
    private static let cache = Mutex<(second: Int64, text: String)>((-1, ""))

    static func now() -> String {
        let second = EpochClock.nowMs() / 1000
        if let text = cache.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = format(epochSecond: second)
        cache.withLock { $0 = (second, text) }
        return text
    }

    static func format(epochSecond: Int64) -> String {
        let days = floorDiv(epochSecond, 86_400)
        let secondOfDay = epochSecond - days * 86_400
        let (year, month, day) = RFC3339.civil(fromDays: days)
        let weekday = Int((days % 7 + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(names[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60)) GMT"
    }

    private static func two(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
