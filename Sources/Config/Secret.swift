import LookoutCore

/// A credential from the config or from a file it names: a password, a bearer token, a
/// signing key. It never prints: `description`, `debugDescription` and reflection (`dump`,
/// `Mirror`) all show `<secret>`, so a settings value can be logged or compared safely.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    /// The secret as text, for a header or a libcurl option; never for a message.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Secrets kept in files (`bearer_token_file`, `password_file`, `hmac_secret_file`,
/// `bearer_token_files`). Each file is read when the config loads, so a reload picks up a
/// rotated one.
public enum SecretFile {
    /// What around the secret is not part of it.
    public enum Trim: Sendable {
        /// Leading and trailing spaces, tabs and line breaks, as Prometheus trims secret files.
        case whitespace
        /// Only the line break at the end that editors add: for keys that may hold any bytes.
        case lineEnd
    }

    /// Reads a file's bytes; the file readers of the parsers take another one in tests.
    public typealias Reader = (String) throws -> [UInt8]

    /// The largest secret file read.
    public static let limit = 1 << 20

    public static func readBytes(_ path: String) throws -> [UInt8] {
        try FileIO.read(path, limit: limit)
    }

    /// The secret in the file at `path`, trimmed; nil when nothing is left of it.
    public static func read(_ path: String, trim: Trim, using read: Reader = readBytes) throws -> Secret? {
        var slice = try read(path)[...]
        switch trim {
        case .whitespace:
            let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
            while let f = slice.first, isSpace(f) { slice = slice.dropFirst() }
            while let l = slice.last, isSpace(l) { slice = slice.dropLast() }
        case .lineEnd:
            while let l = slice.last, l == 10 || l == 13 { slice = slice.dropLast() }
        }
        return slice.isEmpty ? nil : Secret(Array(slice))
    }
}

/// Paths in a config file.
public enum ConfigPath {
    /// A relative path is relative to the directory of the config file, as in Prometheus.
    public static func resolve(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/"), let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }
}

extension YAMLValue {
    /// A path relative to the directory of this value's config file.
    public func path(_ what: String) -> String? {
        string(what).map { ConfigPath.resolve($0, relativeTo: document.file) }
    }

    /// The secret in the file this value names. Errors name the file, never its contents.
    public func secretFile(
        _ what: String, trim: SecretFile.Trim = .whitespace, read: SecretFile.Reader = SecretFile.readBytes
    ) -> Secret? {
        guard let path = string(what) else { return nil }
        guard !path.isEmpty else {
            error("\(what) must not be empty")
            return nil
        }
        let full = ConfigPath.resolve(path, relativeTo: document.file)
        do {
            guard let secret = try SecretFile.read(full, trim: trim, using: read) else {
                error("\(what): \(full) is empty")
                return nil
            }
            return secret
        } catch let e as FileIO.Error {
            error("\(what): cannot read \(e)")
        } catch {
            self.error("\(what): cannot read \(full): \(error)")
        }
        return nil
    }
}
