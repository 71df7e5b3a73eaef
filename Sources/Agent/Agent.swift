import HTTPClient
import Logging
import LookoutCore
import NIOCore
import NIOPosix
import Notify
import ProcFS
import Probing
import Profiles
import RemoteWrite
import Rules
import Sampling
import Series
import Server
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Command-line options of `lookout run` that are not in the config file.
public struct AgentOptions: Sendable {
    public var configPath: String?
    public var listen: String?
    public var webConfigFile: String?
    public var enableLifecycle = false
    public var procfsRoot = "/proc"
    public var sysfsRoot = "/sys"
    public var logLevel: Logger.Level = .info

    public init() {}
}

/// The composition root: configuration → services → one ServiceGroup.
public final class Agent: Sendable {
    public let options: AgentOptions
    let clock: any AgentClock
    let logger: Logger
    let registry = Registry(logger: Logger(label: "lookout.scrape"))
    let readiness = Readiness()
    private let config: Mutex<AgentConfig>
    private let reloads: ReloadMetrics
    let server: HTTPServer
    let httpClient: HTTPClient
    let prober: Prober
    let notifier: Notifier
    let remoteWriter: RemoteWriter
    let rules: RuleEngine
    let sampler: Sampler
    let stacks: StackSamplingState
    let profiles: ProfileService
    private let group: MultiThreadedEventLoopGroup
    let startedAt: WallTime
    /// The listen address as configured (for the message when it cannot be bound).
    private let listenAddress: String

    /// Builds the agent. Throws `Diagnostics` when the configuration (or a file it names) is invalid.
    public init(
        options: AgentOptions, config: AgentConfig, clock: any AgentClock = SystemClock(),
        logger: Logger = Logger(label: "lookout")
    ) throws {
        self.options = options
        self.clock = clock
        self.logger = logger
        self.startedAt = clock.wallNow
        var config = config
        if let listen = options.listen { config.listen = listen }
        guard let address = ListenAddress(config.listen) else {
            throw Diagnostics([Diagnostic("listen address must be HOST:PORT, found \"\(config.listen)\"", at: nil)])
        }
        self.config = Mutex(config)
        self.listenAddress = config.listen
        self.reloads = ReloadMetrics(clock: clock)

        let procfs: ProcFS
        do {
            procfs = try ProcFS(root: options.procfsRoot, sysRoot: options.sysfsRoot)
        } catch {
            throw Diagnostics([Diagnostic("--path.procfs: \(error)", at: nil)])
        }
        let recorder = ProfileRecorder(clock: clock)
        // perf_event stacks of the stack-sampled groups, read on the sampler's tick.
        let stackReader = StackReader(
            settings: config.sampling, groups: config.processes, recorder: recorder, logger: Logger(label: "lookout.stacks"),
            procRoot: options.procfsRoot, sysRoot: options.sysfsRoot)
        stacks = stackReader.state
        // The agent's own process_* series, refreshed on the sampler's once-a-second ticks.
        let selfMetrics = SelfMetrics(procfs: procfs)
        let selfMetricsBox = selfMetrics.box
        sampler = Sampler(
            settings: config.sampling, groups: config.processes, procfs: procfs, clock: clock,
            logger: Logger(label: "lookout.sampler"), reporters: [recorder], readers: [stackReader, selfMetrics])
        profiles = ProfileService(recorder: recorder, sampler: sampler)

        httpClient = HTTPClient()
        prober = Prober(targets: config.targets, client: httpClient, clock: clock, logger: Logger(label: "lookout.prober"))
        let externalURL = "http://\(Self.hostname()):\(address.port)"
        notifier = Notifier(
            settings: config.notify, clock: clock, transport: httpClient,
            logger: Logger(label: "lookout.notify"), externalURL: externalURL)
        let registry = self.registry
        remoteWriter = RemoteWriter(
            settings: config.remoteWrite, clock: clock, client: httpClient, logger: Logger(label: "lookout.remote_write"),
            gather: { registry.gather() })
        let notifier = self.notifier
        // Every round's alerts (firing and resolved) go to the notifier.
        rules = RuleEngine(
            clock: clock, options: RuleEngine.Options(settings: config.rules, externalURL: config.notify.externalURL ?? externalURL),
            gatherMatching: { registry.gather(matching: $0) }, onRound: { round in notifier.submit(round) })
        let ruleProblems = rules.update(settings: config.rules, defaultText: AgentConfig.defaultRulesText)
        if !ruleProblems.isEmpty { throw Diagnostics(ruleProblems) }

        registry.register(SnapshotBox([buildInfo()]))
        registry.register(selfMetricsBox)
        registry.register(sampler.metrics)
        registry.register(stacks)
        registry.register(reloads)
        registry.register(prober.probeMetrics)
        registry.register(notifier)
        registry.register(rules)
        registry.register(remoteWriter.metrics)
        // Scraped series come after the agent's own: a target's family that clashes with one of them is left out (and counted).
        registry.register(scraped: prober.scrapedMetrics)

        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var settings = ServerSettings(host: address.host, port: address.port)
        settings.maxConnections = min(settings.maxConnections, HTTPServer.raiseFileDescriptorLimit())
        if let webConfigFile = options.webConfigFile {
            let web = try Self.loadWebAccess(webConfigFile)
            settings.authorize = web.authorize
            settings.tls = web.tls
        }
        let agentRef = AgentReference()
        let routes = Routes(
            registry: registry, readiness: readiness, enableLifecycle: options.enableLifecycle, prober: prober,
            rules: rules, profiles: profiles,
            statusPage: StatusPageSource(
                clock: clock, startedAt: startedAt, configSource: { agentRef.agent?.currentConfig.source ?? "" },
                readiness: readiness, sampler: sampler, stacks: stacks, prober: prober, rules: rules, notifier: notifier,
                remoteWriter: remoteWriter)
        ) {
            await agentRef.agent?.reload() ?? .failure(Diagnostics([]))
        }
        server = HTTPServer(settings: settings, router: routes.router(), logger: Logger(label: "lookout.server"), group: group)
        agentRef.set(self)
        readiness.configLoaded()
        readiness.sampler = sampler
    }

