import Foundation

/// Finding a few known bytes in received text, for the generator's reply
/// and stream parsing. The standard library's generic `firstRange(of:)`
/// cost the generator most of a core at 100,000 deliveries a second; this
/// is `memchr` for the first byte and `memcmp` for the rest.
enum ByteSearch {
    /// The offset of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        guard let base = haystack.baseAddress, let first = needle.first, start <= haystack.count else { return nil }
        var offset = start
        while haystack.count - offset >= needle.count {
            guard let hit = memchr(base + offset, Int32(first), haystack.count - offset - needle.count + 1) else { return nil }
            let position = base.distance(to: UnsafeRawPointer(hit))
            let matched = needle.withUnsafeBytes { memcmp(base + position, $0.baseAddress!, needle.count) == 0 }
            if matched { return position }
            offset = position + 1
        }
        return nil
    }

    /// The unsigned decimal right after `needle`, if there is one.
    static func number(after needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int = 0) -> Int64? {
        guard let found = find(needle, in: haystack, from: start) else { return nil }
        var value: Int64 = 0
        var index = found + needle.count
        let end = min(haystack.count, index + 18)
        while index < end, haystack[index] >= 48, haystack[index] <= 57 {
            value = value * 10 + Int64(haystack[index] - 48)
            index += 1
        }
        return index > found + needle.count ? value : nil
    }
}
