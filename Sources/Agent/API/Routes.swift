import Exposition
import LookoutCore
import Probing
import Profiles
import Rules
import Series
import Server

/// The agent's HTTP endpoints (DESIGN.md, "HTTP endpoints").
struct Routes: Sendable {
    let registry: Registry
    let readiness: Readiness
    let enableLifecycle: Bool
    let prober: Prober
    let rules: RuleEngine
    let profiles: ProfileService
    let statusPage: StatusPageSource
    let reload: @Sendable () async -> Result<Void, Diagnostics>

    func router() -> Router {
        var router = Router()
        // No I/O, no locks beyond a flag: answers while everything else is busy.
        router.add(Route(["GET"], "/-/healthy", handler: .sync { _ in .text("lookout is Healthy.\n") }))
        let readiness = self.readiness
        router.add(
            Route(["GET"], "/-/ready", handler: .sync { _ in
                readiness.isReady ? .text("lookout is Ready.\n") : .text("lookout is not ready.\n", status: 503)
            }))
        let registry = self.registry
        router.add(
            Route(["GET"], "/metrics", handler: .offloaded { request in
                let families = registry.gather()
                let (body, contentType, encoding) = MetricsExposition.render(
                    families: families, accept: request.header("Accept"), acceptEncoding: request.header("Accept-Encoding"))
                var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
                if let encoding { headers.append(("Content-Encoding", encoding)) }
                headers.append(("Vary", "Accept, Accept-Encoding"))
                return HTTPResponse(status: 200, headers: headers, body: body)
            }))
        let prober = self.prober
        // The exposition and the JSON APIs grow with the targets: encoded off the event loop.
        router.add(
            Route(["GET"], "/api/v1/targets", handler: .offloaded { _ in .json(Array(TargetsAPI.json(prober.targetsStatus()).serialized().utf8)) }))
        let rules = self.rules
        router.add(
            Route(["GET"], "/api/v1/alerts", handler: .offloaded { _ in .json(Array(RulesAPI.alerts(rules.alerts).serialized().utf8)) }))
        router.add(
            Route(["GET"], "/api/v1/rules", handler: .offloaded { _ in .json(Array(RulesAPI.rules(rules.groups).serialized().utf8)) }))
        let statusPage = self.statusPage
        router.add(Route(["GET"], "/", handler: .offloaded { _ in .html(StatusPage.render(statusPage.model())) }))
        let profiles = self.profiles
        router.add(
            Route(["GET"], "/debug/pprof/profile", handler: .async { request in
                let r = await profiles.handle(query: request.query)
                return HTTPResponse(status: r.status, headers: r.allHeaders, body: r.body)
            }))
        router.add(
            Route(["GET"], "/debug/pprof/flamegraph", handler: .async { request in
                let r = await profiles.flameGraph(query: request.query)
                return HTTPResponse(status: r.status, headers: r.allHeaders, body: r.body)
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
