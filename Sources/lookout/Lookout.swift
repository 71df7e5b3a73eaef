import Agent
import ArgumentParser
import Logging
import LookoutCore
import Probing
import Profiles
import Rules

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 usage or configuration error.
enum Exit {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}

struct Lookout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout",
        abstract: "A sidecar observability agent: /proc CPU sampling, health probes, scrapes, alerts.",
        version: LookoutVersion.version,
        subcommands: [Run.self, CheckConfig.self, Probe.self, Profile.self, TestRules.self, Version.self],
        defaultSubcommand: Run.self
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent (the default command).")

    @Option(name: .customLong("config"), help: "Configuration file (YAML). Without it, the embedded default.")
    var config: String?

    @Option(name: .customLong("listen"), help: "Listen address HOST:PORT (overrides the config; default 0.0.0.0:9477).")
    var listen: String?

    @Option(name: .customLong("web.config.file"), help: "Prometheus web config: basic_auth_users, tls_server_config.")
    var webConfigFile: String?

    @Flag(name: .customLong("web.enable-lifecycle"), help: "Enable POST /-/reload.")
    var enableLifecycle = false

    @Option(name: .customLong("path.procfs"), help: "procfs mount point.")
    var procfs = "/proc"

    @Option(name: .customLong("path.sysfs"), help: "sysfs mount point.")
    var sysfs = "/sys"

    @Option(name: .customLong("log.level"), help: "debug, info, warn or error.")
    var logLevel = "info"

    func run() async throws {
        guard let level = LogfmtHandler.parseLevel(logLevel) else {
            throw UsageError("--log.level must be one of debug, info, warn, error; found \"\(logLevel)\"")
        }
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: level) }
        let logger = Logger(label: "lookout")
        var options = AgentOptions()
        options.configPath = config
        options.listen = listen
        options.webConfigFile = webConfigFile
        options.enableLifecycle = enableLifecycle
        options.procfsRoot = procfs
        options.sysfsRoot = sysfs
        options.logLevel = level
        if let listen, ListenAddress(listen) == nil {
            throw UsageError("--listen must be HOST:PORT, found \"\(listen)\"")
        }
        let agentConfig: AgentConfig
        do {
            agentConfig = try config.map { try AgentConfig.load(path: $0) } ?? AgentConfig.embeddedDefault
        } catch let d as Diagnostics {
            printError(d.description)
            throw ExitCode(Exit.usage)
        }
        do {
            let agent = try Agent(options: options, config: agentConfig, logger: logger)
            try await agent.run()
        } catch let d as Diagnostics {
            printError(d.description)
            throw ExitCode(Exit.usage)
        } catch {
            logger.error("failed", metadata: ["error": "\(error)"])
            throw ExitCode(Exit.failure)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and the rule files it names.",
        discussion: "Prints FILE:LINE:COL: message for each problem; exit 0 when valid, 2 otherwise.")

    @Argument(help: "The configuration file.")
    var file: String

    func run() throws {
        do {
            let config = try AgentConfig.load(path: file)
            let problems = AgentConfig.checkReferencedFiles(config)
            if !problems.isEmpty {
                printError(Diagnostics(problems).description)
                throw ExitCode(Exit.usage)
            }
            print("\(file): valid (\(config.processes.count) process groups, \(config.targets.count) targets)")
        } catch let d as Diagnostics {
            printError(d.description)
            throw ExitCode(Exit.usage)
        }
    }
}

struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe a URL once: phase timings, status and verdict.",
        discussion: "Exit 0 ok, 1 warning (over 2 s), 2 critical (over 5 s, timeout or failure).")

    @Argument(help: "The http:// or https:// URL.")
    var url: String

    @Option(help: "Total time allowed (Prometheus duration, e.g. 5s).")
    var timeout = "5s"

    func run() async throws {
        let limit: Duration
        do {
            limit = try PromDuration.parse(timeout)
        } catch {
            throw UsageError("--timeout: \(error)")
        }
        let (output, code) = await ProbeCommand.run(url: url, timeout: limit)
        print(output, terminator: "")
        throw ExitCode(code)
    }
}

struct Profile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a pprof CPU profile of a process or a configured group, without the server.",
        discussion: "Writes gzipped pprof, or folded stacks when FILE ends in .folded or --format folded.")

    @Option(help: "The process to profile (all its threads).")
    var pid: Int32?

    @Option(help: "A process group of the config (needs --config).")
    var group: String?

    @Option(name: .customLong("config"), help: "Configuration file naming the group.")
    var config: String?

    @Option(help: "How long to record (1..300).")
    var seconds: Int?

    @Option(help: "pprof or folded.")
    var format: String?

    @Option(help: "cpu, block or mutex.")
    var type: String?

    @Option(name: .short, help: "Output file (- for standard output).")
    var output: String?

    func run() async throws {
        var agentConfig = AgentConfig()
        if let config {
            do {
                agentConfig = try AgentConfig.load(path: config)
            } catch {
                printError(error.description)
                throw ExitCode(Exit.usage)
            }
        } else if group != nil {
            throw UsageError("--group needs --config FILE, where the group is defined")
        }
        do {
            let summary = try await ProfileCommand.run(
                pid: pid, group: group, seconds: seconds, output: output, format: format, type: type,
                groups: agentConfig.processes, sampling: agentConfig.sampling)
            printError(summary.description)
        } catch {
            printError("lookout profile: \(error.message)")
            throw ExitCode(error.exitCode)
        }
    }
}

struct TestRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-rules",
        abstract: "Run promtool-format rule unit tests with lookout's own evaluator.",
        discussion: "Exit 0 when every test passes, 1 when one fails, 2 when a file cannot be used.")

    @Argument(help: "Test files (rule_files, evaluation_interval, tests).")
    var files: [String]

    func run() throws {
        guard !files.isEmpty else { throw UsageError("test-rules needs at least one test file") }
        let (output, success) = RuleTestRunner.run(files: files)
        print(output, terminator: output.hasSuffix("\n") ? "" : "\n")
        throw ExitCode(success ? Exit.ok : Exit.failure)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print version and build information.")

    func run() {
        print("lookout, version \(LookoutVersion.version) (\(LookoutVersion.buildMode) build)")
        #if swift(>=6.3)
        print("  swift: 6.3")
        #endif
        print("  platform: linux/\(LookoutVersion.architecture)")
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func printError(_ message: String) {
    var text = message
    if !text.hasSuffix("\n") { text += "\n" }
    LogfmtHandler.stderr(text)
}

@main
enum Main {
    static func main() async {
        do {
            var command = try Lookout.parseAsRoot()
            if !(command is Run) {
                // `run` sets the level from --log.level; the one-shot commands only log problems.
                LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: .warning) }
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch let usage as UsageError {
            printError("lookout: \(usage.description)")
            Glibc.exit(Exit.usage)
        } catch {
            let code = Lookout.exitCode(for: error)
            if code == .success {
                Lookout.exit(withError: error)  // --help, --version
            }
            printError(Lookout.fullMessage(for: error))
            Glibc.exit(Exit.usage)
        }
    }
}
