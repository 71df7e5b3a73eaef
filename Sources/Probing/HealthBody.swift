import GoFormat
import LookoutCore

/// How a health endpoint's body is read per component (`parse:` of an endpoint).
public enum HealthBodyFormat: String, Sendable, Hashable, CaseIterable {
    /// Detected from the content type and the body's shape.
    case auto
    /// Spring Boot Actuator: `{"status":"UP","components":{"db":{"status":"UP","details":{...}}}}`.
    case spring
    /// MicroProfile / Quarkus / Helidon Health: `{"status":"DOWN","checks":[{"name":..,"status":..,"data":{..}}]}`.
    case microprofile
    /// The IETF health check response format (`application/health+json`).
    case healthJSON = "health+json"
    /// The body is not read per component.
    case none
}

/// One dependency a health body reports on.
public struct HealthComponent: Sendable, Hashable {
    /// The component's name as a label value: nested Spring components are joined with `/`.
    public var name: String
    /// The status as the body spells it (`UP`, `OUT_OF_SERVICE`, `warn`, ...).
    public var status: String
    /// 1 up/pass, 0.5 warn (or a status that says neither), 0 down/fail.
    public var up: Double
    /// The time the body says the component's check took, when it says so.
    public var durationSeconds: Double?
    /// Whether it holds other components (a Spring composite); its time is not a check of its own.
    public var isComposite: Bool

    public init(name: String, status: String, up: Double, durationSeconds: Double? = nil, isComposite: Bool = false) {
        self.name = name
        self.status = status
        self.up = up
        self.durationSeconds = durationSeconds
        self.isComposite = isComposite
    }
}

/// What a health body says about its components.
public struct HealthReport: Sendable, Hashable {
    public var format: HealthBodyFormat
    /// The body's overall status as it spells it.
    public var status: String?
    /// In the body's order, at most the limit.
    public var components: [HealthComponent]
    /// Components left out: past the limit, or a name already taken.
    public var droppedComponents: Int

    public init(format: HealthBodyFormat, status: String?, components: [HealthComponent], droppedComponents: Int = 0) {
        self.format = format
        self.status = status
        self.components = components
        self.droppedComponents = droppedComponents
    }
}

/// Why a body could not be read per component. It never fails the probe by itself.
public struct HealthBodyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads detailed health bodies: Spring Boot Actuator, MicroProfile Health and IETF
/// health+json. A pure function of the body and its content type.
public enum HealthBodyParser {
    /// Components kept per body by default.
    public static let defaultComponentLimit = 100
    /// The longest component name kept, in bytes (longer ones are cut at a character boundary).
    public static let maxNameBytes = 128
    static let maxDepth = 32

