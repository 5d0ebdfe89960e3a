import ArgumentParser
import TelehubCore
import TelehubStore

/// `telehub metric …`: how metrics are shown (the dashboard, `GET /v1/devices`, alerts).
struct MetricCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metric", abstract: "Units and display names of metrics.", subcommands: [SetDisplay.self, List.self])

    /// Not `Set`, which would hide the standard library's inside this command.
    struct SetDisplay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a metric's unit and label, for one device or every device ('*').",
            discussion: """
                telehub metric set --device '*' --metric temperature --unit °C --label "Air temperature"
                A device's own setting wins over the '*' one. --unit "" and --label "" remove them.
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "A device, or '*' for the metric on every device.") var device: String
        @Option(help: "The metric's name.") var metric: String
        @Option(help: "Unit shown after values, e.g. °C (up to 16 bytes).") var unit: String?
        @Option(help: "Name shown instead of the metric's (up to 64 bytes).") var label: String?

        func display(keeping old: MetricDisplay?) -> MetricDisplay {
            let unit = self.unit.map { $0.isEmpty ? nil : $0 } ?? old?.unit
            let label = self.label.map { $0.isEmpty ? nil : $0 } ?? old?.label
            return MetricDisplay(device: device == "*" ? nil : device, metric: metric, unit: unit, label: label)
        }

        func validate() throws {
            guard unit != nil || label != nil else { throw ValidationError("give --unit, --label or both") }
            if let problem = display(keeping: nil).problem { throw ValidationError(problem) }
        }

        func run() async throws {
            let database = try await store.open()
            let old = try await database.metricDisplays().first { $0.device == (device == "*" ? nil : device) && $0.metric == metric }
            let display = display(keeping: old)
            try await database.setMetricDisplay(display)
            print("\(device) \(metric): unit \(display.unit.map { "\"\($0)\"" } ?? "none"), label \(display.label.map { "\"\($0)\"" } ?? "none")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List units and labels.")

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let displays = try await store.open().metricDisplays()
            if json {
                print(try Output.json(displays))
                return
            }
            print(Output.table(["DEVICE", "METRIC", "UNIT", "LABEL"], displays.map { [$0.device ?? "*", $0.metric, $0.unit ?? "", $0.label ?? ""] }))
        }
    }
}
