import FuzzInvariants

/// Bytes as an InfluxDB line-protocol body (the first byte picks the
/// precision), parsed without and with the hub's bounds. See
/// `FuzzInvariants.checkLineProtocol`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try FuzzInvariants.checkLineProtocol(Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        fatalError("FuzzLineProtocol invariant violated: \(error)")
    }
    return 0
}
