/// Bytes as a stored chunk (an error or values that round-trip), as a
/// minute block, and as (time, value) pairs that must round-trip bit for
/// bit and whose encoding must refuse any flipped bit. See `ChunkFuzzInvariants`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try ChunkFuzzInvariants.check(bytes)
    } catch {
        fatalError("FuzzChunk invariant violated: \(error)")
    }
    return 0
}
