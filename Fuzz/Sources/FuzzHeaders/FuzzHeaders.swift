import FuzzInvariants
import Hummingbird
import TelehubCore

/// Bytes as a header value: `Last-Event-ID` (`StreamPosition.parse`), a
/// `Cookie` header as Hummingbird splits it (the session cookie then through
/// `SessionSecret.hash`), a bearer token (`TokenKind`), and the same text
/// through `SpanParser`, `ByteSizeParser` and `JSONText.quoted`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        try FuzzInvariants.checkHeaderValue(text)
        let cookies = Cookies(from: [text])
        if let cookie = cookies["telehub_session"] {
            try FuzzInvariants.checkSessionCookie(cookie.value)
        }
    } catch {
        fatalError("FuzzHeaders invariant violated: \(error)")
    }
    return 0
}