    static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The configuration in effect.
    public var currentConfig: AgentConfig { config.withLock { $0 } }

    /// Every source `GET /metrics` gathers (for benchmarks of the scrape path without HTTP).
    public var metricsRegistry: Registry { registry }

    /// Binds the listening socket now (before `run`); returns the port.
    @discardableResult
    public func bind() async throws -> Int { try await bindListener() }

    /// Binds the listen address; a failure says what and where, the way Go servers do
    /// (`listen tcp 127.0.0.1:9100: bind: address already in use`).
    @discardableResult
    private func bindListener() async throws -> Int {
        do {
            return try await server.bind()
        } catch let error as IOError {
            throw ListenError(address: listenAddress, operation: "bind", errno: error.errnoCode)
        } catch {
            throw ListenError(address: listenAddress, operation: "bind", reason: "\(error)")
        }
    }

    /// Runs until SIGTERM or SIGINT (or cancellation), then stops every service within ~2 s.
    public func run() async throws {
        // SIGHUP is trapped before the socket is bound: a reload asked for as soon as the agent
        // answers must reload it, not kill it (the default action); earlier ones wait in the sequence.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await bindListener()
        // The group stops its services in reverse order: the HTTP client and the event loops
        // go last, once nothing uses them.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: HTTPClientService(client: httpClient), serviceName: "http-client"),
            .init(service: EventLoopGroupService(group: group), serviceName: "event-loops"),
        ]
        services.append(.init(service: server, serviceName: "server"))
        services.append(.init(service: ReloadOnHangup(agent: self, signals: hangups), serviceName: "sighup"))
        if options.configPath != nil {
            let agent = AgentReference()
            agent.set(self)
            let logger = self.logger
            services.append(
                .init(
                    service: ConfigWatcher(
                        clock: clock, interval: .seconds(2), files: { agent.agent?.watchedFiles ?? [] },
                        reload: {
                            logger.info("a configuration file changed on disk; reloading")
                            await agent.agent?.reload()
                        }),
                    serviceName: "config-watcher"))
        }
        // The loops: each stops when the group shuts down, ending by cancellation as its normal end.
        let loops: [(name: String, service: any Service)] = [
            ("sampler", sampler), ("prober", prober), ("notifier", notifier), ("rules", rules),
            ("remote_write", remoteWriter),
        ]
        services += loops.map { .init(service: $0.service, serviceName: $0.name) }
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(1500)
        configuration.maximumCancellationDuration = .milliseconds(500)
        let group = ServiceGroup(configuration: configuration)
        logger.info(
            "started",
            metadata: ["version": "\(LookoutVersion.version)", "config": "\(currentConfig.source)"])
        try await group.run()
        logger.info("stopped")
    }

    /// The files the running configuration was read from: the config file, its rule files
    /// and the web config file.
    var watchedFiles: [String] {
        guard let path = options.configPath else { return [] }
        return [path] + (currentConfig.rules.files ?? []) + (options.webConfigFile.map { [$0] } ?? [])
    }

    /// What `--web.config.file` sets on the server: authentication and TLS.
    struct WebAccess {
        var authorize: (@Sendable (Server.HTTPRequest) -> AuthDecision)?
        var tls: ServerTLS?
    }

    static func loadWebAccess(_ file: String) throws(Diagnostics) -> WebAccess {
        let web = try WebConfig.load(path: file)
        do throws(Diagnostics) {
            return WebAccess(authorize: web.authorizer(), tls: try web.tlsContext())
        } catch {
            throw Diagnostics(error.items.map { Diagnostic($0.message, file: file) })
        }
    }

    /// Re-reads the config file and the web config file. A bad file is reported and the
    /// running configuration (and web config) kept.
    @discardableResult
    public func reload() async -> Result<Void, Diagnostics> {
        var web: WebAccess?
        if let file = options.webConfigFile {
            do {
                web = try Self.loadWebAccess(file)
            } catch {
                for d in error.items { logger.error("reload failed, keeping the running web config", metadata: ["error": "\(d)"]) }
                reloads.record(success: false)
                return .failure(error)
            }
        }
        guard let path = options.configPath else {
            if let web { server.updateAccess(authorize: web.authorize, tls: web.tls) }
            logger.info("reload requested; running on the embedded default config, nothing else to reload")
            reloads.record(success: true)
            return .success(())
        }
        var newConfig: AgentConfig
        do {
            newConfig = try AgentConfig.load(path: path)
        } catch {
            for d in error.items { logger.error("reload failed, keeping the running config", metadata: ["error": "\(d)"]) }
            reloads.record(success: false)
            return .failure(error)
        }
        let ruleProblems = AgentConfig.checkReferencedFiles(newConfig)
        if !ruleProblems.isEmpty {
            for d in ruleProblems { logger.error("reload failed, keeping the running config", metadata: ["error": "\(d)"]) }
            reloads.record(success: false)
            return .failure(Diagnostics(ruleProblems))
        }
        if let listen = options.listen { newConfig.listen = listen }
        let old = currentConfig
        if newConfig.listen != old.listen {
            logger.warning(
                "the listen address changes only on restart", metadata: ["running": "\(old.listen)", "new": "\(newConfig.listen)"])
            newConfig.listen = old.listen
        }
        config.withLock { $0 = newConfig }
        if let web { server.updateAccess(authorize: web.authorize, tls: web.tls) }
        apply(newConfig)
        reloads.record(success: true)
        logger.info("configuration reloaded", metadata: ["config": "\(path)"])
        return .success(())
    }
}

