/// Why a profile could not be served or recorded. `description` is safe to show to the
/// client; `status` is the HTTP status it maps to.
public struct ProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A query parameter is malformed or out of range.
        case badRequest
        /// The profile type needs sampling that is off.
        case samplingOff
        /// Too many recordings are running.
        case tooManyRecordings
        /// The sampler did not tick during the window.
        case noTicks
        /// Compressing the profile failed.
        case encoding
        /// The recording was cancelled (the client went away, the agent is stopping).
        case cancelled
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var status: Int {
        switch kind {
        case .badRequest, .samplingOff: return 400
        case .tooManyRecordings: return 429
        case .noTicks, .cancelled: return 503
        case .encoding: return 500
        }
    }
}
