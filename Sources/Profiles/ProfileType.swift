import Sampling

/// Which threads a profile counts: the ones that ran (`cpu`), the ones in uninterruptible
/// sleep (`block`, by wait channel) or the ones waiting in futex (`mutex`).
public enum ProfileType: String, Sendable, Hashable, CaseIterable {
    case cpu, block, mutex

    /// The kind of sample the sampler reports for this profile.
    var sampleKind: ThreadSample.Kind {
        switch self {
        case .cpu: return .cpu
        case .block: return .blocked
        case .mutex: return .mutexWait
        }
    }

    /// What a recording asks the sampler for. cpu profiles want the kernel stack (the
    /// sampler reads the wait channel where the stack is unreadable); block samples carry
    /// their wait channel anyway and mutex samples have nothing more to read, so they
    /// only ask for samples (an empty, non-nil demand).
    var demand: ThreadSampleDemand {
        self == .cpu ? .kernelStack : []
    }

    /// The name of the second sample value and the period type: CPU time for cpu, time
    /// spent waiting for block and mutex (what Go's block and mutex profiles call `delay`).
    var valueName: String { self == .cpu ? "cpu" : "delay" }

    /// Whether the sampler collects what this profile needs with these settings; nil if
    /// it does, else the message that explains how to turn it on.
    public func unavailableReason(_ settings: SamplerSettings) -> String? {
        switch self {
        case .cpu:
            return settings.cpu ? nil : "cpu profile needs cpu sampling, which is off (set sampling.cpu: true)"
        case .block:
            return settings.block ? nil : "block profile needs block sampling, which is off (set sampling.block: true)"
        case .mutex:
            return settings.mutex ? nil : "mutex profile needs mutex sampling, which is off (set sampling.mutex: true)"
        }
    }
}

/// How a recorded profile is written.
public enum ProfileFormat: String, Sendable, Hashable, CaseIterable {
    /// A gzipped `perftools.profiles.Profile` (what `go tool pprof` reads).
    case pprof
    /// Brendan Gregg's folded stacks, one `frame;frame;frame count` line per stack.
    case folded
}