extension Agent {
    /// Hands a validated configuration to every part that takes one; each keeps what it
    /// accumulated (histories, alert state, queues).
    private func apply(_ config: AgentConfig) {
        sampler.update(settings: config.sampling, groups: config.processes)
        stacks.update(settings: config.sampling, groups: config.processes)
        prober.update(targets: config.targets)
        notifier.update(settings: config.notify)
        // Rule files were validated before the reload was accepted.
        _ = rules.update(settings: config.rules, defaultText: AgentConfig.defaultRulesText, externalURL: config.notify.externalURL)
        remoteWriter.update(settings: config.remoteWrite)
    }
}

/// `lookout_build_info{version}`, as every Prometheus component exports its build.
func buildInfo() -> MetricFamily {
    .gauge(
        "lookout_build_info", help: "A metric with a constant '1' value labeled by the version lookout was built from.",
        [(Labels(["version": LookoutVersion.version, "buildmode": LookoutVersion.buildMode]), 1)])
}

/// Lets the router call back into the agent without a reference cycle.
final class AgentReference: Sendable {
    private struct Box { weak var agent: Agent? }
    private let box = Mutex(Box())
    func set(_ agent: Agent) { box.withLock { $0.agent = agent } }
    var agent: Agent? { box.withLock { $0.agent } }
}

