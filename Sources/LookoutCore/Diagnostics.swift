/// Where something is in a file people edit: config, rule files, test files.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a file, printed as `FILE:LINE:COL: message`.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    public init(_ message: String, at location: SourceLocation?) {
        self.message = message
        self.location = location
    }

    public init(_ message: String, file: String) {
        self.message = message
        self.location = SourceLocation(file: file, line: 1, column: 1)
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// All problems found while loading a file; a loader reports every one it finds, not just the first.
public struct Diagnostics: Error, Sendable, CustomStringConvertible {
    public var items: [Diagnostic]

    public init(_ items: [Diagnostic]) { self.items = items }

    public var description: String { items.map(\.description).joined(separator: "\n") }
}

/// `scheme://user:password@host/path` → `scheme://host/path`: credentials in a URL are
/// never shown (logs, the status page, error messages).
public func redactingCredentials(_ url: String) -> String {
    guard let schemeEnd = url.firstRange(of: "://") else { return url }
    let rest = url[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
    return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
}
