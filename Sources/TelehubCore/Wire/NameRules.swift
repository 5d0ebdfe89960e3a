/// The contract's name rules, checked byte by byte (ASCII only) rather than
/// with a regular expression: they run for every metric of every reading.
public enum NameRules {
    /// `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`
    public static func isValidDeviceName(_ name: String) -> Bool {
        isValid(name, first: { isAlpha($0) || isDigit($0) })
    }

    /// `^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`
    public static func isValidMetricName(_ name: String) -> Bool {
        isValid(name, first: { isAlpha($0) || $0 == UInt8(ascii: "_") })
    }

    private static func isValid(_ name: String, first: (UInt8) -> Bool) -> Bool {
        let bytes = name.utf8
        guard let head = bytes.first, bytes.count <= 64, first(head) else { return false }
        return bytes.dropFirst().allSatisfy(isRestCharacter)
    }

    private static func isRestCharacter(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "-")
    }

    private static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
