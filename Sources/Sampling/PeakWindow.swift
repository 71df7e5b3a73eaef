import LookoutCore

/// The largest value recorded in the last `window`, kept as a ring of per-slot maxima
/// (16 slots of window/15 each: 1 s slots for the default 15 s). Recording and reading
/// never allocate; the answer covers between `window` and `window` plus one slot.
struct PeakWindow: Sendable, Hashable {
    static let slotCount: Int64 = 16
    let slotNanoseconds: Int64
    private var slots: [Double]
    /// Absolute number (time / slot width) of the newest slot written; nil before the first.
    private var newest: Int64?

    init(window: Duration) {
        slotNanoseconds = max(window.nanoseconds / (Self.slotCount - 1), 1_000_000)
        slots = [Double](repeating: 0, count: Int(Self.slotCount))
    }

    private func position(_ slot: Int64) -> Int { Int(((slot % Self.slotCount) + Self.slotCount) % Self.slotCount) }

    mutating func record(_ value: Double, at time: MonotonicInstant) {
        let slot = time.nanoseconds / slotNanoseconds
        if let newest {
            if slot > newest {
                if slot - newest >= Self.slotCount {
                    for i in slots.indices { slots[i] = 0 }
                } else {
                    var s = newest + 1
                    while s <= slot {
                        slots[position(s)] = 0
                        s += 1
                    }
                }
                self.newest = slot
            } else if slot <= newest - Self.slotCount {
                return  // older than the window
            }
        } else {
            newest = slot
        }
        let i = position(slot)
        if value > slots[i] { slots[i] = value }
    }

    /// The maximum over the slots that are still inside the window at `time`.
    func peak(at time: MonotonicInstant) -> Double {
        guard let newest else { return 0 }
        let now = max(time.nanoseconds / slotNanoseconds, newest)
        var best = 0.0
        var s = max(now - Self.slotCount + 1, newest - Self.slotCount + 1)
        while s <= newest {
            best = max(best, slots[position(s)])
            s += 1
        }
        return best
    }
}
