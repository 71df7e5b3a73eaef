import Exposition
import LookoutCore
import Server

/// The agent's HTTP endpoints (DESIGN.md, "HTTP endpoints").
struct Routes: Sendable {
    let registry: Registry
    let readiness: Readiness
    let enableLifecycle: Bool
    let reload: @Sendable () async -> Result<Void, Diagnostics>

    init(
        registry: Registry, readiness: Readiness, enableLifecycle: Bool,
        reload: @escaping @Sendable () async -> Result<Void, Diagnostics>
    ) {
        self.registry = registry
        self.readiness = readiness
        self.enableLifecycle = enableLifecycle
        self.reload = reload
    }

    func router() -> Router {
        var router = Router()
        // No I/O, no locks beyond a flag: answers while everything else is busy.
        router.add(Route(["GET"], "/-/healthy", handler: .sync { _ in .text("lookout is Healthy.\n") }))
        let readiness = self.readiness
        router.add(
            Route(["GET"], "/-/ready", handler: .sync { _ in
                readiness.isReady ? .text("lookout is Ready.\n") : .text("lookout is not ready.\n", status: 503)
            }))
        if enableLifecycle {
            let reload = self.reload
            router.add(
                Route(["POST", "PUT"], "/-/reload", acceptsBody: true, handler: .async { _ in
                    switch await reload() {
                    case .success: return .text("configuration reloaded\n")
                    case .failure(let d): return .text("failed to reload config: \(d)\n", status: 500)
                    }
                }))
        }
        return router
    }
}
