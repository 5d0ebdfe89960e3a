/// Division that rounds toward negative infinity. Times before 1970 are
/// negative milliseconds, and a bucket, a day or a precision step must still
/// start at or before the time it holds, which `/` (rounding toward zero)
/// gets wrong for them.
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Division that rounds toward positive infinity (see `floorDiv`).
public func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 {
    -floorDiv(-a, b)
}
