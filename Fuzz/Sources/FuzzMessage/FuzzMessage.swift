import FuzzInvariants

/// Bytes as a device message: validated as the WebSocket and HTTP paths do
/// (default and tight limits) and fed to a `DeviceConnectionState`; every reply
/// must be well-formed JSON. See `FuzzInvariants.checkMessage`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try FuzzInvariants.checkMessage(bytes)
    } catch {
        fatalError("FuzzMessage invariant violated: \(error)")
    }
    return 0
}
