import LookoutCore

/// A short history of CPU utilization for sparklines: one point per second, oldest first.
/// An immutable copy; the sampler keeps the last `capacity` seconds.
public struct UtilizationHistory: Sendable, Hashable {
    public struct Series: Sendable, Hashable {
        /// nil for the host, the group name otherwise.
        public var group: String?
        /// Mean utilization of each second's ticks; nil where a second had no tick.
        /// Host: busy fraction of all CPUs (0...1). Groups: 1.0 = one full core.
        public var mean: [Double?]
        /// The highest single tick of each second.
        public var peak: [Double?]

        public init(group: String?, mean: [Double?], peak: [Double?]) {
            self.group = group
            self.mean = mean
            self.peak = peak
        }
    }

    /// Time between points.
    public var resolution: Duration
    /// Wall-clock time at the end of the newest point; nil when there is no point yet.
    public var end: WallTime?
    public var host: Series
    public var groups: [Series]

    public init(resolution: Duration, end: WallTime?, host: Series, groups: [Series]) {
        self.resolution = resolution
        self.end = end
        self.host = host
        self.groups = groups
    }

    /// Points kept: five minutes at one per second.
    public static let defaultCapacity = 300
}

/// Per-second mean and peak of per-tick values, in a fixed ring (no allocation after init).
struct HistoryRing: Sendable, Hashable {
    private var seconds: [Int64]
    private var means: [Double]
    private var peaks: [Double]
    private var current: Int64 = -1
    private var sum = 0.0
    private var count = 0
    private var peak = 0.0

    init(capacity: Int) {
        seconds = [Int64](repeating: -1, count: capacity)
        means = [Double](repeating: 0, count: capacity)
        peaks = [Double](repeating: 0, count: capacity)
    }

    var capacity: Int { seconds.count }

    mutating func record(_ value: Double, second: Int64) {
        if second != current {
            if second < current { return }
            flush()
            current = second
        }
        sum += value
        count += 1
        if value > peak || count == 1 { peak = value }
    }

    private mutating func flush() {
        guard count > 0, current >= 0 else { return }
        let i = Int(current % Int64(capacity))
        seconds[i] = current
        means[i] = sum / Double(count)
        peaks[i] = peak
        sum = 0
        count = 0
        peak = 0
    }

    /// Points for the seconds `last - capacity + 1 ... last`, oldest first.
    func series(endingAt last: Int64) -> (mean: [Double?], peak: [Double?]) {
        var mean: [Double?] = []
        var peakOut: [Double?] = []
        mean.reserveCapacity(capacity)
        peakOut.reserveCapacity(capacity)
        var s = last - Int64(capacity) + 1
        while s <= last {
            let i = Int(((s % Int64(capacity)) + Int64(capacity)) % Int64(capacity))
            if s >= 0, s == current, count > 0 {
                // The second still being filled (no tick of a later second yet).
                mean.append(sum / Double(count))
                peakOut.append(peak)
            } else if s >= 0, seconds[i] == s {
                mean.append(means[i])
                peakOut.append(peaks[i])
            } else {
                mean.append(nil)
                peakOut.append(nil)
            }
            s += 1
        }
        return (mean, peakOut)
    }
}
