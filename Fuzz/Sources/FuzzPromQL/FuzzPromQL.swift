import FuzzInvariants

/// Bytes as a query of the Prometheus door: parsed, and when it parses,
/// evaluated over two small series. See `FuzzInvariants.checkPromQuery`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try FuzzInvariants.checkPromQuery(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    } catch {
        fatalError("FuzzPromQL invariant violated: \(error)")
    }
    return 0
}
