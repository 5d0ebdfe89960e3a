import Foundation

extension PromMatcher {
    /// The longest regular expression accepted.
    public static let maxRegexBytes = 1024

    /// Prometheus anchors every regular expression at both ends.
    static func regex(_ pattern: String) -> NSRegularExpression? {
        guard pattern.utf8.count <= maxRegexBytes, !mayBacktrackExponentially(pattern) else { return nil }
        return try? NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators])
    }

    /// Prometheus matches with RE2, in linear time; this engine backtracks,
    /// and `(a+)+$` against a 60-character name would run for ages. So a
    /// quantified group may hold neither a quantifier nor an alternation,
    /// and backreferences are refused: what dashboards write (`a|b|c`,
    /// `room-.*`, `(cellar|attic)`) stays, the exponential shapes go.
    static func mayBacktrackExponentially(_ pattern: String) -> Bool {
        var groups: [Bool] = []  // per open group: holds a quantifier or an alternation
        var risky = false  // what the last closed group held
        var escaped = false
        var inClass = false
        var previous: Character = " "
        for character in pattern {
            defer { previous = character }
            if escaped {
                escaped = false
                if character.isNumber { return true }  // a backreference
                risky = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            default:
                guard !inClass else { continue }
                switch character {
                case "(": groups.append(false)
                case ")":
                    risky = groups.popLast() ?? false
                    if risky, !groups.isEmpty { groups[groups.count - 1] = true }
                    continue
                case "?" where previous == "(":
                    continue  // `(?:` and its kin open a group, they quantify nothing
                case "*", "+", "?", "{":
                    if risky { return true }
                    if !groups.isEmpty { groups[groups.count - 1] = true }
                case "|":
                    if !groups.isEmpty { groups[groups.count - 1] = true }
                default: break
                }
            }
            risky = false
        }
        return false
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
