/// A 32-bit check of a chunk's bytes, so damage on disk is reported instead
/// of decoded into wrong values.
///
/// Each 8-byte word is mixed into one of four 64-bit lanes by steps that
/// are each one-to-one, and the lanes into one state the same way, so a
/// change confined to one word always changes the state; other damage goes
/// unnoticed with odds of about 2^-32. Four lanes let the processor work on
/// four words at once: an open chunk is checked again at every commit.
enum Checksum {
    static func of(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var state: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            var lanes: (UInt64, UInt64, UInt64, UInt64) = (1, 2, 3, 4)
            while offset + 32 <= raw.count {
                lanes.0 = mix(lanes.0, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                lanes.1 = mix(lanes.1, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
                lanes.2 = mix(lanes.2, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)))
                lanes.3 = mix(lanes.3, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)))
                offset += 32
            }
            state = mix(mix(mix(mix(state, lanes.0), lanes.1), lanes.2), lanes.3)
            while offset + 8 <= raw.count {
                state = mix(state, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            if offset < raw.count {
                var tail: UInt64 = 0
                for index in offset..<raw.count { tail |= UInt64(raw[index]) << UInt64(8 * (index - offset)) }
                state = mix(state, tail)
            }
        }
        state ^= state >> 32
        state &*= 0xD6E8_FEB8_6659_FD93
        state ^= state >> 32
        return UInt32(truncatingIfNeeded: state)
    }

    @inline(__always)
    private static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        var next = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        next ^= next >> 29
        return next
    }
}
