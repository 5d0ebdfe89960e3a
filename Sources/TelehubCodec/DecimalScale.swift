/// Sensor values are short decimals (21.37): as integers of a power of ten
/// (2137 at scale 2) they take a few bits a value where their binary
/// mantissas take dozens. A value is stored this way only when dividing the
/// integer by the power of ten gives back the very same bits.
enum DecimalScale {
    static let maximum = 15
    private static let powers: [Double] = (0...maximum).map { exponent in
        (0..<exponent).reduce(1.0) { product, _ in product * 10 }
    }
    /// Integers up to 2^53 are exact as doubles, so the division is correctly rounded.
    private static let largest = Double(1 << 53)

    static func power(_ scale: Int) -> Double { powers[scale] }

    /// `value` as an integer at `scale`, when that gives it back bit for bit.
    @inline(__always)
    static func integer(_ value: Double, scale: Int) -> Int64? {
        let scaled = (value * powers[scale]).rounded()
        guard abs(scaled) < largest else { return nil }
        let integer = Int64(scaled)
        guard (Double(integer) / powers[scale]).bitPattern == value.bitPattern else { return nil }
        return integer
    }

    /// The smallest scale at or above `from` at which `value` is exact, or nil.
    static func smallest(for value: Double, from: Int = 0) -> Int? {
        guard value.isFinite else { return nil }
        for scale in from...maximum where integer(value, scale: scale) != nil { return scale }
        return nil
    }

    static func value(_ integer: Int64, scale: Int) -> Double {
        Double(integer) / powers[scale]
    }
}
