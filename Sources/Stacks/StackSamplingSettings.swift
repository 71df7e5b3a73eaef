/// When the copied user stack is unwound with DWARF CFI instead of (or after) the kernel's
/// frame-pointer walk.
public enum DwarfUnwinding: String, Sendable, Hashable, CaseIterable {
    /// Where the frame-pointer chain does not reach a thread's first function (`main`,
    /// `start_thread`, `runtime.goexit`...): code without frame pointers cut it short.
    case auto
    /// For every sample.
    case always
    /// Never; no stack is copied (samples are smaller and cheaper).
    case never
}

/// How the perf events cover the sampled processes' threads.
public enum StackSamplingScope: String, Sendable, Hashable, CaseIterable {
    /// One event per CPU for every task (pid -1), samples kept only for the target
    /// processes. Threads are covered from their first instruction whoever created them,
    /// at the cost of sampling (and discarding) every other task on the host. Needs
    /// CAP_PERFMON, CAP_SYS_ADMIN or perf_event_paranoid <= 0.
    case cpus
    /// One event per target thread and CPU, inherited by the threads it creates. Only the
    /// targets are sampled; a process's threads that exist when it becomes a target get
    /// their own events. An unprivileged user may sample its own processes this way
    /// (user space only when perf_event_paranoid is 2).
    case tasks
}

/// What the stack sampler does; one value per engine, fixed while it runs.
public struct StackSamplingSettings: Sendable, Hashable {
    /// Samples per second of CPU time (`sampling.frequency`).
    public var frequency: Int
    public var dwarfUnwinding: DwarfUnwinding
    public var scope: StackSamplingScope
    /// Bytes of user stack each sample copies for DWARF unwinding (a multiple of 8,
    /// 1 KiB...64 KiB - 8 KiB); unused with `dwarfUnwinding: never`.
    public var stackCopyBytes: Int
    /// Data pages of each CPU's ring buffer (a power of two). One sample with a stack copy
    /// takes stackCopyBytes + ~1 KiB; the buffer must hold what arrives between two drains.
    public var ringPages: Int
    /// Kernel frames too (needs perf_event_paranoid <= 1 or CAP_PERFMON).
    public var kernelStacks: Bool
    /// Source lines from DWARF line tables, where the binary or its debug file has them.
    public var lineNumbers: Bool
    /// Bytes the symbol tables (ELF, kallsyms, perf maps) may hold; least recently used out.
    public var symbolCacheBytes: Int
    /// Frames kept per sample (user and kernel together).
    public var maxFrames: Int

    public init(
        frequency: Int = 19, dwarfUnwinding: DwarfUnwinding = .auto, scope: StackSamplingScope = .cpus,
        stackCopyBytes: Int = 8192, ringPages: Int? = nil, kernelStacks: Bool = true, lineNumbers: Bool = true,
        symbolCacheBytes: Int = 64 << 20, maxFrames: Int = 128
    ) {
        self.frequency = frequency
        self.dwarfUnwinding = dwarfUnwinding
        self.scope = scope
        self.stackCopyBytes = stackCopyBytes
        // ~0.8 s of samples at 19 Hz per CPU with stack copies; 128 KiB locked per CPU,
        // within perf_event_mlock_kb's default share (516 KiB) for an unprivileged user.
        self.ringPages = ringPages ?? (dwarfUnwinding == .never ? 8 : 32)
        self.kernelStacks = kernelStacks
        self.lineNumbers = lineNumbers
        self.symbolCacheBytes = symbolCacheBytes
        self.maxFrames = maxFrames
    }

    /// Nanoseconds of CPU time between samples: the value each sample stands for.
    public var periodNanoseconds: Int64 { 1_000_000_000 / Int64(max(frequency, 1)) }

    /// The stack copy size the kernel is asked for (0 when not unwinding with DWARF).
    var effectiveStackCopyBytes: Int {
        guard dwarfUnwinding != .never else { return 0 }
        return min(max(stackCopyBytes, 1024), 56 << 10) & ~7
    }

    /// Ring pages rounded down to a power of two, at least 1.
    var effectiveRingPages: Int {
        var p = 1
        while p * 2 <= max(ringPages, 1) { p *= 2 }
        return p
    }
}
