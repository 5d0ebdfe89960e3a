import Hummingbird
import TelehubCore
import TelehubStore

/// The Prometheus door (contract v1.2): a read-only subset of the Prometheus
/// HTTP API, so Grafana's built-in data source and `promtool` read Telehub
/// with a read token. Every series is `{__name__="<metric>",device="<device>"}`.
struct PrometheusRoutes {
    let hub: Hub

    /// Prometheus's own bound on a range query's resolution.
    static let maxSteps = 11_000
    /// Series one query may read.
    static let maxSeries = 1000
    /// Samples one query may hold across its series; a series gets its share,
    /// raw when its values fit, else rollup buckets.
    static let maxSamples = 2_000_000
    /// The version `buildinfo` reports: the Prometheus API this door follows.
    static let apiVersion = "2.42.0"

    static let methods: [String: [HTTPRequest.Method]] = [
        "/api/v1/query": [.get, .post], "/api/v1/query_range": [.get, .post], "/api/v1/labels": [.get, .post],
        "/api/v1/label/{name}/values": [.get], "/api/v1/series": [.get, .post], "/api/v1/status/buildinfo": [.get],
        "/api/v1/metadata": [.get],
    ]

    func register(on router: Router<HubRequestContext>) {
        for method: HTTPRequest.Method in [.get, .post] {
            router.on("/api/v1/query", method: method) { request, context in
                await answering(request, context) { try await instant($0) }
            }
            router.on("/api/v1/query_range", method: method) { request, context in
                await answering(request, context) { try await range($0) }
            }
            router.on("/api/v1/labels", method: method) { request, context in
                await answering(request, context) { try await labels($0) }
            }
            router.on("/api/v1/series", method: method) { request, context in
                await answering(request, context) { try await series($0) }
            }
        }
        router.get("/api/v1/label/{name}/values") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await answering(request, context) { try await labelValues(name, $0) }
        }
        router.get("/api/v1/status/buildinfo") { request, context in
            await answering(request, context) { _ in PrometheusBuildInfo(version: Self.apiVersion) }
        }
        // Grafana asks for metric metadata (help and type) to annotate names; Telehub keeps none.
        router.get("/api/v1/metadata") { request, context in
            await answering(request, context) { _ in [String: String]() }
        }
    }

    // MARK: - Queries

    private func instant(_ form: FormParameters) async throws -> PrometheusQueryData {
        let expression = try Self.expression(form)
        let time = try form["time"].map { try Self.time($0, "time") } ?? EpochClock.nowMs()
        switch try await evaluate(expression, steps: [time], stepMs: 0) {
        case .scalar(let numbers):
            return .scalar(PrometheusSample(ms: time, value: numbers[0]))
        case .vector(let series):
            return .vector(series.compactMap { result in
                result.values[0].map { .init(metric: result.labels, value: PrometheusSample(ms: time, value: $0)) }
            })
        }
    }

    private func range(_ form: FormParameters) async throws -> PrometheusQueryData {
        let expression = try Self.expression(form)
        let start = try Self.time(try Self.required(form, "start"), "start")
        let end = try Self.time(try Self.required(form, "end"), "end")
        let stepText = try Self.required(form, "step")
        guard let step = PromTime.duration(stepText), step > 0 else {
            throw PrometheusError.badData("invalid parameter \"step\": \(JSONText.quoted(String(stepText.prefix(40)))) is not a positive duration or number of seconds")
        }
        guard end >= start else { throw PrometheusError.badData("invalid parameter \"end\": end timestamp must not be before start time") }
        guard (end - start) / step < Int64(Self.maxSteps) else {
            throw PrometheusError.badData("exceeded maximum resolution of \(Self.maxSteps) points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        let steps = Array(stride(from: start, through: end, by: Int(step)))
        let series: [PromSeriesResult]
        switch try await evaluate(expression, steps: steps, stepMs: step) {
        case .scalar(let numbers): series = [PromSeriesResult(labels: [:], values: numbers)]
        case .vector(let results): series = results
        }
        return .matrix(series.map { result in
            .init(
                metric: result.labels,
                values: zip(steps, result.values).compactMap { time, value in value.map { PrometheusSample(ms: time, value: $0) } })
        })
    }

    /// Reads what the expression's selectors need from the store, then evaluates.
    private func evaluate(_ expression: PromExpression, steps: [Int64], stepMs: Int64) async throws -> PromValue {
        let catalog = try await SeriesCatalog(hub.store.deviceStatuses())
        var data: [PromSelector: [PromSeriesData]] = [:]
        let wanted = expression.reads
        let matched = wanted.map { catalog.matching($0.selector) }
        let total = matched.reduce(0) { $0 + $1.count }
        guard total <= Self.maxSeries else {
            throw PrometheusError.badData("the query selects \(total) series; at most \(Self.maxSeries): narrow the selectors")
        }
        let budget = max(1000, min(PrometheusRoutes.maxSteps, Self.maxSamples / max(1, total)))
        for (wanted, series) in zip(wanted, matched) where data[wanted.selector] == nil {
            var read: [PromSeriesData] = []
            let plan = ReadPlan(wanted, first: steps[0], last: steps[steps.count - 1], stepMs: stepMs, rawBudget: budget)
            for entry in series {
                guard let history = try await hub.store.history(device: entry.device, metric: entry.metric, from: plan.from, to: plan.to, points: plan.points)
                else { continue }
                read.append(PromSeriesData(device: entry.device, metric: entry.metric, samples: history.promSamples))
            }
            data[wanted.selector] = read
        }
        return PromEvaluator(steps: steps, data: data).evaluate(expression)
    }

    // MARK: - Labels and series

    private func labels(_ form: FormParameters) async throws -> [String] {
        try await selected(form, required: false).isEmpty ? [] : ["__name__", "device"]
    }

    private func labelValues(_ name: String, _ form: FormParameters) async throws -> [String] {
        let series = try await selected(form, required: false)
        let values: Set<String> =
            switch name {
            case "__name__": Set(series.map { PromNames.exposed($0.metric) })
            case "device": Set(series.map(\.device))
            default: []
            }
        return values.sorted()
    }

    private func series(_ form: FormParameters) async throws -> [[String: String]] {
        try await selected(form, required: true).map { ["__name__": PromNames.exposed($0.metric), "device": $0.device] }
    }

    /// The series any `match[]` selects, or every series when none is given (and none is required).
    private func selected(_ form: FormParameters, required: Bool) async throws -> [SeriesCatalog.Entry] {
        let catalog = try await SeriesCatalog(hub.store.deviceStatuses())
        let matches = form.all("match[]")
        if matches.isEmpty {
            if required { throw PrometheusError.badData("no match[] parameter provided") }
            return catalog.entries
        }
        var chosen: [SeriesCatalog.Entry] = []
        var seen = Set<SeriesCatalog.Entry>()
        for text in matches {
            guard case .selector(let selector) = try Self.parse(text) else {
                throw PrometheusError.badData("match[] \(JSONText.quoted(String(text.prefix(80)))) must be a series selector")
            }
            for entry in catalog.matching(selector) where seen.insert(entry).inserted { chosen.append(entry) }
        }
        return chosen
    }

    // MARK: - Parameters and answers

    private static func expression(_ form: FormParameters) throws -> PromExpression {
        try parse(try required(form, "query"))
    }

    private static func parse(_ text: String) throws -> PromExpression {
        do {
            return try PromParser.parse(text)
        } catch {
            throw PrometheusError.badData("invalid parameter \"query\": \(error.message)")
        }
    }

    private static func required(_ form: FormParameters, _ name: String) throws -> String {
        guard let value = form[name], !value.isEmpty else { throw PrometheusError.badData("missing parameter \(JSONText.quoted(name))") }
        return value
    }

    private static func time(_ text: String, _ name: String) throws -> Int64 {
        guard let ms = PromTime.time(text) else {
            throw PrometheusError.badData("invalid parameter \(JSONText.quoted(name)): cannot parse \(JSONText.quoted(String(text.prefix(40)))) to a valid timestamp")
        }
        return ms
    }

    /// Authenticates, reads the parameters, and answers `data` as
    /// `{"status":"success","data":…}`, or an error in Prometheus's shape.
    private func answering<Data: Encodable>(
        _ request: Request, _ context: HubRequestContext, _ data: (FormParameters) async throws -> Data
    ) async -> Response {
        do {
            try await hub.requireReader(request, context, credential: Credentials.prometheus)
            let form = try await FormParameters(request)
            return WireResponseEncoder.response(PrometheusSuccess(data: try await data(form)))
        } catch {
            let problem = PrometheusError(error)
            var response = WireResponseEncoder.response(
                PrometheusFailure(errorType: problem.type, error: problem.message), status: problem.status)
            response.headers.append(contentsOf: problem.headers)
            return response
        }
    }
}
