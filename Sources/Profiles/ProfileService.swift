import LookoutCore
import Sampling

/// What `GET /debug/pprof/profile` asks for.
public struct ProfileRequest: Sendable, Hashable {
    public static let defaultSeconds = 10
    public static let maxSeconds = 300

    public var seconds: Int
    public var type: ProfileType
    public var format: ProfileFormat

    public init(seconds: Int = ProfileRequest.defaultSeconds, type: ProfileType = .cpu, format: ProfileFormat = .pprof) {
        self.seconds = seconds
        self.type = type
        self.format = format
    }

    /// Reads `seconds` (whole seconds, 1...300, default 10), `type` (cpu, block, mutex;
    /// default cpu) and `format` (pprof, folded; default pprof). The first value of a
    /// parameter counts, as in Go's net/http/pprof; other parameters are ignored.
    public static func parse(query: [(name: String, value: String)]) throws(ProfileError) -> ProfileRequest {
        var r = ProfileRequest()
        func first(_ name: String) -> String? { query.first { $0.name == name }?.value }
        if let s = first("seconds") {
            guard let n = Int(s), (1...maxSeconds).contains(n) else {
                throw ProfileError(
                    .badRequest, "seconds must be a whole number from 1 to \(maxSeconds), got \(quoted(s))")
            }
            r.seconds = n
        }
        if let t = first("type") {
            guard let type = ProfileType(rawValue: t) else {
                throw ProfileError(.badRequest, "type must be cpu, block or mutex, got \(quoted(t))")
            }
            r.type = type
        }
        if let f = first("format") {
            guard let format = ProfileFormat(rawValue: f) else {
                throw ProfileError(.badRequest, "format must be pprof or folded, got \(quoted(f))")
            }
            r.format = format
        }
        return r
    }

    /// The value as the client sent it, cut short and with control characters escaped, so
    /// an error message stays one readable line.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars.prefix(64) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        if s.unicodeScalars.count > 64 { out += "..." }
        return out + "\""
    }
}

/// An HTTP answer in the server's terms, without depending on it.
public struct ProfileResponse: Sendable {
    public var status: Int
    public var contentType: String
    /// Headers besides `Content-Type`.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, contentType: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// All headers including `Content-Type`.
    public var allHeaders: [(name: String, value: String)] { [("Content-Type", contentType)] + headers }

    static func error(_ e: ProfileError) -> ProfileResponse {
        ProfileResponse(
            status: e.status, contentType: "text/plain; charset=utf-8", headers: [("X-Content-Type-Options", "nosniff")],
            body: Array((e.message + "\n").utf8))
    }
}

/// `GET /debug/pprof/profile?seconds=N&type=cpu|block|mutex&format=pprof|folded`: records
/// from the running sampler for N seconds, then answers with the gzipped pprof profile
/// (as Go's net/http/pprof does: `application/octet-stream`, an attachment) or folded
/// stacks (`text/plain`). Malformed parameters, and block or mutex while that sampling is
/// off, are 400 with a message; the route should be an asynchronous one.
///
/// Wiring (the Agent):
/// ```swift
/// let recorder = ProfileRecorder(clock: clock)
/// let sampler = Sampler(..., clock: clock, reporters: [recorder])
/// let profiles = ProfileService(recorder: recorder, sampler: sampler)
/// Route(["GET"], "/debug/pprof/profile", handler: .async { req in
///     let r = await profiles.handle(query: req.query)
///     return HTTPResponse(status: r.status, headers: r.allHeaders, body: r.body)
/// })
/// ```
public final class ProfileService: Sendable {
    public let recorder: ProfileRecorder
    private let settings: @Sendable () -> SamplerSettings

    /// - Parameter settings: the sampler's current settings (read per request, so reloads
    ///   that turn block or mutex sampling on or off count at once).
    public init(recorder: ProfileRecorder, settings: @escaping @Sendable () -> SamplerSettings) {
        self.recorder = recorder
        self.settings = settings
    }

    /// Serves profiles from `sampler`, which must have `recorder` among its reporters.
    public convenience init(recorder: ProfileRecorder, sampler: Sampler) {
        let metrics = sampler.metrics
        self.init(recorder: recorder, settings: { metrics.settings })
    }

    public func handle(query: [(name: String, value: String)]) async -> ProfileResponse {
        await answer(query) { request, profile throws(ProfileError) in
            let body = try profile.encoded(request.format, defaultFrequency: settings().frequency)
            return Self.response(request.format, body, dropped: profile.droppedSamples)
        }
    }

    /// `GET /debug/pprof/flamegraph?seconds=N[&group=NAME]`: records like `handle` (cpu),
    /// then answers a self-contained, zoomable SVG flame graph: of real stacks when stack
    /// sampling is active, else thread-level; `group` keeps one group's stacks.
    public func flameGraph(query: [(name: String, value: String)]) async -> ProfileResponse {
        let group = query.first { $0.name == "group" }?.value
        return await answer(query, type: .cpu) { _, profile in
            let svg = profile.flameGraph(title: group.map { "CPU of \($0)" } ?? "CPU", group: group)
            return ProfileResponse(
                status: 200, contentType: "image/svg+xml", headers: [("X-Content-Type-Options", "nosniff")],
                body: Array(svg.utf8))
        }
    }

    /// Parses the query (with `type` fixed when given), records, and answers with `encode`'s
    /// response; errors become their status and message.
    private func answer(
        _ query: [(name: String, value: String)], type: ProfileType? = nil,
        _ encode: (ProfileRequest, RecordedProfile) throws(ProfileError) -> ProfileResponse
    ) async -> ProfileResponse {
        var request: ProfileRequest
        do {
            request = try ProfileRequest.parse(query: query)
        } catch {
            return .error(error)
        }
        if let type { request.type = type }
        do {
            return try encode(request, try await record(request))
        } catch let error as ProfileError {
            return .error(error)
        } catch {
            // Cancelled: the client went away; nobody reads this answer.
            return .error(ProfileError(.cancelled, "profile cancelled"))
        }
    }

    /// Records what `request` asks for from the running sampler. Throws `ProfileError`
    /// when the needed sampling is off, too many recordings run, or the sampler did not
    /// tick; `CancellationError` when the task is cancelled.
    public func record(_ request: ProfileRequest) async throws -> RecordedProfile {
        if let reason = request.type.unavailableReason(settings()) {
            throw ProfileError(.samplingOff, reason)
        }
        let profile = try await recorder.record(request.type, for: .seconds(request.seconds))
        guard profile.aggregate.ticks > 0 else {
            throw ProfileError(.noTicks, "the sampler did not tick during the \(request.seconds)s window; is it running?")
        }
        return profile
    }

    static func response(_ format: ProfileFormat, _ body: [UInt8], dropped: Int64) -> ProfileResponse {
        var headers: [(name: String, value: String)] = [("X-Content-Type-Options", "nosniff")]
        if dropped > 0 { headers.append(("X-Lookout-Profile-Dropped-Samples", String(dropped))) }
        switch format {
        case .pprof:
            headers.append(("Content-Disposition", "attachment; filename=\"profile.pb.gz\""))
            return ProfileResponse(status: 200, contentType: "application/octet-stream", headers: headers, body: body)
        case .folded:
            return ProfileResponse(status: 200, contentType: "text/plain; charset=utf-8", headers: headers, body: body)
        }
    }
}
