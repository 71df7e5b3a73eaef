#if canImport(Glibc)
import Glibc
#endif
import Logging

/// One line per event in logfmt, the format Prometheus and its exporters log in:
/// `ts=2026-11-23T10:01:02.345Z level=info logger=sampler msg="started" frequency=19`.
public struct LogfmtHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, sink: @escaping @Sendable (String) -> Void = LogfmtHandler.stderr) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts=\(SystemClock().wallNow.rfc3339) level=\(Self.levelName(event.level)) logger=\(label) msg="
        line += Self.quote(event.message.description)
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quote(merged[key]!.description))"
        }
        line += "\n"
        sink(line)
    }

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warn"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    /// Quotes a value when it has spaces, quotes, `=` or control characters.
    static func quote(_ s: String) -> String {
        let needs = s.isEmpty || s.utf8.contains { $0 <= 32 || $0 == 34 || $0 == 61 || $0 == 92 }
        guard needs else { return s }
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    public static let stderr: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in
            _ = Glibc.write(2, buf.baseAddress, buf.count)
        }
    }

    /// Parses `--log.level` values (Prometheus' names: debug, info, warn, error).
    public static func parseLevel(_ s: String) -> Logger.Level? {
        switch s.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "notice": return .notice
        case "warn", "warning": return .warning
        case "error": return .error
        case "critical": return .critical
        default: return nil
        }
    }
}
