import ServiceLifecycle

/// Runs a long-running loop (the sampler, the prober, the rules...) as a service's `run()`:
/// the loop is cancelled when the service group shuts down gracefully (or the task is
/// cancelled), and ending by cancellation is its normal end, not an error.
public func runUntilShutdown(_ loop: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(loop)
    } catch is CancellationError {
        // Stopping on shutdown is the normal end of a loop.
    }
}