    /// Parses `body` as `format`. Returns nil for `.none`, and for `.auto` when the body is
    /// not one of the three formats (a plain `OK`, HTML, an unrelated JSON document).
    public static func parse(
        _ body: [UInt8], contentType: String?, format: HealthBodyFormat, componentLimit: Int = defaultComponentLimit
    ) throws(HealthBodyError) -> HealthReport? {
        if format == .none { return nil }
        let mediaType = contentType.map(Self.mediaType) ?? ""
        let declaredHealthJSON = mediaType == "application/health+json"
        let looksJSON = declaredHealthJSON || mediaType == "application/json" || mediaType.hasSuffix("+json")
            || body.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "{")
        if format == .auto && !looksJSON { return nil }
        let json: JSON
        do { json = try JSON(parsing: body, maxDepth: maxDepth) } catch {
            if format == .auto && !declaredHealthJSON && mediaType != "application/json" && !mediaType.hasSuffix("+json") {
                return nil
            }
            throw HealthBodyError("malformed JSON: \(error.description)")
        }
        guard case .object = json else {
            if format == .auto && !declaredHealthJSON { return nil }
            throw HealthBodyError("expected a JSON object, found \(json.kindDescription)")
        }
        var limits = Collector(limit: componentLimit)
        switch format {
        case .none: return nil
        case .spring: return try spring(json, into: &limits)
        case .microprofile: return try microprofile(json, into: &limits)
        case .healthJSON: return try healthJSON(json, into: &limits)
        case .auto:
            if declaredHealthJSON {
                guard Self.isHealthJSONShape(json) else {
                    throw HealthBodyError(
                        "the content type is application/health+json but the body is not: "
                            + "its \"status\" must be pass, warn or fail and its \"checks\" an object")
                }
                return try healthJSON(json, into: &limits)
            }
            if json["checks"]?.arrayValue != nil { return try microprofile(json, into: &limits) }
            if Self.isHealthJSONShape(json) { return try healthJSON(json, into: &limits) }
            if json["components"]?.objectValue != nil || Self.springDetails(json) != nil {
                return try spring(json, into: &limits)
            }
            return nil
        }
    }

    // MARK: Formats

    static func spring(_ json: JSON, into c: inout Collector) throws(HealthBodyError) -> HealthReport {
        guard let status = json["status"]?.stringValue else { throw HealthBodyError("no \"status\" string at the top level") }
        guard let children = json["components"]?.objectValue ?? springDetails(json) else {
            throw HealthBodyError("no \"components\" object at the top level")
        }
        springComponents(children, prefix: "", depth: 1, into: &c)
        return HealthReport(format: .spring, status: status, components: c.components, droppedComponents: c.dropped)
    }

    /// Spring Boot 2.0/2.1 wrote components under `details`; recognized when every entry is a component.
    static func springDetails(_ json: JSON) -> [(String, JSON)]? {
        guard json["status"]?.stringValue != nil, let details = json["details"]?.objectValue, !details.isEmpty,
            details.allSatisfy({ $0.1["status"]?.stringValue != nil })
        else { return nil }
        return details
    }

    static func springComponents(_ entries: [(String, JSON)], prefix: String, depth: Int, into c: inout Collector) {
        for (key, value) in entries {
            let name = prefix.isEmpty ? key : prefix + "/" + key
            guard let status = value["status"]?.stringValue else {
                c.dropped += 1
                continue
            }
            let nested = value["components"]?.objectValue
            let details = value["details"]
            c.add(
                HealthComponent(
                    name: name, status: status, up: upValue(status),
                    durationSeconds: details.flatMap(durationField), isComposite: nested != nil))
            if let nested, depth < maxDepth { springComponents(nested, prefix: name, depth: depth + 1, into: &c) }
        }
    }

    static func microprofile(_ json: JSON, into c: inout Collector) throws(HealthBodyError) -> HealthReport {
        guard let status = json["status"]?.stringValue else { throw HealthBodyError("no \"status\" string at the top level") }
        guard let checks = json["checks"]?.arrayValue else { throw HealthBodyError("no \"checks\" array at the top level") }
        for check in checks {
            guard let name = check["name"]?.stringValue, let checkStatus = check["status"]?.stringValue else {
                c.dropped += 1
                continue
            }
            c.add(
                HealthComponent(
                    name: name, status: checkStatus, up: upValue(checkStatus),
                    durationSeconds: check["data"].flatMap(durationField)))
        }
        return HealthReport(format: .microprofile, status: status, components: c.components, droppedComponents: c.dropped)
    }

    static func isHealthJSONShape(_ json: JSON) -> Bool {
        guard let status = json["status"]?.stringValue, ["pass", "warn", "fail"].contains(status.lowercased()) else {
            return false
        }
        if let checks = json["checks"] { return checks.objectValue != nil }
        return true
    }

    /// `checks` is keyed `component:measurement`; each value is an array of observations
    /// (one per instance, told apart by `componentId`).
    static func healthJSON(_ json: JSON, into c: inout Collector) throws(HealthBodyError) -> HealthReport {
        guard let status = json["status"]?.stringValue else { throw HealthBodyError("no \"status\" string at the top level") }
        let checks: [(String, JSON)]
        switch json["checks"] {
        case nil: checks = []
        case .some(let value):
            guard let object = value.objectValue else { throw HealthBodyError("\"checks\" must be an object") }
            checks = object
        }
        // Components in the order first seen; a component's status is its worst measurement's.
        var order: [String] = []
        var merged: [String: HealthComponent] = [:]
        func split(_ key: String) -> (component: String, measurement: String) {
            let parts = key.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        func observations(_ value: JSON) -> [JSON] { value.arrayValue ?? (value.objectValue != nil ? [value] : []) }
        // A component seen with several componentIds (instances) is one series per instance.
        var instances: [String: Set<String>] = [:]
        for (key, value) in checks {
            for o in observations(value) {
                if let id = o["componentId"]?.scalarText { instances[split(key).component, default: []].insert(id) }
            }
        }
        for (key, value) in checks {
            let (component, measurement) = split(key)
            let observations = observations(value)
            if observations.isEmpty {
                c.dropped += 1
                continue
            }
            let several = (instances[component]?.count ?? 0) > 1
            for observation in observations {
                var name = component.isEmpty ? (observation["componentId"]?.scalarText ?? "") : component
                if several, let id = observation["componentId"]?.scalarText, !component.isEmpty {
                    name += "/" + id
                }
                guard !name.isEmpty else {
                    c.dropped += 1
                    continue
                }
                let observed = observation["status"]?.stringValue ?? status
                var duration: Double?
                if measurement == "responseTime", let value = observation["observedValue"] {
                    duration = durationValue(value, unit: observation["observedUnit"]?.stringValue)
                }
                if var existing = merged[name] {
                    if upValue(observed) < existing.up {
                        existing.up = upValue(observed)
                        existing.status = observed
                    }
                    if let duration { existing.durationSeconds = duration }
                    merged[name] = existing
                } else {
                    order.append(name)
                    merged[name] = HealthComponent(
                        name: name, status: observed, up: upValue(observed), durationSeconds: duration)
                }
            }
        }
        for name in order { if let component = merged[name] { c.add(component) } }
        return HealthReport(format: .healthJSON, status: status, components: c.components, droppedComponents: c.dropped)
    }

    // MARK: Values

    /// 1 up/pass, 0 down/fail, 0.5 for warn and any status that says neither (`UNKNOWN`).
    public static func upValue(_ status: String) -> Double {
        switch status.uppercased() {
        case "UP", "PASS", "OK", "HEALTHY": return 1
        case "DOWN", "FAIL", "OUT_OF_SERVICE", "ERROR", "UNHEALTHY", "CRITICAL": return 0
        default: return 0.5
        }
    }

    static let durationKeys = ["duration", "durationMs", "responseTime", "latency", "elapsed"]

    /// A duration in a Spring `details` or MicroProfile `data` object.
    static func durationField(_ details: JSON) -> Double? {
        for key in durationKeys {
            if let value = details[key], let seconds = durationValue(value, unit: nil) { return seconds }
        }
        return nil
    }

    /// A number of `unit` (milliseconds when none), or a string such as `2.1s`, `150ms`, `1m30s`, `"250"`.
    static func durationValue(_ value: JSON, unit: String?) -> Double? {
        let scale: Double
        switch (unit ?? "ms").lowercased() {
        case "ns": scale = 1e-9
        case "us", "µs": scale = 1e-6
        case "ms": scale = 1e-3
        case "s": scale = 1
        case "m", "min": scale = 60
        default: return nil
        }
        if let n = value.doubleValue { return n.isFinite && n >= 0 ? n * scale : nil }
        guard let text = value.stringValue?.filter({ !$0.isWhitespace }), !text.isEmpty else { return nil }
        if let n = Double(text) { return n.isFinite && n >= 0 ? n * scale : nil }
        return GoDuration.seconds(text)
    }

    // MARK: Helpers

    struct Collector {
        let limit: Int
        var components: [HealthComponent] = []
        var names: Set<String> = []
        var dropped = 0

        init(limit: Int) { self.limit = max(0, limit) }

        mutating func add(_ component: HealthComponent) {
            var component = component
            component.name = HealthBodyParser.sanitizedName(component.name)
            guard components.count < limit, !component.name.isEmpty, names.insert(component.name).inserted else {
                dropped += 1
                return
            }
            components.append(component)
        }
    }

    /// A label value: control characters become `_`, at most `maxNameBytes` bytes.
    public static func sanitizedName(_ name: String) -> String {
        var out = ""
        var bytes = 0
        for scalar in name.unicodeScalars {
            let s: Unicode.Scalar = scalar.value < 0x20 || scalar.value == 0x7F ? "_" : scalar
            let width = UTF8.width(s)
            if bytes + width > maxNameBytes { break }
            out.unicodeScalars.append(s)
            bytes += width
        }
        return out
    }

    static func mediaType(_ contentType: String) -> String {
        let base = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return base.filter { !$0.isWhitespace }.lowercased()
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
}

/// Components whose checks ran one after another: their times add up to the whole probe's.
public struct SequentialChecks: Sendable, Hashable {
    /// The components with a time of their own, in the body's order.
    public var parts: [(name: String, seconds: Double)]
    public var probeSeconds: Double

    public static func == (a: Self, b: Self) -> Bool {
        a.probeSeconds == b.probeSeconds && a.parts.map(\.name) == b.parts.map(\.name)
            && a.parts.map(\.seconds) == b.parts.map(\.seconds)
    }
    public func hash(into h: inout Hasher) {
        h.combine(probeSeconds)
        for p in parts {
            h.combine(p.name)
            h.combine(p.seconds)
        }
    }

    /// The sum of the parts' times.
    public var totalSeconds: Double { parts.reduce(0) { $0 + $1.seconds } }

    /// Ran one after another: two or more timed components whose sum is within 15% of the
    /// probe's time and at least 1.3 times the largest (one slow component among fast
    /// parallel ones does not count).
    public var isSequential: Bool {
        guard parts.count >= 2, probeSeconds > 0 else { return false }
        let total = totalSeconds
        let largest = parts.map(\.seconds).max() ?? 0
        return abs(total - probeSeconds) <= 0.15 * probeSeconds && total >= 1.3 * largest && largest > 0
    }

    /// `auth 2.0 s + channel 3.0 s + giveaway 5.0 s = 10.0 s of a 10.1 s check`.
    public var explanation: String {
        parts.map { "\($0.name) \(Self.seconds($0.seconds))" }.joined(separator: " + ") + " = \(Self.seconds(totalSeconds))"
            + " of a \(Self.seconds(probeSeconds)) check"
    }

    public init?(_ report: HealthReport, probeSeconds: Double) {
        let timed = report.components.compactMap { c -> (name: String, seconds: Double)? in
            guard !c.isComposite, let d = c.durationSeconds else { return nil }
            return (c.name, d)
        }
        guard timed.count >= 2 else { return nil }
        parts = timed
        self.probeSeconds = probeSeconds
    }

    static func seconds(_ s: Double) -> String { GoFloat.formatFixed(s, verb: "f", precision: 1) + " s" }
}

/// What the last answer of an endpoint said per component, as the prober keeps it.
public struct HealthBodyReading: Sendable, Hashable {
    /// nil when the body is not a component report (or could not be read: see `error`).
    public var report: HealthReport?
    /// Why the body could not be read; the probe's own verdict does not depend on it.
    public var error: String?
    /// Set when two or more components report a time of their own.
    public var sequential: SequentialChecks?

    public init(report: HealthReport?, error: String?, sequential: SequentialChecks?) {
        self.report = report
        self.error = error
        self.sequential = sequential
    }

    /// Reads `body` as `format`; `probeSeconds` is the whole probe's time.
    public init(
        body: [UInt8], contentType: String?, format: HealthBodyFormat, probeSeconds: Double,
        componentLimit: Int = HealthBodyParser.defaultComponentLimit
    ) {
        do {
            report = try HealthBodyParser.parse(body, contentType: contentType, format: format, componentLimit: componentLimit)
            error = nil
        } catch {
            report = nil
            self.error = error.message
        }
        sequential = report.flatMap { SequentialChecks($0, probeSeconds: probeSeconds) }
    }
}
