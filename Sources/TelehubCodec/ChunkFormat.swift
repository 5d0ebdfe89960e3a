/// The bytes of a chunk:
///
/// | bytes | field |
/// | --- | --- |
/// | 1 | format version (1) |
/// | 1 | value encoding: 0 XOR floats, 1 decimal integers, 2 plain 64-bit doubles |
/// | 1 | decimal scale (0 for XOR) |
/// | varint | number of values, at least 1 |
/// | varint | bytes of the timestamp stream |
/// | … | timestamp stream (`TimestampEncoder`) |
/// | … | value stream (`XORValueEncoder` or `DecimalValueEncoder`) |
/// | 4 | checksum of everything before it, little-endian (`Checksum`) |
enum ChunkFormat {
    static let version: UInt8 = 1
    static let checksumBytes = 4

    enum Encoding: UInt8 {
        case xor = 0
        case decimal = 1
        /// Each value's 64 bits as they are: for values with nothing in common
        /// (random doubles), where XOR's headers would cost more than they save.
        case raw = 2
    }

    static func assemble(encoding: Encoding, scale: Int, count: Int, timestamps: BitWriter, values: BitWriter) -> [UInt8] {
        var bytes: [UInt8] = [version, encoding.rawValue, UInt8(scale)]
        bytes.reserveCapacity(16 + timestamps.byteCount + values.byteCount)
        Varint.append(UInt64(count), to: &bytes)
        Varint.append(UInt64(timestamps.byteCount), to: &bytes)
        bytes.append(contentsOf: timestamps.bytes)
        bytes.append(contentsOf: values.bytes)
        let check = Checksum.of(bytes[...])
        withUnsafeBytes(of: check.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The length of `bytes` without its checksum, once the checksum matches.
    static func verifiedBody(_ bytes: [UInt8]) throws(ChunkError) -> Int {
        let body = bytes.count - checksumBytes
        guard body >= 1 else { throw .truncated }
        var stored: UInt32 = 0
        for index in 0..<checksumBytes { stored |= UInt32(bytes[body + index]) << UInt32(8 * index) }
        guard Checksum.of(bytes[..<body]) == stored else { throw .checksumMismatch }
        return body
    }

    /// Bytes `assemble` will produce for streams of these sizes.
    static func size(count: Int, timestampBits: Int, valueBits: Int) -> Int {
        let timestampBytes = (timestampBits + 7) / 8
        return 3 + Varint.size(UInt64(count)) + Varint.size(UInt64(timestampBytes)) + timestampBytes + (valueBits + 7) / 8
            + checksumBytes
    }
}

enum Varint {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    static func size(_ value: UInt64) -> Int {
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    /// Reads a varint at `offset`, moving it past; at most 10 bytes.
    static func read(_ bytes: [UInt8], at offset: inout Int, end: Int) throws(ChunkError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end {
            let byte = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw .invalidHeader("varint too long") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw .truncated
    }
}
