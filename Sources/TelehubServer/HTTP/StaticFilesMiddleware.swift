import Foundation
import HTTPTypes
import Hummingbird

/// Serves the dashboard from the public directory, leaving API paths to the
/// router without a file lookup, and adds the page's security headers.
struct StaticFilesMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let files: FileMiddleware<Context, LocalFileSystem>
    /// The one system browser library the dashboard uses (Debian's
    /// `libjs-dygraphs`), under `/vendor/dygraphs/`. Only its folder is
    /// mounted: the system's whole `/usr/share/javascript` holds whatever
    /// else is installed, none of it the hub's to serve.
    let vendor: FileMiddleware<Context, LocalFileSystem>
    static let vendorPrefix = "/vendor/dygraphs/"

    init(directory: String, vendorDirectory: String) {
        files = FileMiddleware(directory, searchForIndexHtml: true)
        vendor = FileMiddleware(vendorDirectory + "/dygraphs", urlBasePath: "/vendor/dygraphs")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if Self.isAPI(path) { return try await next(request, context) }
        if path.hasPrefix("/vendor/") || path == "/vendor", !path.hasPrefix(Self.vendorPrefix) { throw APIError.notFound }
        let serve = path.hasPrefix(Self.vendorPrefix) ? vendor : files
        var response = try await serve.handle(request, context: context, next: next)
        // Revalidate on every load (ETags keep it cheap), so an upgraded hub
        // never leaves a browser with a mix of old and new modules.
        response.headers[.cacheControl] = "no-cache"
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }

    /// The hub's own API and the doors' (InfluxDB's `/write`, `/api/v2/write`,
    /// `/ping`, `/query`; Prometheus's `/api/v1/…`): the router's, never a
    /// file. Each file lookup is a trip to the file system's threads, which
    /// every line-protocol write paid before it reached its route.
    static func isAPI(_ path: String) -> Bool {
        path.hasPrefix("/v1/") || path.hasPrefix("/api/")
            || path == "/healthz" || path == "/metrics" || path == "/write" || path == "/ping" || path == "/query"
    }

    /// Only the hub's own origin; no inline script.
    static let policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}
