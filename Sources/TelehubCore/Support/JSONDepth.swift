/// How deeply a JSON text nests arrays and objects, found by one scan of its
/// bytes before it is decoded.
///
/// Decoding deeply nested JSON cost time quadratic in the depth (a 1 KiB
/// message of 500 nested arrays took most of a second), so a device message
/// is refused past a depth no valid message needs: a batch nests four levels
/// (message, readings, reading, metrics).
public enum JSONDepth {
    public static let maxDeviceMessageDepth = 16

    /// Whether the text nests deeper than `limit`. Brackets inside strings
    /// (with their escapes) do not count.
    public static func exceeds(_ bytes: some Collection<UInt8>, limit: Int) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
