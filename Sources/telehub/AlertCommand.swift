import ArgumentParser
import Foundation
import TelehubCore
import TelehubStore

/// `telehub alert …` (contract v1.1, "Alerts"). Rules are written to the
/// database; a running hub picks them up within a second.
struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert", abstract: "Alert rules, their history, and webhook deliveries.",
        subcommands: [Create.self, List.self, Delete.self, History.self, Redeliver.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a rule: a threshold on a metric, or a device's silence.",
            discussion: """
                telehub alert create --name cold-room-warm --device cold-room --metric temperature --above 8 --for 60s --clear-below 7.5
                telehub alert create --name meter-silent --device meter --offline 120s --webhook https://example.org/hook
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "A unique name, up to 64 bytes.") var name: String
        @Option(help: "The device to watch, or '*' for every device (with the metric).") var device: String
        @Option(help: "The metric to watch (not with --offline).") var metric: String?
        // `.unconditional`: a limit may be negative (`--above -15`), which would otherwise read as a flag.
        @Option(parsing: .unconditional, help: "Fire when a value is above this.") var above: Double?
        @Option(parsing: .unconditional, help: "Fire when a value is below this.") var below: Double?
        @Option(name: .customLong("for"), help: "How long the condition must hold before firing, e.g. 60s (default 0).")
        var holdFor: String?
        @Option(parsing: .unconditional, help: "With --above: clear only when a value is below this.") var clearBelow: Double?
        @Option(parsing: .unconditional, help: "With --below: clear only when a value is above this.") var clearAbove: Double?
        @Option(help: "Fire when the device has sent nothing for this long, e.g. 120s.") var offline: String?
        @Option(help: "warning or critical.") var severity: String = "warning"
        @Option(help: "URL that receives a POST for every transition.") var webhook: String?
        @Option(help: "Sign webhook bodies with HMAC-SHA256 under this key (X-Telehub-Signature).") var secret: String?
        @Flag(help: "Print the rule as JSON.") var json = false

        func validate() throws {
            guard [above, below].compactMap({ $0 }).count + (offline == nil ? 0 : 1) == 1 else {
                throw ValidationError("give exactly one of --above, --below and --offline")
            }
            if clearBelow != nil, above == nil { throw ValidationError("--clear-below goes with --above") }
            if clearAbove != nil, below == nil { throw ValidationError("--clear-above goes with --below") }
            if offline != nil, holdFor != nil { throw ValidationError("--for goes with --above or --below, not --offline") }
            guard AlertRule.Severity(rawValue: severity) != nil else { throw ValidationError("--severity must be warning or critical") }
            _ = try rule()
        }

        func rule() throws -> AlertRule {
            let condition: AlertCondition
            if let offline {
                guard let ms = SpanParser.milliseconds(offline) else { throw ValidationError("--offline takes a span such as 120s or 5m") }
                condition = .offline(afterMs: ms)
            } else {
                let forMs: Int64
                if let holdFor, holdFor != "0" {
                    guard let ms = SpanParser.milliseconds(holdFor) else { throw ValidationError("--for takes a span such as 60s or 5m") }
                    forMs = ms
                } else {
                    forMs = 0
                }
                condition = .threshold(
                    above.map { Threshold(direction: .above, limit: $0, forMs: forMs, clearAt: clearBelow) }
                        ?? Threshold(direction: .below, limit: below ?? 0, forMs: forMs, clearAt: clearAbove))
            }
            let rule = AlertRule(
                id: 0, name: name, device: device == "*" ? nil : device, metric: metric, condition: condition,
                severity: AlertRule.Severity(rawValue: severity) ?? .warning, webhook: webhook, secret: secret)
            if let problem = AlertRuleBounds.problem(with: rule) { throw ValidationError(problem) }
            return rule
        }

        func run() async throws {
            do {
                let stored = try await store.open().createAlertRule(try rule())
                if json {
                    print(try Output.json(AlertSummary(rule: stored, device: nil, state: nil)))
                } else {
                    print("created alert \(stored.id) \(stored.name): \(stored.device ?? "every device")\(stored.metric.map { " " + $0 } ?? "") \(stored.condition.text)")
                }
            } catch let error as AlertStoreError {
                throw CLIError(error.description)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List rules with their state per device.")

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let summaries = try await store.open().alertSummaries()
            if json {
                print(try Output.json(summaries))
                return
            }
            let rows = summaries.map { alert in
                [
                    String(alert.id), alert.name, alert.device ?? "*", alert.metric ?? "-", alert.condition, alert.state.rawValue,
                    Output.time(alert.since), alert.value.map { "\($0)" } ?? "-",
                ]
            }
            print(Output.table(["ID", "NAME", "DEVICE", "METRIC", "CONDITION", "STATE", "SINCE", "VALUE"], rows))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a rule; its history stays, deliveries it still owes are dropped.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The rule's id.") var id: Int64

        func run() async throws {
            guard try await store.open().deleteAlertRule(id: id) else { throw CLIError("no alert rule with id \(id)") }
            print("deleted alert \(id)")
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Transitions and webhook deliveries, newest first.")

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false
        @Option(help: "At most this many entries (1 to 10000).") var limit = 50

        func validate() throws {
            try Bounds.check("--limit", limit, 1...10_000)
        }

        func run() async throws {
            let (events, deliveries) = try await store.open().alertHistory(limit: limit)
            let entries = AlertHistoryEntry.merged(events: events, deliveries: deliveries, limit: limit)
            if json {
                print(try Output.json(entries))
                return
            }
            guard !entries.isEmpty else {
                print("no alert has fired yet")
                return
            }
            let rows = entries.map { entry in
                [
                    Output.time(entry.ts), entry.kind, String(entry.id), String(entry.alert),
                    entry.state ?? entry.status ?? "", entry.device ?? "", entry.value.map { "\($0)" } ?? "",
                    entry.attempts.map(String.init) ?? "", entry.folded.map { $0 > 0 ? String($0) : "" } ?? "",
                    entry.lastError ?? "",
                ]
            }
            print(Output.table(
                ["TIME", "KIND", "ID", "ALERT", "STATE", "DEVICE", "VALUE", "ATTEMPTS", "FOLDED", "LAST ERROR"], rows))
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a dead-lettered delivery again.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The delivery's id (alert history).") var id: Int64
        @Option(help: "Retry it for this long before it is a dead letter again.") var retryFor = "24h"

        func run() async throws {
            guard let ms = SpanParser.milliseconds(retryFor) else { throw ValidationError("--retry-for takes a span such as 24h") }
            guard try await store.open().redeliver(id: id, deadline: EpochClock.nowMs() + ms) else {
                throw CLIError("no dead-lettered delivery with id \(id)")
            }
            print("delivery \(id) queued again")
        }
    }
}
