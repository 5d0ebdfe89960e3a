import FuzzInvariants
import HummingbirdCore

/// Bytes as the query string of `GET /v1/devices/{name}/metrics/{metric}` and
/// `GET /v1/export.csv`, split into parameters both as Hummingbird does it in
/// the server and by `FuzzInvariants.queryParameters` (which the corpus
/// replay test uses), then `HistoryQuery`, `ExportQuery`, and for every
/// accepted history query its `BucketPlan` and `TimeSegment.cover` for each
/// resolution.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        try FuzzInvariants.checkQueryString(text)
        let parameters = URI("/v1/devices/d/metrics/m?" + text).queryParameters
        try FuzzInvariants.checkQuery { parameters[Substring($0)] }
    } catch {
        fatalError("FuzzQueries invariant violated: \(error)")
    }
    return 0
}
