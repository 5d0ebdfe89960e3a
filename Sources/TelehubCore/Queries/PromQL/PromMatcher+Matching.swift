import Foundation

extension PromMatcher {
    /// The longest regular expression accepted.
    public static let maxRegexBytes = 1024

    /// Prometheus anchors every regular expression at both ends.
    static func regex(_ pattern: String) -> NSRegularExpression? {
        guard pattern.utf8.count <= maxRegexBytes else { return nil }
        return try? NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators])
    }

    /// Whether an absent label (the empty string) matches: a selector of
    /// only such matchers would select every series there is.
    var matchesEmpty: Bool { compiled().accepts("") }

    /// The matcher ready to test values: compiled once per query, not per series.
    public func compiled() -> Compiled {
        Compiled(kind: kind, value: value, regex: kind == .matches || kind == .notMatches ? Self.regex(value) : nil)
    }

    public struct Compiled: @unchecked Sendable {
        let kind: Kind
        let value: String
        let regex: NSRegularExpression?

        /// Whether a value matches. `candidates` are the ways a value may be
        /// written (Telehub's name and its exposed form): a positive matcher
        /// accepts if any matches, a negative one if none does.
        public func accepts(_ candidates: String...) -> Bool {
            accepts(candidates)
        }

        public func accepts(_ candidates: [String]) -> Bool {
            switch kind {
            case .equal: candidates.contains(value)
            case .notEqual: !candidates.contains(value)
            case .matches: candidates.contains(where: matchesRegex)
            case .notMatches: !candidates.contains(where: matchesRegex)
            }
        }

        /// A metric name, either way it is written: an equality compares the
        /// exposed forms (`env.temp-c`, `env_temp_c` and `env.temp_c` are one
        /// name), a regular expression tries Telehub's name and the exposed one.
        public func acceptsName(_ metric: String) -> Bool {
            let exposed = PromNames.exposed(metric)
            switch kind {
            case .equal: return PromNames.exposed(value) == exposed
            case .notEqual: return PromNames.exposed(value) != exposed
            case .matches, .notMatches: return accepts(metric, exposed)
            }
        }

        private func matchesRegex(_ text: String) -> Bool {
            guard let regex else { return false }
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
    }
}

/// How Telehub's series look through the door.
public enum PromNames {
    /// A metric name with `.` and `-` as `_`, the characters Prometheus names allow.
    public static func exposed(_ metric: String) -> String {
        String(metric.map { $0 == "." || $0 == "-" ? "_" : $0 })
    }
}
