import FuzzInvariants
import Hummingbird
import HummingbirdCore
import TelehubCore

/// Bytes as the query string of `GET /v1/devices/{name}/metrics/{metric}` and
/// `GET /v1/export.csv`: split into parameters by `FuzzInvariants.queryParameters`
/// (which the corpus replay test uses), by Hummingbird's `queryParameters`, and
/// decoded by Hummingbird's query decoding as the routes do; then
/// `HistoryQuery`, `ExportQuery`, and for every accepted history query its
/// `BucketPlan` and `TimeSegment.cover` for each resolution.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        try FuzzInvariants.checkQueryString(text)
        let uri = URI("/v1/devices/d/metrics/m?" + text)
        let parameters = uri.queryParameters
        try FuzzInvariants.checkQuery { parameters[Substring($0)] }
        let decoder = URLEncodedFormDecoder()
        if let history = try? decoder.decode(HistoryParameters.self, from: uri.query ?? ""),
            let export = try? decoder.decode(ExportParameters.self, from: uri.query ?? "")
        {
            let decoded: [String: String?] = [
                "from": history.from, "to": history.to, "points": history.points,
                "device": export.device, "metric": export.metric, "format": export.format,
            ]
            try FuzzInvariants.checkQuery { name in decoded[name].flatMap { $0 }.map { Substring($0) } }
        }
    } catch {
        fatalError("FuzzQueries invariant violated: \(error)")
    }
    return 0
}
