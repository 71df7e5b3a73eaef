/// A function as symbolization found it. One instance per function of a loaded object
/// (shared by every frame in it), so aggregates intern functions by identity.
public final class FunctionInfo: Sendable {
    /// The readable (demangled) name, or `[file]` / `[unknown]` when no symbol covers the address.
    public let name: String
    /// The name as the object spells it (mangled); the same as `name` when not mangled.
    public let systemName: String
    /// The source file when DWARF line tables named one, else the object's path.
    public let file: String
    /// Whether a symbol was found.
    public let isSymbolized: Bool

    /// A function threads start in (`main`, `_start`, `start_thread`, `runtime.goexit`...):
    /// a stack whose outermost frame is one is complete.
    let isThreadRoot: Bool

    public init(name: String, systemName: String, file: String, isSymbolized: Bool = true) {
        self.name = name
        self.systemName = systemName
        self.file = file
        self.isSymbolized = isSymbolized
        isThreadRoot = isSymbolized && Self.threadRoots.contains(name)
    }

    static let threadRoots: Set<String> = [
        "main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone", "clone3",
        "__clone", "__clone3", "__clone_internal", "thread_start", "__thread_start", "_dl_start_user",
        "runtime.goexit", "runtime.goexit.abi0", "runtime.mstart", "runtime.mstart.abi0", "runtime.rt0_go",
        "runtime.rt0_go.abi0",
    ]
}

/// Where a frame's code was loaded: one executable mapping of one process, the kernel, or
/// a JIT's memory (one instance per mapping; aggregates intern by identity).
public final class MappingInfo: Sendable {
    public let start: UInt64
    public let limit: UInt64
    /// The file offset of `start`.
    public let offset: UInt64
    /// The file as the process sees it, `[kernel.kallsyms]`, or the perf map of a JIT.
    public let file: String
    /// The GNU build-id in hex, "" when the file has none.
    public let buildID: String

    public init(start: UInt64, limit: UInt64, offset: UInt64, file: String, buildID: String) {
        self.start = start
        self.limit = limit
        self.offset = offset
        self.file = file
        self.buildID = buildID
    }
}

/// One frame of a sampled stack.
public struct StackFrame: Sendable {
    public enum Kind: UInt8, Sendable {
        case user, kernel, jit
    }

    /// The address symbolized: the sampled instruction for the innermost frame, the return
    /// address minus one for callers (the call instruction; a call may be a function's
    /// last instruction, so the return address can lie in the next function).
    public var address: UInt64
    public var kind: Kind
    public var function: FunctionInfo
    public var mapping: MappingInfo?
    /// Source line, 0 when unknown.
    public var line: Int32

    public init(address: UInt64, kind: Kind, function: FunctionInfo, mapping: MappingInfo?, line: Int32) {
        self.address = address
        self.kind = kind
        self.function = function
        self.mapping = mapping
        self.line = line
    }
}

/// The samples of one tick (or one drain), unwound and symbolized: each sample's frames are a range of
/// `frames`, innermost (leaf) first, kernel frames before user frames. The engine reuses
/// the arrays' storage from drain to drain.
public struct StackBatch: Sendable {
    public struct Sample: Sendable {
        public var pid: Int32
        public var tid: Int32
        /// The group of the sampled process (as given to `StackSampler.setTargets`).
        public var group: String
        /// The thread's name (its comm when sampled).
        public var thread: String
        /// Nanoseconds since boot (CLOCK_MONOTONIC of the kernel's perf clock).
        public var time: UInt64
        public var frames: Range<Int>
    }

    public internal(set) var samples: [Sample] = []
    public internal(set) var frames: [StackFrame] = []

    public init() {}

    public var isEmpty: Bool { samples.isEmpty }

    /// The frames of one sample, leaf first.
    public func frames(of sample: Sample) -> ArraySlice<StackFrame> { frames[sample.frames] }

    /// Appends another batch's samples and frames.
    public mutating func append(_ other: StackBatch) {
        let base = frames.count
        frames.append(contentsOf: other.frames)
        for var s in other.samples {
            s.frames = (s.frames.lowerBound + base)..<(s.frames.upperBound + base)
            samples.append(s)
        }
    }

    mutating func removeAll() {
        samples.removeAll(keepingCapacity: true)
        frames.removeAll(keepingCapacity: true)
    }
}
