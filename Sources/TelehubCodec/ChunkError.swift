/// Why chunk bytes cannot be decoded. Every damaged chunk gives one of
/// these; none decodes to values that were never stored.
public enum ChunkError: Error, Sendable, Equatable {
    /// The checksum does not match: the bytes changed after encoding.
    case checksumMismatch
    /// The bytes end before the chunk does.
    case truncated
    /// Bytes left over after the last value.
    case trailingData
    /// A format version or value encoding this build does not know.
    case unknownFormat(UInt8)
    /// A header field out of its range (count, scale, stream length).
    case invalidHeader(String)
}