/// `/-/ready`: config loaded and the first sample tick done.
final class Readiness: Sendable {
    private let config = Atomic<Bool>(false)
    private let samplerBox = Mutex<Sampler?>(nil)

    func configLoaded() { config.store(true, ordering: .releasing) }
    var sampler: Sampler? {
        get { samplerBox.withLock { $0 } }
        set { samplerBox.withLock { $0 = newValue } }
    }
    var isReady: Bool { config.load(ordering: .acquiring) && (sampler?.isReady ?? false) }
}

/// The libcurl thread of every outgoing request: it runs while requests come (it starts
/// with the first) and is stopped, running transfers cancelled, at shutdown.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        client.shutdown()
    }
}

/// The server's NIO event loops: shut down once the server has stopped.
struct EventLoopGroupService: Service {
    let group: MultiThreadedEventLoopGroup

    func run() async throws {
        try? await gracefulShutdown()
        try await group.shutdownGracefully()
    }
}

/// SIGHUP reloads the configuration, as in Prometheus.
struct ReloadOnHangup: Service {
    let agent: Agent
    let signals: UnixSignalsSequence

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                await agent.reload()
            }
        }
    }
}

/// `lookout_config_last_reload_successful` and its timestamp, as Prometheus exports them.
final class ReloadMetrics: MetricsSource {
    private let state: Mutex<(ok: Bool, at: WallTime)>

    init(clock: any AgentClock) {
        state = Mutex((true, clock.wallNow))
        self.clock = clock
    }

    private let clock: any AgentClock

    func record(success: Bool) {
        let now = clock.wallNow
        state.withLock { s in
            s.ok = success
            if success { s.at = now }
        }
    }

    func collect() -> [MetricFamily] {
        let (ok, at) = state.withLock { ($0.ok, $0.at) }
        return [
            .gauge(
                "lookout_config_last_reload_successful", help: "Whether the last configuration reload succeeded.",
                [(.empty, ok ? 1 : 0)]),
            .gauge(
                "lookout_config_last_reload_success_timestamp_seconds",
                help: "Time of the last successful configuration reload.", unit: "seconds",
                [(.empty, at.secondsSinceEpoch)]),
        ]
    }
}

/// The agent could not listen: `listen tcp HOST:PORT: bind: address already in use`.
public struct ListenError: Error, CustomStringConvertible, Sendable {
    public var address: String
    public var operation: String
    public var reason: String

    public init(address: String, operation: String, reason: String) {
        self.address = address
        self.operation = operation
        self.reason = reason
    }

    /// The system's message for `errno`, lowercased as Go prints it.
    public init(address: String, operation: String, errno: Int32) {
        self.init(address: address, operation: operation, reason: String(cString: strerror(errno)).lowercased())
    }

    public var description: String { "listen tcp \(address): \(operation): \(reason)" }
}
