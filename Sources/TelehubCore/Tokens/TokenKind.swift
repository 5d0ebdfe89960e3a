/// What a token may do: ingest for one device, or read everything.
public enum TokenKind: String, Sendable, Codable, CaseIterable {
    case device
    case read

    /// The readable prefix that tells a token's kind at a glance.
    public var prefix: String {
        switch self {
        case .device: "thd_"
        case .read: "thr_"
        }
    }

    public init?(token: String) {
        guard let kind = Self.allCases.first(where: { token.hasPrefix($0.prefix) }) else { return nil }
        self = kind
    }
}
