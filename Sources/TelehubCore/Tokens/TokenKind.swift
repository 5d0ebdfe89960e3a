/// What a token may do: ingest for one device, read everything, or read
/// everything and also command devices and change their desired state.
public enum TokenKind: String, Sendable, Codable, CaseIterable {
    case device
    case read
    case control

    /// The readable prefix that tells a token's kind at a glance.
    public var prefix: String {
        switch self {
        case .device: "thd_"
        case .read: "thr_"
        case .control: "thc_"
        }
    }

    public init?(token: String) {
        guard let kind = Self.allCases.first(where: { token.hasPrefix($0.prefix) }) else { return nil }
        self = kind
    }

    /// Whether a token of this kind may do what `needed` may: read < control;
    /// a device token only ingests, and nothing else ingests.
    public func grants(_ needed: TokenKind) -> Bool {
        switch (self, needed) {
        case (.device, .device), (.read, .read), (.control, .read), (.control, .control): true
        default: false
        }
    }
}
